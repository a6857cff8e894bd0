"""Verified addresses, password reset and address change (SPEC §8)."""

from flask import Response, jsonify

from authapp.accounts import recovery, users
from authapp.api import bp
from authapp.api.operations import operation
from authapp.api.schemas import (
    AcceptedAnswer,
    EmailRequest,
    LinkTokenRequest,
    PasswordResetRequest,
    UserAnswer,
)
from authapp.api.serializers import user_json
from authapp.http.client import current_client
from authapp.http.json_body import parse_body
from authapp.http.ratelimits import EMAIL_PER_ACCOUNT, FORGOT, rate_limit
from authapp.tokens.guards import recent_authentication_required
from authapp.tokens.verify import access_token_required, current_principal

FORGOT_ACCEPTED = ("If an account has this address, a link to reset its password is on its "
                   "way. It may take a minute to arrive.")


def accepted(detail: str) -> tuple[Response, int]:
    return jsonify(status="accepted", detail=detail), 202


@bp.post("/auth/password/forgot")
@operation("Ask for a password-reset link", body=EmailRequest, answers={202: AcceptedAnswer},
           description="Always the same 202, whether or not an account has the address.")
@rate_limit(*FORGOT)
def forgot_password() -> tuple[Response, int]:
    recovery.request_password_reset(parse_body(EmailRequest).email)
    return accepted(FORGOT_ACCEPTED)


@bp.post("/auth/password/reset")
@operation("Set a new password with a reset link; signs out every session",
           body=PasswordResetRequest, answers={204: None}, problems=(400,))
def reset_password() -> Response:
    body = parse_body(PasswordResetRequest)
    recovery.reset_password(body.token, body.new_password, current_client())
    return Response(status=204)


@bp.post("/auth/email/verify")
@operation("Verify an address with its mailed link", body=LinkTokenRequest,
           answers={200: UserAnswer}, problems=(400,))
def verify_email() -> Response:
    user = recovery.verify_address(parse_body(LinkTokenRequest).token, current_client())
    return jsonify(user=user_json(user))


@bp.post("/auth/email/confirm")
@operation("Confirm an address change with the link mailed to the new address",
           body=LinkTokenRequest, answers={200: UserAnswer}, problems=(400,))
def confirm_email() -> Response:
    user = recovery.confirm_address_change(parse_body(LinkTokenRequest).token,
                                           current_client())
    return jsonify(user=user_json(user))


@bp.post("/account/email/verification")
@operation("Mail a new verification link (at most one a minute)", auth="access",
           answers={202: AcceptedAnswer}, problems=(422,),
           description="422 when the account has no address.")
@access_token_required
@rate_limit(*EMAIL_PER_ACCOUNT)
def resend_verification() -> tuple[Response, int]:
    recovery.resend_verification(users.get_user(current_principal().id), current_client())
    return accepted("If the address is not verified yet, a new link is on its way.")


@bp.post("/account/email")
@operation("Change the address: a confirmation link goes to the new one", auth="access",
           body=EmailRequest, answers={202: AcceptedAnswer},
           description="Needs recent authentication (SPEC §9).")
@access_token_required
@recent_authentication_required
@rate_limit(*EMAIL_PER_ACCOUNT)
def change_email() -> tuple[Response, int]:
    body = parse_body(EmailRequest)
    recovery.request_address_change(users.get_user(current_principal().id), body.email,
                                    current_client())
    return accepted("A link to confirm the new address is on its way to it.")
