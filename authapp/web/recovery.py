"""Pages for account recovery (SPEC §8): forgot and reset a password, verify and change the
address.

Pages that serve a mailed link carry its token in their path, so they answer with
``Referrer-Policy: no-referrer`` (once: the header hook keeps a page's own policy). Their GET
only looks at the link; the POST behind its button uses it up, so a mail scanner that fetches
the link changes nothing. A reset never signs anyone in.
"""

from collections.abc import Callable
from dataclasses import dataclass

from flask import Response, flash, make_response, redirect, render_template, request, url_for

from authapp.accounts import links, recovery, users
from authapp.core.errors import LinkInvalid, ValidationFailed
from authapp.db.models import User
from authapp.http.client import Client, current_client
from authapp.http.ratelimits import FORGOT, Limit, rate_limit
from authapp.web import bp
from authapp.web.forms import (
    ActionForm,
    EmailChangeForm,
    ForgotPasswordForm,
    ResetPasswordForm,
    attach_errors,
    focus_field,
)
from authapp.web.reauth import recent_authentication_page
from authapp.web.signin import login_required, page_principal

ACCOUNT = "web.account"


def signed_in_account() -> str:
    """The page's signed-in account ('' exempts a visitor, whom login_required sends away)."""
    principal = page_principal()
    return str(principal.id) if principal else ""


# Shares its scope with the API's resend and address change: one budget per account.
EMAIL_PER_ACCOUNT = (Limit("RATELIMIT_EMAIL_PER_ACCOUNT", "email-account", signed_in_account,
                           methods=("POST",)),)


def link_page(template: str, status: int = 200, **context: object) -> Response:
    """A page answering a mailed link: its path holds the token, so no Referer may carry it."""
    response = make_response(render_template(template, **context), status)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def link_invalid(detail: str, again_url: str, again_label: str) -> Response:
    """The friendly answer to a used, expired, superseded or unknown link: ask for a new one."""
    return link_page("link_invalid.html", 400, detail=detail, again_url=again_url,
                     again_label=again_label)


# -- password reset ------------------------------------------------------------------------


@bp.route("/forgot-password", methods=["GET", "POST"])
@rate_limit(*FORGOT)
def forgot_password() -> str | Response:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        try:
            recovery.request_password_reset(form.email.data)
        except ValidationFailed as exc:
            attach_errors(form, exc.errors or {})
        else:  # the same page whatever the address: nothing tells whether an account has it
            return render_template("check_inbox.html", kind="reset", address=form.email.data)
    status = 200 if request.method == "GET" else 422
    return render_template("forgot_password.html", form=form,
                           focus=focus_field(form, "email")), status


def _reset_link_invalid(detail: str = LinkInvalid().detail) -> Response:
    return link_invalid(detail, url_for("web.forgot_password"), "Send me a new link")


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Response:
    user = recovery.reset_link_user(token)
    if user is None:
        return _reset_link_invalid()
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            recovery.reset_password(token, form.new_password.data, current_client())
        except LinkInvalid as exc:  # used up by a concurrent request a moment ago
            return _reset_link_invalid(exc.detail)
        except ValidationFailed as exc:  # too weak: the link stays usable for another try
            attach_errors(form, exc.errors or {})
        else:
            return link_page("password_reset_done.html")
    status = 200 if request.method == "GET" else 422
    return link_page("reset_password.html", status, form=form, username=user.username,
                     focus=focus_field(form, "new_password"))


# -- address links: verification and change --------------------------------------------------


@dataclass(frozen=True)
class AddressLink:
    """What a page serving an address link says and does."""

    purpose: str
    use: Callable[[str, Client], User]
    heading: str
    button: str
    done: str  # after "Your address <address>"
    again_label: str
    again_endpoint: str


VERIFY = AddressLink(links.VERIFY_EMAIL, recovery.verify_address,
                     "Confirm your email address", "Confirm my address", "is verified.",
                     "Sign in to send a new link", ACCOUNT)
CHANGE = AddressLink(links.CHANGE_EMAIL, recovery.confirm_address_change,
                     "Confirm your new email address", "Use this address",
                     "is now your account's address, and it is verified.",
                     "Ask for a new link", "web.change_email")


def _address_link_page(kind: AddressLink, token: str) -> Response:
    """GET: the link's address and a button; POST: use the link up and say what changed."""
    again = url_for(kind.again_endpoint)
    if request.method == "POST":  # CSRFProtect has checked the form's token
        try:
            user = kind.use(token, current_client())
        except LinkInvalid as exc:
            return link_invalid(exc.detail, again, kind.again_label)
        return link_page("address_confirmed.html", address=user.email, done=kind.done)
    use = links.peek(token, kind.purpose)
    if use is None:
        return link_invalid(LinkInvalid().detail, again, kind.again_label)
    return link_page("confirm_address.html", kind=kind, address=use.email, action=ActionForm())


@bp.route("/verify-email/<token>", methods=["GET", "POST"])
def verify_email(token: str) -> Response:
    return _address_link_page(VERIFY, token)


@bp.route("/confirm-email/<token>", methods=["GET", "POST"])
def confirm_email(token: str) -> Response:
    return _address_link_page(CHANGE, token)


# -- the signed-in side: resend and change ------------------------------------------------------


@bp.post("/account/email/verification")
@login_required
@rate_limit(*EMAIL_PER_ACCOUNT)
def resend_verification() -> Response:
    try:
        recovery.resend_verification(users.get_user(page_principal().id), current_client())
    except ValidationFailed as exc:
        flash(" ".join((exc.errors or {}).get("email", [exc.detail])), "error")
    else:
        flash("A new verification link is on its way (we send at most one a minute).",
              "success")
    return redirect(url_for(ACCOUNT))


@bp.route("/account/email", methods=["GET", "POST"])
@recent_authentication_page
@rate_limit(*EMAIL_PER_ACCOUNT)
def change_email() -> str | Response:
    user = users.get_user(page_principal().id)
    form = EmailChangeForm()
    if form.validate_on_submit():
        try:
            recovery.request_address_change(user, form.email.data, current_client())
        except ValidationFailed as exc:
            attach_errors(form, exc.errors or {})
        else:
            return render_template("check_inbox.html", kind="change", address=form.email.data)
    status = 200 if request.method == "GET" else 422
    return render_template("email_change.html", form=form, user=user,
                           focus=focus_field(form, "email")), status
