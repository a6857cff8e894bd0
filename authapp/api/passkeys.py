"""Passkeys (SPEC §11): the account's keys, and signing in with one without a username."""

from typing import Any

from flask import Response, jsonify

from authapp.accounts import sessions, users
from authapp.api import bp
from authapp.api.operations import operation
from authapp.api.schemas import (
    LoginAnswer,
    MfaTokenRequest,
    PasskeyAnswer,
    PasskeyAssertionRequest,
    PasskeyCeremonyAnswer,
    PasskeyRegisterRequest,
    PasskeyRenameRequest,
    PasskeysAnswer,
)
from authapp.api.serializers import user_json
from authapp.core.clock import iso
from authapp.db.models import Passkey
from authapp.http.client import current_client
from authapp.http.json_body import parse_body
from authapp.http.ratelimits import LOGIN, MFA, REAUTHENTICATION, rate_limit
from authapp.mfa import passkeys, signin
from authapp.tokens.guards import recent_authentication_required
from authapp.tokens.mint import issue_tokens
from authapp.tokens.verify import access_token_required, current_principal

SIGN_IN_PER_IP = LOGIN[:1]  # a passkey sign-in names no username: the per-IP budget only
NEEDS_RECENT = "Needs recent authentication."


def passkey_json(row: Passkey) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "created_at": iso(row.created_at),
            "last_used_at": iso(row.last_used_at) if row.last_used_at else None}


def ceremony_json(ceremony: passkeys.Ceremony) -> Response:
    return jsonify(options=ceremony.options, challenge_id=ceremony.challenge_id)


@bp.get("/account/passkeys")
@operation("The account's passkeys", auth="access", answers={200: PasskeysAnswer})
@access_token_required
def list_passkeys() -> Response:
    return jsonify(passkeys=[passkey_json(row)
                             for row in passkeys.of_account(current_principal().id)])


@bp.post("/account/passkeys/options")
@operation("Start adding a passkey: creation options", auth="access",
           answers={200: PasskeyCeremonyAnswer},
           description=f"{NEEDS_RECENT} Pass options to navigator.credentials.create() "
                       "(PublicKeyCredential.parseCreationOptionsFromJSON), then send the "
                       "credential to POST /api/account/passkeys within 300 seconds.")
@access_token_required
@recent_authentication_required
def passkey_creation_options() -> Response:
    return ceremony_json(passkeys.begin_registration(users.get_user(current_principal().id)))


@bp.post("/account/passkeys")
@operation("Add a passkey", auth="access", body=PasskeyRegisterRequest,
           answers={201: PasskeyAnswer}, problems=(422,), description=NEEDS_RECENT)
@access_token_required
@recent_authentication_required
def add_passkey() -> tuple[Response, int]:
    body = parse_body(PasskeyRegisterRequest)
    principal = current_principal()
    row = passkeys.register(users.get_user(principal.id), body.challenge_id, body.credential,
                            body.name, principal.session_id, current_client())
    return jsonify(passkey=passkey_json(row)), 201


@bp.patch("/account/passkeys/<int:passkey_id>")
@operation("Rename a passkey", auth="access", body=PasskeyRenameRequest,
           answers={200: PasskeyAnswer}, problems=(404, 422), description=NEEDS_RECENT)
@access_token_required
@recent_authentication_required
def rename_passkey(passkey_id: int) -> Response:
    body = parse_body(PasskeyRenameRequest)
    principal = current_principal()
    row = passkeys.rename(principal.id, passkey_id, body.name, principal.session_id,
                          current_client())
    return jsonify(passkey=passkey_json(row))


@bp.delete("/account/passkeys/<int:passkey_id>")
@operation("Remove a passkey", auth="access", answers={204: None}, problems=(404,),
           description=NEEDS_RECENT)
@access_token_required
@recent_authentication_required
def remove_passkey(passkey_id: int) -> Response:
    principal = current_principal()
    passkeys.remove(principal.id, passkey_id, principal.session_id, current_client())
    return Response(status=204)


@bp.post("/auth/passkey/options")
@operation("Start a sign-in with a passkey: request options, no username",
           answers={200: PasskeyCeremonyAnswer},
           description="allowCredentials is empty: the browser offers this site's passkeys. "
                       "Send the assertion to POST /api/auth/passkey within 300 seconds.")
@rate_limit(*SIGN_IN_PER_IP)
def passkey_request_options() -> Response:
    return ceremony_json(passkeys.begin_sign_in())


@bp.post("/auth/passkey")
@operation("Sign in with a passkey", body=PasskeyAssertionRequest, answers={200: LoginAnswer},
           problems=(401,),
           description="Answers exactly like a login, with amr [\"hwk\", \"user\", \"mfa\"] "
                       "(refresh cookies unless refresh_in_body is true).")
@rate_limit(*SIGN_IN_PER_IP)
def passkey_sign_in() -> Response:
    body = parse_body(PasskeyAssertionRequest)
    account = passkeys.sign_in(body.challenge_id, body.credential, current_client())
    session = sessions.start_session(account.id, current_client(), amr=passkeys.AMR)
    tokens = issue_tokens(session.grant, refresh_jti=session.refresh_jti, fresh=True)
    response = jsonify(**tokens.body(include_refresh=body.refresh_in_body),
                       user=user_json(account))
    if not body.refresh_in_body:
        tokens.set_cookies(response)
    return response


@bp.post("/auth/mfa/passkey/options")
@operation("Request options for a passkey as a sign-in's second factor", body=MfaTokenRequest,
           answers={200: PasskeyCeremonyAnswer}, problems=(401,),
           description="allowCredentials lists the account's passkeys; send the assertion "
                       "with the mfa_token and challenge_id to POST /api/auth/mfa.")
@rate_limit(*MFA)
def mfa_passkey_options() -> Response:
    return ceremony_json(signin.begin_passkey(parse_body(MfaTokenRequest).mfa_token))


@bp.post("/auth/reauthenticate/passkey/options")
@operation("Request options for proving this session again with a passkey", auth="access",
           answers={200: PasskeyCeremonyAnswer}, problems=(422,),
           description="Send the assertion with challenge_id to POST "
                       "/api/auth/reauthenticate.")
@access_token_required
@rate_limit(*REAUTHENTICATION)
def reauthentication_passkey_options() -> Response:
    return ceremony_json(passkeys.begin_reauthentication(current_principal().id))
