"""The admin API (SPEC §13): role ``admin`` and a recent authentication on every route."""

from collections.abc import Callable
from typing import Any

from flask import Response, jsonify, request
from pydantic import ValidationError as SchemaError

from authapp.accounts import administration
from authapp.accounts.administration import AccountSummary
from authapp.accounts.roles import ADMIN
from authapp.api import bp
from authapp.api.operations import operation
from authapp.api.schemas import (
    AdminChangeAnswer,
    AdminUserDetailAnswer,
    AdminUsersAnswer,
    AdminUsersQuery,
    RolesRequest,
)
from authapp.api.serializers import event_json, session_json
from authapp.core.clock import iso
from authapp.core.errors import ValidationFailed
from authapp.http.client import current_client
from authapp.http.json_body import field_errors, parse_body
from authapp.http.ratelimits import Limit, rate_limit, signed_in_username
from authapp.tokens.guards import recent_authentication_required, roles_required
from authapp.tokens.verify import access_token_required, current_principal

# Under the guards: only an admin's own requests count, per admin.
ADMIN_REQUESTS = (Limit("RATELIMIT_ADMIN_PER_ACCOUNT", "admin-account", signed_in_username),)
USERS_QUERY = tuple(
    {"name": name, "in": "query", "required": False, "schema": schema}
    for name, schema in AdminUsersQuery.model_json_schema()["properties"].items())
ADMIN_PROBLEMS = (422,)  # the query, or an admin acting on their own account


def admin_route(view: Callable[..., Any]) -> Callable[..., Any]:
    """An access token of an account holding ``admin`` now, recently authenticated."""
    return access_token_required(roles_required(ADMIN)(recent_authentication_required(
        rate_limit(*ADMIN_REQUESTS)(view))))


def admin_user_json(summary: AccountSummary) -> dict[str, Any]:
    """An account as ``AdminUserOut`` describes it."""
    user = summary.user
    return {"id": user.id, "username": user.username, "created_at": iso(user.created_at),
            "disabled_at": iso(user.disabled_at) if user.disabled_at else None,
            "email": user.email, "email_verified": user.email_verified_at is not None,
            "roles": list(summary.roles), "live_sessions": summary.live_sessions}


def _query() -> AdminUsersQuery:
    arguments = request.args.to_dict()
    try:
        return AdminUsersQuery.model_validate(arguments)
    except SchemaError as exc:
        raise ValidationFailed(field_errors(exc, arguments)) from exc


def _changed(summary: AccountSummary, sessions_revoked: int = 0) -> Response:
    return jsonify(user=admin_user_json(summary), sessions_revoked=sessions_revoked)


@bp.get("/admin/users")
@operation("Find accounts by part of a name or address, a page at a time", auth="access",
           answers={200: AdminUsersAnswer}, parameters=USERS_QUERY, problems=ADMIN_PROBLEMS)
@admin_route
def admin_users() -> Response:
    query = _query()
    found = administration.search_accounts(query.q, query.page, query.per_page)
    return jsonify(users=[admin_user_json(s) for s in found.summaries], page=found.page,
                   per_page=found.per_page, total=found.total)


@bp.get("/admin/users/<int:user_id>")
@operation("One account with its live sessions and latest events", auth="access",
           answers={200: AdminUserDetailAnswer})
@admin_route
def admin_user(user_id: int) -> Response:
    detail = administration.account_detail(user_id)
    own_session = current_principal().session_id
    return jsonify(user=admin_user_json(detail.summary),
                   sessions=[session_json(s, own_session) for s in detail.sessions],
                   events=[event_json(e) for e in detail.events])


@bp.post("/admin/users/<int:user_id>/disable")
@operation("Disable an account and revoke every session of it", auth="access",
           answers={200: AdminChangeAnswer}, problems=ADMIN_PROBLEMS)
@admin_route
def admin_disable(user_id: int) -> Response:
    return _changed(*administration.disable(current_principal(), user_id, current_client()))


@bp.post("/admin/users/<int:user_id>/enable")
@operation("Let a disabled account sign in again", auth="access",
           answers={200: AdminChangeAnswer})
@admin_route
def admin_enable(user_id: int) -> Response:
    return _changed(administration.enable(current_principal(), user_id, current_client()))


@bp.delete("/admin/users/<int:user_id>/sessions")
@operation("Sign an account out everywhere", auth="access", answers={200: AdminChangeAnswer})
@admin_route
def admin_sign_out(user_id: int) -> Response:
    return _changed(*administration.sign_out(current_principal(), user_id, current_client()))


@bp.put("/admin/users/<int:user_id>/roles")
@operation("Set an account's roles", auth="access", body=RolesRequest,
           answers={200: AdminChangeAnswer})
@admin_route
def admin_set_roles(user_id: int) -> Response:
    body = parse_body(RolesRequest)
    return _changed(administration.set_roles(current_principal(), user_id, body.roles,
                                             current_client()))
