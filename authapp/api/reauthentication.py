"""Recent authentication: re-authenticate this session, and ask where it stands (SPEC §9)."""

from flask import Response, jsonify

from authapp.accounts import reauthentication
from authapp.api import bp
from authapp.api.operations import operation
from authapp.api.schemas import ReauthenticateRequest, SessionStateAnswer, TokenAnswer
from authapp.core.clock import iso
from authapp.core.errors import ValidationFailed
from authapp.http.client import current_client
from authapp.http.json_body import parse_body
from authapp.http.ratelimits import REAUTHENTICATION, rate_limit
from authapp.tokens.mint import issue_tokens
from authapp.tokens.verify import (
    access_token_required,
    current_claims,
    current_principal,
    token_location,
)


@bp.post("/auth/reauthenticate")
@operation("Prove this session again for sensitive actions", auth="access",
           body=ReauthenticateRequest, answers={200: TokenAnswer},
           description="Send the password, or a current TOTP code (code) for an account "
                       "with two-factor sign-in, or a passkey assertion (challenge_id and "
                       "credential, options from POST /api/auth/reauthenticate/passkey/options). "
                       "Answers a new access token for the same "
                       "session with a new auth_time (cookie mode also sets the access cookie).")
@access_token_required
@rate_limit(*REAUTHENTICATION)
def reauthenticate() -> Response:
    body = parse_body(ReauthenticateRequest)
    if sum(proof is not None for proof in (body.password, body.code, body.credential)) != 1:
        raise ValidationFailed({"password": ["Send one of password, code, or challenge_id "
                                             "with credential."]})
    if body.credential is not None:
        grant = reauthentication.reauthenticate_with_passkey(
            current_principal(), body.challenge_id, body.credential, current_client())
    elif body.code is not None:
        grant = reauthentication.reauthenticate_with_code(current_principal(), body.code,
                                                          current_client())
    else:
        grant = reauthentication.reauthenticate_with_password(current_principal(),
                                                              body.password, current_client())
    tokens = issue_tokens(grant, refresh_jti=None, fresh=True)
    response = jsonify(tokens.body(include_refresh=False))
    if token_location() == "cookies":
        tokens.set_cookies(response, access=True)
    return response


@bp.get("/auth/session")
@operation("Where this session stands: when it last proved itself, and how", auth="access",
           answers={200: SessionStateAnswer})
@access_token_required
def session_state() -> Response:
    state = reauthentication.session_state(current_claims())
    return jsonify(session_id=state.session_id, auth_time=iso(state.auth_time), amr=state.amr,
                   reauthenticated_until=iso(state.reauthenticated_until),
                   mfa_enabled=state.mfa_enabled)
