"""The claims of a token exactly as we mint them; anything else is refused.

A signed token is only as trustworthy as the code that checks it: a string
``exp``, ``exp: 1e300``, a missing ``type`` or a ``sid`` with a NUL in it are
nothing we would ever have written, so they are refused before any claim is
used (and before any reaches the database).
"""

import re
import time
from typing import Any

from authapp.accounts.roles import MAX_ROLES, ROLE_NAME
from authapp.core.errors import TokenInvalid
from authapp.db.models import MAX_USER_ID
from authapp.tokens.types import TOKEN_TYPES, TokenType

# The identifying claims, each in the one form we mint.
IDENTITY_CLAIM_FORMATS = {
    "jti": re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
    "sid": re.compile(r"[0-9a-f]{32}"),
    "sub": re.compile(r"[1-9][0-9]{0,9}"),
}
NUMERIC_DATES = ("iat", "nbf", "exp", "auth_time")
# RFC 8176 method references we mint (SPEC §10).
AUTHENTICATION_METHODS = frozenset({"pwd", "otp", "mfa", "hwk", "user"})
def check_claims(claims: Any, expected_type: str, config: Any) -> TokenType:
    """The token's type if ``claims`` are in the form we mint for ``expected_type``.

    Expiry is left to the caller (sign-out accepts an expired token); every other
    registered claim is judged here: ``iss`` and ``aud`` are the configured strings,
    and nothing was issued or becomes valid in the future.
    """
    if not isinstance(claims, dict):
        raise TokenInvalid("The token's claims are not an object.")
    kind = claims.get("type")
    if not isinstance(kind, str) or kind not in TOKEN_TYPES:
        raise TokenInvalid("The token does not say what type of token it is.")
    if kind != expected_type:
        raise TokenInvalid("Wrong token type for this endpoint.")
    token_type = TOKEN_TYPES[kind]
    if missing := [name for name in token_type.required_claims if name not in claims]:
        raise TokenInvalid(f"The token lacks the {missing[0]} claim.")
    for name in NUMERIC_DATES:
        if type(claims[name]) is not int:  # bool, float, str: never minted
            raise TokenInvalid(f"The token's {name} claim is not a whole number of seconds.")
    lifetime = int(token_type.lifetime(config).total_seconds())
    if not claims["auth_time"] <= claims["iat"] <= claims["exp"] <= claims["iat"] + lifetime:
        raise TokenInvalid("The token's times are not ones we would issue.")
    if max(claims["iat"], claims["nbf"]) > time.time() + config["JWT_DECODE_LEEWAY"]:
        raise TokenInvalid("The token is not valid yet.")
    if claims["iss"] != config["JWT_DECODE_ISSUER"] or claims["aud"] != config[
            "JWT_DECODE_AUDIENCE"]:
        raise TokenInvalid("The token was issued by someone else or for someone else.")
    for name, pattern in IDENTITY_CLAIM_FORMATS.items():
        if not isinstance(claims[name], str) or not pattern.fullmatch(claims[name]):
            raise TokenInvalid(f"The token's {name} claim is malformed.")
    if int(claims["sub"]) > MAX_USER_ID:
        raise TokenInvalid("The token's sub claim is malformed.")
    amr = claims["amr"]
    if (not isinstance(amr, list) or not amr
            or not all(isinstance(m, str) and m in AUTHENTICATION_METHODS for m in amr)):
        raise TokenInvalid("The token's amr claim is malformed.")
    if not isinstance(claims["fresh"], bool):
        raise TokenInvalid("The token's fresh claim is malformed.")
    if "roles" in token_type.required_claims and not _roles_as_minted(claims["roles"]):
        raise TokenInvalid("The token's roles claim is malformed.")
    return token_type


def _roles_as_minted(roles: Any) -> bool:
    """A list of distinct role names, as many as an account may hold."""
    return (isinstance(roles, list) and len(roles) <= MAX_ROLES
            and all(isinstance(role, str) and ROLE_NAME.fullmatch(role) for role in roles)
            and len(set(roles)) == len(roles))
