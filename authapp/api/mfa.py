"""Two-factor sign-in (SPEC §10): the login's second step and the account's factors."""

from flask import Response, jsonify

from authapp.accounts import sessions, users
from authapp.api import bp
from authapp.api.operations import operation
from authapp.api.schemas import (
    CodeRequest,
    LoginAnswer,
    MfaLoginRequest,
    MfaStatusAnswer,
    RecoveryCodesAnswer,
    TotpSetupAnswer,
)
from authapp.api.serializers import user_json
from authapp.core.errors import ValidationFailed
from authapp.http.client import current_client
from authapp.http.json_body import parse_body
from authapp.http.ratelimits import MFA, MFA_CODES, rate_limit
from authapp.mfa import factors, recovery_codes, signin, totp
from authapp.tokens.guards import recent_authentication_required
from authapp.tokens.mint import issue_tokens
from authapp.tokens.verify import access_token_required, current_principal

ONE_FACTOR = "Send one of code, recovery_code, or challenge_id with credential."


@bp.post("/auth/mfa")
@operation("Finish a sign-in with its second factor", body=MfaLoginRequest,
           answers={200: LoginAnswer}, problems=(401,),
           description="Takes the mfa_token of the login's 401 mfa_required answer and a "
                       "TOTP code, a recovery code, or a passkey assertion (challenge_id and "
                       "credential, options from POST /api/auth/mfa/passkey/options); "
                       "answers exactly like a login (refresh "
                       "cookies unless refresh_in_body is true). The token allows 5 tries "
                       "and lives 300 seconds.")
@rate_limit(*MFA)
def finish_sign_in() -> Response:
    body = parse_body(MfaLoginRequest)
    factors_sent = [body.code, body.recovery_code, body.credential]
    if sum(factor is not None for factor in factors_sent) != 1:
        raise ValidationFailed({"code": [ONE_FACTOR]})
    verified = signin.finish(body.mfa_token, current_client(), code=body.code,
                             recovery_code=body.recovery_code, challenge_id=body.challenge_id,
                             credential=body.credential)
    session = sessions.start_session(verified.account.id, current_client(), amr=verified.amr)
    tokens = issue_tokens(session.grant, refresh_jti=session.refresh_jti, fresh=True)
    response = jsonify(**tokens.body(include_refresh=body.refresh_in_body),
                       user=user_json(verified.account))
    if not body.refresh_in_body:
        tokens.set_cookies(response)
    return response


@bp.get("/account/mfa")
@operation("What protects the account's sign-in", auth="access", answers={200: MfaStatusAnswer})
@access_token_required
def mfa_status() -> Response:
    state = factors.summary(current_principal().id)
    return jsonify(totp=state.totp, passkeys=state.passkeys,
                   recovery_codes_remaining=state.recovery_codes_remaining)


@bp.post("/account/mfa/totp")
@operation("Start setting up an authenticator app", auth="access",
           answers={200: TotpSetupAnswer}, problems=(422,),
           description="Needs recent authentication. The secret waits 15 minutes for "
                       "POST /api/account/mfa/totp/confirm.")
@access_token_required
@recent_authentication_required
def begin_totp() -> Response:
    enrolment = totp.begin_enrolment(users.get_user(current_principal().id), current_client())
    return jsonify(secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri)


@bp.post("/account/mfa/totp/confirm")
@operation("Turn two-factor sign-in on with a first code", auth="access", body=CodeRequest,
           answers={200: RecoveryCodesAnswer},
           description="Answers the 10 recovery codes, this once; every other session is "
                       "signed out and the account is mailed.")
@access_token_required
@rate_limit(*MFA_CODES)
def confirm_totp() -> Response:
    body = parse_body(CodeRequest)
    principal = current_principal()
    codes = totp.confirm_enrolment(users.get_user(principal.id), body.code,
                                   principal.session_id, current_client())
    return jsonify(recovery_codes=codes)


@bp.delete("/account/mfa/totp")
@operation("Turn two-factor sign-in off", auth="access", body=CodeRequest, answers={204: None},
           description="Needs recent authentication and a current code; every other session "
                       "is signed out and the account is mailed.")
@access_token_required
@recent_authentication_required
@rate_limit(*MFA_CODES)
def disable_totp() -> Response:
    body = parse_body(CodeRequest)
    principal = current_principal()
    totp.disable(users.get_user(principal.id), body.code, principal.session_id,
                 current_client())
    return Response(status=204)


@bp.post("/account/mfa/recovery-codes")
@operation("Make a new set of recovery codes (the old set stops working)", auth="access",
           answers={200: RecoveryCodesAnswer}, problems=(422,),
           description="Needs recent authentication.")
@access_token_required
@recent_authentication_required
def regenerate_recovery_codes() -> Response:
    principal = current_principal()
    codes = recovery_codes.regenerate(principal.id, principal.session_id, current_client())
    return jsonify(recovery_codes=codes)
