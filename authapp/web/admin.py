"""The admin console at /admin (SPEC §13): the admin API's actions for browser users.

Every page needs the ``admin`` role (others see the 403 page) and a recent
authentication (the "confirm it's you" step otherwise). Disabling and
signing out ask on a page of their own first, so they work without JavaScript.
"""

from flask import Response, flash, redirect, render_template, request, url_for
from wtforms import StringField

from authapp.accounts import administration
from authapp.accounts.devices import describe_device
from authapp.accounts.roles import ADMIN
from authapp.core.errors import ValidationFailed
from authapp.http.client import current_client
from authapp.web import bp
from authapp.web.forms import ActionForm, PageForm
from authapp.web.guards import page_roles_required
from authapp.web.reauth import recent_authentication_page
from authapp.web.signin import page_principal
from authapp.web.views import event_label

PER_PAGE = 20
# action -> (question, what it does, button)
CONFIRMATIONS = {
    "disable": ("Disable {name}?", "{name} will be signed out on every device at once and "
                "cannot sign in until an administrator enables the account again.",
                "Yes, disable the account"),
    "sign-out": ("Sign {name} out everywhere?", "Every session of {name} ends at once; they "
                 "can sign in again.", "Yes, sign them out"),
}


class RolesForm(PageForm):
    roles = StringField("Roles", description="Role names separated by spaces, e.g. admin "
                                             "auditor.")


def admin_page(view):
    """Role ``admin`` now, and a recent authentication."""
    return page_roles_required(ADMIN)(recent_authentication_page(view))


def _user_page(user_id: int) -> Response:
    return redirect(url_for("web.admin_user", user_id=user_id))


def _flash_refusal(exc: ValidationFailed) -> None:
    for messages in (exc.errors or {}).values():
        for message in messages:
            flash(message, "error")


@bp.get("/admin")
@admin_page
def admin_users() -> tuple[str, int]:
    q = request.args.get("q", "")
    page = min(max(request.args.get("page", 1, type=int), 1), 100_000)
    error = None
    try:
        found = administration.search_accounts(q, page, PER_PAGE)
    except ValidationFailed as exc:
        error, found = exc.errors["q"][0], administration.AccountPage([], 1, PER_PAGE, 0)
    return render_template("admin/users.html", found=found, q=q, error=error), (
        422 if error else 200)


@bp.get("/admin/users/<int:user_id>")
@admin_page
def admin_user(user_id: int) -> str:
    detail = administration.account_detail(user_id)
    return render_template(
        "admin/user.html", detail=detail, action=ActionForm(),
        roles_form=RolesForm(roles=" ".join(detail.summary.roles)),
        sessions=[(s, describe_device(s.user_agent)) for s in detail.sessions],
        events=[(e, event_label(e), describe_device(e.user_agent)) for e in detail.events],
        own_session=page_principal().session_id)


@bp.get("/admin/users/<int:user_id>/<any(disable, 'sign-out'):action>")
@admin_page
def admin_confirm(user_id: int, action: str) -> str:
    summary = administration.account_detail(user_id).summary
    question, explanation, button = (text.format(name=summary.user.username)
                                     for text in CONFIRMATIONS[action])
    return render_template("admin/confirm.html", summary=summary, action=action,
                           question=question, explanation=explanation, button=button,
                           form=ActionForm())


@bp.post("/admin/users/<int:user_id>/disable")
@admin_page
def admin_disable(user_id: int) -> Response:
    try:
        summary, revoked = administration.disable(page_principal(), user_id, current_client())
    except ValidationFailed as exc:
        _flash_refusal(exc)
    else:
        flash(f"{summary.user.username} is disabled; {revoked} session(s) ended.", "success")
    return _user_page(user_id)


@bp.post("/admin/users/<int:user_id>/enable")
@admin_page
def admin_enable(user_id: int) -> Response:
    summary = administration.enable(page_principal(), user_id, current_client())
    flash(f"{summary.user.username} can sign in again.", "success")
    return _user_page(user_id)


@bp.post("/admin/users/<int:user_id>/sign-out")
@admin_page
def admin_sign_out(user_id: int) -> Response:
    summary, revoked = administration.sign_out(page_principal(), user_id, current_client())
    flash(f"{summary.user.username} is signed out everywhere ({revoked} session(s)).",
          "success")
    return _user_page(user_id)


@bp.post("/admin/users/<int:user_id>/roles")
@admin_page
def admin_set_roles(user_id: int) -> Response:
    form = RolesForm()
    if form.validate_on_submit():
        try:
            summary = administration.set_roles(page_principal(), user_id,
                                               (form.roles.data or "").split(),
                                               current_client())
        except ValidationFailed as exc:
            _flash_refusal(exc)
        else:
            held = ", ".join(summary.roles) or "none"
            flash(f"Roles of {summary.user.username}: {held}.", "success")
    return _user_page(user_id)
