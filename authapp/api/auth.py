"""Sign-up, sign-in, refresh, sign-out and password change endpoints."""

from flask import Response, jsonify
from flask_jwt_extended import (
    unset_jwt_cookies,
)

from authapp.accounts import sessions, users
from authapp.api import bp
from authapp.api.operations import operation
from authapp.api.schemas import (
    LoginAnswer,
    LoginRequest,
    PasswordChangeRequest,
    RegisterRequest,
    TokenAnswer,
    UserAnswer,
)
from authapp.api.serializers import user_json
from authapp.http.client import current_client
from authapp.http.json_body import parse_body
from authapp.http.ratelimits import (
    LOGIN,
    PASSWORD_GUESSES,
    REFRESH_PER_IP,
    REFRESH_PER_SESSION,
    REGISTER,
    rate_limit,
)
from authapp.mfa.signin import require_second_factor
from authapp.tokens.mint import issue_tokens, token_expiry
from authapp.tokens.verify import (
    access_token_required,
    current_claims,
    current_principal,
    refresh_token_required,
    token_location,
)


@bp.post("/auth/register")
@operation("Create an account", body=RegisterRequest, answers={201: UserAnswer},
           problems=(409,))
@rate_limit(*REGISTER)
def register() -> tuple[Response, int]:
    body = parse_body(RegisterRequest)
    user = users.register(body.username, body.password, current_client(), email=body.email)
    return jsonify(user=user_json(user)), 201


@bp.post("/auth/login")
@operation("Sign in", body=LoginRequest, answers={200: LoginAnswer}, problems=(401,),
           description="Sets the refresh cookies unless refresh_in_body is true, then the "
                       "refresh token is in the body instead. An account with two-factor "
                       "sign-in answers 401 mfa_required with an mfa_token for "
                       "POST /api/auth/mfa, and no tokens.",
           links={200: {
               "me": {"operationId": "api.me", "parameters": {
                   "header.Authorization": "Bearer {$response.body#/access_token}"}},
               "sessions": {"operationId": "api.list_sessions", "parameters": {
                   "header.Authorization": "Bearer {$response.body#/access_token}"}},
               "refresh": {"operationId": "api.refresh", "parameters": {
                   "header.Authorization": "Bearer {$response.body#/refresh_token}"}},
           }})
@rate_limit(*LOGIN)
def login() -> Response:
    body = parse_body(LoginRequest)
    refresh_in_body = body.refresh_in_body
    user = users.authenticate(body.username, body.password, current_client())
    require_second_factor(user, current_client())  # 401 mfa_required for a 2FA account
    session = sessions.start_session(user.id, current_client(), role_names=user.roles)
    tokens = issue_tokens(session.grant, refresh_jti=session.refresh_jti, fresh=True)
    response = jsonify(**tokens.body(include_refresh=refresh_in_body), user=user_json(user))
    if not refresh_in_body:
        tokens.set_cookies(response)
    return response


@bp.post("/auth/refresh")
@operation("Rotate the refresh token for a new access token", auth="refresh",
           answers={200: TokenAnswer},
           description="Bearer mode (refresh token in the Authorization header) answers the "
                       "next refresh token in the body; cookie mode sets it as a cookie.",
           links={200: {
               "me": {"operationId": "api.me", "parameters": {
                   "header.Authorization": "Bearer {$response.body#/access_token}"}},
               "refresh": {"operationId": "api.refresh", "parameters": {
                   "header.Authorization": "Bearer {$response.body#/refresh_token}"}},
           }})
@rate_limit(*REFRESH_PER_IP)
@refresh_token_required
@rate_limit(*REFRESH_PER_SESSION)  # keyed by the verified token's session
def refresh() -> Response:
    claims = current_claims()
    rotation = sessions.rotate(claims["sid"], claims["jti"], int(claims["sub"]), current_client())
    tokens = issue_tokens(rotation.grant, refresh_jti=rotation.refresh_jti, fresh=False)
    bearer_mode = token_location() == "headers"
    response = jsonify(tokens.body(include_refresh=bearer_mode))
    if not bearer_mode:
        tokens.set_cookies(response)
    return response


@bp.post("/auth/logout")
@operation("Sign out this session", auth="access", answers={204: None})
@access_token_required
def logout() -> Response:
    claims = current_claims()
    principal = current_principal()
    sessions.revoke_session(principal.session_id, "logout", client=current_client(),
                            event="logout")
    sessions.revoke_token(claims["jti"], "access", principal.id, token_expiry(claims), "logout")
    response = Response(status=204)
    unset_jwt_cookies(response)
    return response


@bp.post("/auth/logout-all")
@operation("Sign out every session of the account", auth="access", answers={204: None})
@access_token_required
def logout_all() -> Response:
    sessions.sign_out_everywhere(current_principal().id, current_client())
    response = Response(status=204)
    unset_jwt_cookies(response)
    return response


@bp.post("/auth/password")
@operation("Change the password; signs out every other session", auth="access",
           body=PasswordChangeRequest, answers={204: None})
@access_token_required
@rate_limit(*PASSWORD_GUESSES)
def change_password() -> Response:
    body = parse_body(PasswordChangeRequest)
    principal = current_principal()
    user = users.get_user(principal.id)
    users.change_password(user, body.current_password, body.new_password,
                          keep_session=principal.session_id, client=current_client())
    return Response(status=204)

