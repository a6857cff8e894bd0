"""The pages' "confirm it's you" step (SPEC §9 "Pages").

A sensitive page (an admin page, deleting the account) is decorated with
``recent_authentication_page``: without a recent authentication the visitor
is sent to ``/account/confirm?next=<where they were>``, proves the session
with the password, and lands back where they were with a fresh ``auth_time``
in a new access cookie. A POST cannot be replayed, so it returns to the page
the form was on (its ``next`` field, else the page itself).
"""

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from flask import Response, current_app, redirect, render_template, request, url_for
from wtforms import HiddenField, PasswordField
from wtforms.validators import DataRequired

from authapp.accounts import reauthentication
from authapp.core.clock import utcnow
from authapp.core.errors import InvalidCredentials
from authapp.core.extensions import db
from authapp.db.models import Session
from authapp.http.client import current_client
from authapp.http.ratelimits import LOGIN, rate_limit
from authapp.tokens.mint import issue_tokens
from authapp.web import bp
from authapp.web.forms import PageForm, focus_field
from authapp.web.signin import login_required, page_principal, safe_next

CONFIRM = "web.confirm_identity"


class ConfirmForm(PageForm):
    username = HiddenField()  # for password managers, and the sign-in limit per account
    password = PasswordField("Password", validators=[DataRequired()],
                             render_kw={"autocomplete": "current-password"})
    next = HiddenField()


def recently_authenticated_page() -> bool:
    """True while this page session proved itself within ``REAUTH_MAX_AGE``."""
    session = db.session.get(Session, page_principal().session_id)
    max_age = timedelta(seconds=current_app.config["REAUTH_MAX_AGE"])
    return session is not None and session.auth_time >= utcnow() - max_age


def _here() -> str:
    """Where to continue after confirming: this page, or for a POST the page it came from."""
    if request.method == "GET":
        return request.full_path if request.query_string else request.path
    return safe_next(request.form.get("next"), request.path)


def recent_authentication_page(view: Callable[..., Any]) -> Callable[..., Any]:
    """Ask "confirm it's you" first unless the session proved itself recently."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not recently_authenticated_page():
            return redirect(url_for(CONFIRM, next=_here()))
        return view(*args, **kwargs)

    return login_required(wrapped)


@bp.route("/account/confirm", methods=["GET", "POST"])
@login_required
@rate_limit(*LOGIN)
def confirm_identity() -> str | Response:
    principal = page_principal()
    form = ConfirmForm()
    target = safe_next(request.values.get("next"), url_for("web.account"))
    if form.validate_on_submit():
        try:
            grant = reauthentication.reauthenticate_with_password(
                principal, form.password.data, current_client())
        except InvalidCredentials:
            form.password.errors = ["The password is not correct."]
        else:
            response = redirect(target)
            issue_tokens(grant, refresh_jti=None, fresh=True).set_cookies(response, access=True)
            return response
    form.next.data = target
    form.username.data = principal.username
    status = 200 if request.method == "GET" else 422
    return render_template("confirm.html", form=form, principal=principal,
                           focus=focus_field(form, "password")), status
