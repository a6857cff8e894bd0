"""Passkey pages (SPEC §11): the second factor on ``/login/verify``.

Signing in without a username (``/login``) and managing passkeys (``/account/security``)
run in static/passkeys.js against the JSON API; the second factor needs the page's pending
sign-in, which lives in the Flask session, so it has these two routes.
"""

import json

from flask import Response, flash, jsonify, redirect, request, session, url_for

from authapp.core.errors import MfaInvalid
from authapp.http.client import current_client
from authapp.http.ratelimits import MFA, PENDING_SIGN_IN, rate_limit
from authapp.mfa import signin
from authapp.web import bp
from authapp.web.signin import sign_in
from authapp.web.two_factor import PENDING_NEXT

MAX_CREDENTIAL_JSON = 16_384


@bp.post("/login/verify/passkey/options")
@rate_limit(*MFA)
def second_factor_passkey_options() -> Response | tuple[Response, int]:
    """Request options for the pending sign-in's passkeys (JSON, for passkeys.js)."""
    try:
        ceremony = signin.begin_passkey(session.get(PENDING_SIGN_IN) or "")
    except MfaInvalid as exc:
        return jsonify(detail=exc.detail), 409
    return jsonify(options=ceremony.options, challenge_id=ceremony.challenge_id)


@bp.post("/login/verify/passkey")
@rate_limit(*MFA)
def second_factor_passkey() -> Response:
    """Finish the pending sign-in with the assertion passkeys.js put in the form."""
    token = session.get(PENDING_SIGN_IN) or ""
    text = request.form.get("credential", "")
    try:
        credential = json.loads(text) if len(text) <= MAX_CREDENTIAL_JSON else None
    except ValueError:
        credential = None
    try:
        verified = signin.finish(token, current_client(),
                                 challenge_id=request.form.get("challenge_id"),
                                 credential=credential if isinstance(credential, dict) else {})
    except MfaInvalid as exc:
        flash(exc.detail, "error")
        return redirect(url_for("web.verify_sign_in"))
    session.pop(PENDING_SIGN_IN, None)
    target = session.pop(PENDING_NEXT, None) or url_for("web.account")
    flash(f"Signed in as {verified.account.username}.", "success")
    return sign_in(redirect(target), verified.account, verified.amr)
