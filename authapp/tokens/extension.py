"""Flask-JWT-Extended's loaders, so its ``@jwt_required()`` is as strict as our decorators.

A route added to this monolith the extension's way — ``@jwt_required()``,
``get_jwt()``, ``current_user`` — gets the same key set (the ``kid`` names the
key, the key pins the algorithm), the same claim rules (a token without a
``type`` is neither type) and the same revocation check as our own routes.
Tokens are minted by tokens/mint.py; the extension's ``create_access_token``
signs with the same key but lacks a session, so its tokens are refused.

With an asymmetric ``JWT_ALGORITHM`` the signing key is the active stored key of
that algorithm, so the extension's ``JWT_ALGORITHM`` always names the signing
key's algorithm; its ``JWT_DECODE_ALGORITHMS`` lists every algorithm we support,
and the key a ``kid`` names decides which one a token must use.
"""

from typing import Any

from flask import current_app, g
from flask_jwt_extended import JWTManager

from authapp.accounts.revocation import Principal
from authapp.tokens.claims import check_claims
from authapp.tokens.keys import key_set
from authapp.tokens.verify import load_principal


def register_jwt_callbacks(jwt: JWTManager) -> None:
    """Bind the loaders to the extension object (once per process)."""

    @jwt.encode_key_loader
    def _signing_key(_identity: Any) -> Any:
        return key_set().signing.material

    @jwt.additional_headers_loader
    def _kid_header(_identity: Any) -> dict[str, str]:
        return {"kid": key_set().signing.kid}

    @jwt.decode_key_loader
    def _verification_key(header: dict[str, Any], claims: dict[str, Any]) -> Any:
        # The claims are not verified yet, but the signature checked next covers them,
        # so refusing their form here refuses exactly the tokens we would refuse later.
        key = key_set().key_for(header)
        claimed_type = claims.get("type") if isinstance(claims, dict) else None
        check_claims(claims, claimed_type if isinstance(claimed_type, str) else "",
                     current_app.config)
        return key.material

    @jwt.token_in_blocklist_loader
    def _revoked(_header: dict[str, Any], claims: dict[str, Any]) -> bool:
        g.authapp_principal = load_principal(claims)
        return g.authapp_principal is None

    @jwt.user_lookup_loader
    def _user(_header: dict[str, Any], _claims: dict[str, Any]) -> Principal | None:
        return g.get("authapp_principal")
