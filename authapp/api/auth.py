"""Sign-up, sign-in, refresh, sign-out and password change endpoints."""

from flask import Response, jsonify
from flask_jwt_extended import (
    unset_jwt_cookies,
)

from authapp.accounts import sessions, users
from authapp.api import bp
from authapp.api.serializers import user_json
from authapp.http.client import current_client
from authapp.http.json_body import bool_field, json_body, string_fields
from authapp.tokens.mint import issue_tokens, token_expiry
from authapp.tokens.verify import (
    access_token_required,
    current_claims,
    current_principal,
    refresh_token_required,
    token_location,
)


@bp.post("/auth/register")
def register() -> tuple[Response, int]:
    username, password = string_fields(json_body(), "username", "password")
    user = users.register(username, password, current_client())
    return jsonify(user=user_json(user)), 201


@bp.post("/auth/login")
def login() -> Response:
    body = json_body()
    username, password = string_fields(body, "username", "password")
    refresh_in_body = bool_field(body, "refresh_in_body")
    user = users.authenticate(username, password, current_client())
    session = sessions.start_session(user.id, current_client())
    tokens = issue_tokens(user.id, session.id, session.expires_at,
                          refresh_jti=session.refresh_jti, fresh=True)
    response = jsonify(**tokens.body(include_refresh=refresh_in_body), user=user_json(user))
    if not refresh_in_body:
        tokens.set_cookies(response)
    return response


@bp.post("/auth/refresh")
@refresh_token_required
def refresh() -> Response:
    claims = current_claims()
    rotation = sessions.rotate(claims["sid"], claims["jti"], int(claims["sub"]), current_client())
    tokens = issue_tokens(rotation.user_id, rotation.session_id, rotation.session_expires_at,
                          refresh_jti=rotation.refresh_jti, fresh=False)
    bearer_mode = token_location() == "headers"
    response = jsonify(tokens.body(include_refresh=bearer_mode))
    if not bearer_mode:
        tokens.set_cookies(response)
    return response


@bp.post("/auth/logout")
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
@access_token_required
def logout_all() -> Response:
    sessions.sign_out_everywhere(current_principal().id, current_client())
    response = Response(status=204)
    unset_jwt_cookies(response)
    return response


@bp.post("/auth/password")
@access_token_required
def change_password() -> Response:
    current, new = string_fields(json_body(), "current_password", "new_password")
    principal = current_principal()
    user = users.get_user(principal.id)
    users.change_password(user, current, new, keep_session=principal.session_id,
                             client=current_client())
    return Response(status=204)

