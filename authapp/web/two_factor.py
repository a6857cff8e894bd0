"""Pages for two-factor sign-in (SPEC §10): the sign-in's second step and /account/security.

The password step (views.login) keeps the pending ``mfa_token`` in the Flask
session, never in a token cookie, and sends the browser to ``/login/verify``.
Every change on ``/account/security`` except the confirming code needs the
"confirm it's you" step first (web/reauth.py). Everything works without
JavaScript; static/security.js only adds a copy button for recovery codes.
"""

from urllib.parse import quote

import segno
from flask import Response, flash, redirect, render_template, request, session, url_for
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired

from authapp.accounts import users
from authapp.core.errors import MfaInvalid, MfaRequired, ValidationFailed
from authapp.http.client import current_client
from authapp.http.ratelimits import MFA, PENDING_SIGN_IN, rate_limit
from authapp.mfa import challenges, factors, recovery_codes, signin, totp
from authapp.web import bp
from authapp.web.forms import ActionForm, PageForm, focus_field
from authapp.web.reauth import recent_authentication_page
from authapp.web.signin import login_required, page_principal, sign_in

PENDING_NEXT = "authapp_mfa_next"
SECURITY = "web.security"
CODE_INPUT = {"autocomplete": "one-time-code", "inputmode": "numeric", "autocapitalize": "none",
              "spellcheck": "false", "maxlength": "10"}


class CodeForm(PageForm):
    code = StringField("Code from your authenticator app",
                       validators=[DataRequired("Enter the 6-digit code.")],
                       description="6 digits; a new one every 30 seconds.", render_kw=CODE_INPUT)
    next = HiddenField()


class RecoveryCodeForm(PageForm):
    recovery_code = StringField(
        "Recovery code", validators=[DataRequired("Enter one of your recovery codes.")],
        description="One of the codes you saved when you turned two-factor sign-in on; "
                    "each works once.",
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"})


def start_second_step(error: MfaRequired, target: str) -> Response:
    """Remember the pending sign-in in the Flask session and ask for its second factor."""
    session[PENDING_SIGN_IN] = error.extra["mfa_token"]
    session[PENDING_NEXT] = target
    return redirect(url_for("web.verify_sign_in"))


def qr_image(uri: str) -> str:
    """The otpauth URI as a QR code: an SVG data URI for an <img> (no inline script or style)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def download_link(codes: list[str]) -> str:
    """A data: link that saves the codes as a text file."""
    text = "authapp recovery codes (each works once)\n\n" + "\n".join(codes) + "\n"
    return "data:text/plain;charset=utf-8," + quote(text)


@bp.route("/login/verify", methods=["GET", "POST"])
@rate_limit(*MFA)
def verify_sign_in() -> str | Response:
    token = session.get(PENDING_SIGN_IN)
    account_id = challenges.pending_account(token) if token else None
    if account_id is None:
        session.pop(PENDING_SIGN_IN, None)
        flash("That sign-in has expired. Sign in again with your password.", "error")
        return redirect(url_for("web.login"))
    use_recovery = request.values.get("method") == "recovery_code"
    form = RecoveryCodeForm() if use_recovery else CodeForm()
    field = "recovery_code" if use_recovery else "code"
    if form.validate_on_submit():
        try:
            verified = signin.finish(token, current_client(), **{field: form[field].data})
        except MfaInvalid as exc:
            if challenges.pending_account(token) is None:  # the fifth wrong code
                session.pop(PENDING_SIGN_IN, None)
                flash(signin.EXPIRED, "error")
                return redirect(url_for("web.login"))
            form[field].errors = [exc.detail]
        else:
            session.pop(PENDING_SIGN_IN, None)
            target = session.pop(PENDING_NEXT, None) or url_for("web.account")
            flash(f"Signed in as {verified.account.username}.", "success")
            return sign_in(redirect(target), verified.account, verified.amr)
    status = 200 if request.method == "GET" else 422
    return render_template("login_verify.html", form=form, field_name=field,
                           use_recovery=use_recovery, focus=focus_field(form, field),
                           offers_passkey=factors.summary(account_id).passkeys > 0), status


def _security_page(code_form: CodeForm | None = None, status: int = 200) -> tuple[str, int]:
    principal = page_principal()
    code_form = code_form or CodeForm()
    code_form.next.data = url_for(SECURITY)  # where "confirm it's you" returns to
    return render_template("security.html", principal=principal,
                           state=factors.summary(principal.id), action=ActionForm(),
                           code_form=code_form, focus=focus_field(code_form)), status


@bp.get("/account/security")
@login_required
def security() -> tuple[str, int]:
    return _security_page()


@bp.post("/account/security/totp")
@recent_authentication_page
def begin_totp() -> Response:
    try:
        totp.begin_enrolment(users.get_user(page_principal().id), current_client())
    except ValidationFailed as exc:
        flash(next(iter(exc.errors.values()))[0], "error")
        return redirect(url_for(SECURITY))
    return redirect(url_for("web.totp_setup"))


def _setup_page(form: CodeForm, status: int = 200) -> str | Response | tuple[str, int]:
    enrolment = totp.pending_enrolment(users.get_user(page_principal().id))
    if enrolment is None:
        flash("That set-up has expired (it lasts 15 minutes). Start again.", "error")
        return redirect(url_for(SECURITY))
    return render_template("security_setup.html", enrolment=enrolment, form=form,
                           qr=qr_image(enrolment.otpauth_uri),
                           focus=focus_field(form, "code")), status


@bp.get("/account/security/totp")
@recent_authentication_page
def totp_setup() -> str | Response | tuple[str, int]:
    return _setup_page(CodeForm())


@bp.post("/account/security/totp/confirm")
@login_required
def confirm_totp() -> str | Response | tuple[str, int]:
    form = CodeForm()
    if form.validate_on_submit():
        principal = page_principal()
        try:
            codes = totp.confirm_enrolment(users.get_user(principal.id), form.code.data,
                                           principal.session_id, current_client())
        except MfaInvalid as exc:
            form.code.errors = [exc.detail]
        except ValidationFailed:
            return _setup_page(form, 422)
        else:
            flash("Two-factor sign-in is on. Every other device was signed out.", "success")
            return _codes_page(codes)
    return _setup_page(form, 422)


@bp.post("/account/security/totp/disable")
@recent_authentication_page
def disable_totp() -> str | Response | tuple[str, int]:
    form = CodeForm()
    if form.validate_on_submit():
        principal = page_principal()
        try:
            totp.disable(users.get_user(principal.id), form.code.data, principal.session_id,
                         current_client())
        except (MfaInvalid, ValidationFailed) as exc:
            form.code.errors = [exc.detail if isinstance(exc, MfaInvalid)
                                else "Two-factor sign-in is not on."]
        else:
            flash("Two-factor sign-in is off. Every other device was signed out.", "success")
            return redirect(url_for(SECURITY))
    return _security_page(form, 422)


@bp.post("/account/security/recovery-codes")
@recent_authentication_page
def regenerate_recovery_codes() -> str | Response:
    principal = page_principal()
    try:
        codes = recovery_codes.regenerate(principal.id, principal.session_id, current_client())
    except ValidationFailed:
        flash("Turn on two-factor sign-in first.", "error")
        return redirect(url_for(SECURITY))
    flash("Here are your new recovery codes. The old ones no longer work.", "success")
    return _codes_page(codes)


def _codes_page(codes: list[str]) -> str:
    return render_template("security_codes.html", codes=codes, download=download_link(codes))
