"""Pages: home, register, login, logout, account, password, and the JS demo.

Every POST here is checked by Flask-WTF's CSRFProtect before the view runs.
"""

from flask import Response, flash, redirect, render_template, request, url_for

from authapp.accounts import audit, sessions, users
from authapp.accounts.devices import describe_device
from authapp.core.errors import InvalidCredentials, MfaRequired, UsernameTaken, ValidationFailed
from authapp.db.models import AuthEvent
from authapp.http.client import current_client
from authapp.http.ratelimits import LOGIN, REGISTER, rate_limit
from authapp.mfa.signin import require_second_factor
from authapp.web import bp
from authapp.web.forms import (
    ActionForm,
    LoginForm,
    PasswordForm,
    RegisterForm,
    attach_errors,
    focus_field,
)
from authapp.web.signin import login_required, page_principal, safe_next, sign_in, sign_out
from authapp.web.two_factor import start_second_step

ACCOUNT = "web.account"
EVENTS_PER_PAGE = 10
MAX_ACTIVITY_PAGE = 100  # 1,000 events back; older ones are pruned long before
EVENT_LABELS = {
    "register": "Account created",
    "login_succeeded": "Signed in",
    "login_failed": "Failed sign-in attempt",
    "refresh": "Session renewed",
    "token_reused": "Suspected theft: a refresh token was used twice; that session was ended",
    "logout": "Signed out",
    "logout_all": "Signed out everywhere",
    "session_revoked": "A session was revoked",
    "password_changed": "Password changed",
    "rate_limited": "Too many attempts were blocked",
    "user_disabled": "Account disabled by an administrator",
    "user_enabled": "Account re-enabled by an administrator",
    "role_granted": "A role was granted to your account",
    "role_revoked": "A role was taken from your account",
    "roles_changed": "An administrator changed your roles",
    "data_exported": "Your data was downloaded",
    "email_verification_sent": "Link to verify your email address sent",
    "email_verified": "Email address verified",
    "signup_address_in_use": "Someone tried to create an account with your email address",
    "password_reset_requested": "Password reset link sent",
    "password_reset": "Password reset by email; every device was signed out",
    "email_change_requested": "Email address change requested",
    "email_changed": "Email address changed",
    "reauthenticated": "Confirmed it's you",
    "reauthentication_failed": "Failed attempt to confirm it's you",
    "mfa_setup_started": "Two-factor sign-in set-up started",
    "mfa_enabled": "Two-factor sign-in turned on; every other device was signed out",
    "mfa_disabled": "Two-factor sign-in turned off; every other device was signed out",
    "mfa_requested": "Password accepted; a code was asked for",
    "mfa_failed": "Wrong two-factor code",
    "recovery_code_used": "Signed in with a recovery code",
    "recovery_codes_regenerated": "New recovery codes made; the old ones stopped working",
    "passkey_registered": "Passkey added",
    "passkey_renamed": "Passkey renamed",
    "passkey_removed": "Passkey removed",
    "passkey_used": "Signed in with a passkey",
    "passkey_failed": "A passkey sign-in was refused",
    "passkey_clone_suspected": "A passkey's counter went backwards: it may have been copied",
}


@bp.get("/")
def index() -> str:
    return render_template("index.html", principal=page_principal())


@bp.route("/register", methods=["GET", "POST"])
@rate_limit(*REGISTER)
def register() -> str | Response:
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = users.register(form.username.data, form.password.data,
                                     current_client(), email=form.email.data or None)
        except ValidationFailed as exc:
            attach_errors(form, exc.errors or {})
        except UsernameTaken as exc:  # taken, or too like a name that is
            form.username.errors = [exc.detail]
        else:
            flash(f"Welcome, {user.username}! Your account is ready.", "success")
            if user.email:
                flash(f"We sent a link to {user.email}: open it to confirm your address.",
                      "success")
            return sign_in(redirect(url_for(ACCOUNT)), users.Account.of(user))
    return (render_template("register.html", form=form, focus=focus_field(form, "username")),
            200 if request.method == "GET" else 422)


@bp.route("/login", methods=["GET", "POST"])
@rate_limit(*LOGIN)
def login() -> str | Response:
    form = LoginForm()
    target = safe_next(request.values.get("next"), url_for(ACCOUNT))
    if request.method == "GET" and page_principal() is not None:
        return redirect(target)
    error = None
    if form.validate_on_submit():
        try:
            user = users.authenticate(form.username.data, form.password.data,
                                         current_client())
            require_second_factor(user, current_client())
        except InvalidCredentials:
            error = "The username or password is not correct."
        except MfaRequired as exc:  # a right password: no session until the second factor
            return start_second_step(exc, target)
        else:
            flash(f"Signed in as {user.username}.", "success")
            return sign_in(redirect(target), user)
    form.next.data = target
    status = 200 if request.method == "GET" else 422
    focus = "password" if error else focus_field(form, "username")
    return render_template("login.html", form=form, error=error, focus=focus), status


@bp.post("/logout")
def logout() -> Response:
    flash("You have been signed out.", "success")
    return sign_out(redirect(url_for("web.index")))


@bp.get("/account")
@login_required
def account() -> str:
    principal = page_principal()
    live = [(s, describe_device(s.user_agent)) for s in sessions.live_sessions(principal.id)]
    events, more_events = _events_page(principal.id, 1)
    return render_template(
        "account.html", principal=principal, user=users.get_user(principal.id),
        sessions=live, action=ActionForm(),
        events=events, more_events=more_events, thefts=sessions.suspected_theft(principal.id))


@bp.get("/account/activity")
@login_required
def activity() -> str:
    page = min(max(request.args.get("page", 1, type=int), 1), MAX_ACTIVITY_PAGE)
    events, more_events = _events_page(page_principal().id, page)
    return render_template("activity.html", events=events, page=page,
                           more_events=more_events and page < MAX_ACTIVITY_PAGE)


def _events_page(user_id: int, page: int) -> tuple[list[tuple[AuthEvent, str, str]], bool]:
    """Page ``page`` of the user's activity (newest first), and whether an older page exists."""
    newest = audit.recent_events(user_id, limit=page * EVENTS_PER_PAGE + 1, exclude=("refresh",))
    shown = newest[(page - 1) * EVENTS_PER_PAGE:page * EVENTS_PER_PAGE]
    return ([(e, event_label(e), describe_device(e.user_agent)) for e in shown],
            len(newest) > page * EVENTS_PER_PAGE)


@bp.post("/account/sessions/<session_id>/revoke")
@login_required
def revoke_session(session_id: str) -> Response:
    principal = page_principal()
    if sessions.revoke_session(session_id, "revoked_by_user", user_id=principal.id,
                               client=current_client()):
        if session_id == principal.session_id:
            flash("You have been signed out.", "success")
            return sign_out(redirect(url_for("web.index")))
        flash("That device has been signed out.", "success")
    else:
        flash("That session no longer exists.", "error")
    return redirect(url_for(ACCOUNT))


@bp.get("/account/sign-out-everywhere")
@login_required
def confirm_sign_out_everywhere() -> str:
    """The confirm step: a page of its own, so it works without JavaScript."""
    principal = page_principal()
    return render_template("confirm_sign_out.html", principal=principal, action=ActionForm(),
                           session_count=len(sessions.live_sessions(principal.id)))


@bp.post("/account/sign-out-everywhere")
@login_required
def sign_out_everywhere() -> Response:
    sessions.sign_out_everywhere(page_principal().id, current_client())
    flash("You have been signed out on every device.", "success")
    return sign_out(redirect(url_for("web.index")))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> str | Response:
    principal = page_principal()
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            signed_out = users.change_password(
                users.get_user(principal.id), form.current_password.data,
                form.new_password.data, keep_session=principal.session_id,
                client=current_client())
        except ValidationFailed as exc:
            attach_errors(form, exc.errors or {})
        else:
            others = f" {signed_out} other device(s) signed out." if signed_out else ""
            flash(f"Your password has been changed.{others}", "success")
            return redirect(url_for(ACCOUNT))
    status = 200 if request.method == "GET" else 422
    return render_template("password.html", form=form, principal=principal,
                           focus=focus_field(form, "current_password")), status


@bp.get("/app")
def javascript_client() -> str:
    page_principal()  # so the header shows who is signed in
    return render_template("app.html")


def event_label(event: AuthEvent) -> str:
    """How the account page names an audit event."""
    if event.event_type == "session_revoked" and event.details.get("reason") == "admin_revoked":
        return "An administrator signed out your sessions"
    return EVENT_LABELS.get(event.event_type, event.event_type)
