"""Leaving (SPEC §13): download my data, delete my account."""

import json

from flask import Response
from flask_jwt_extended import unset_jwt_cookies

from authapp.accounts import leaving
from authapp.api import bp
from authapp.api.operations import operation
from authapp.api.schemas import ExportAnswer, PasswordRequest
from authapp.http.client import current_client
from authapp.http.json_body import parse_body
from authapp.http.ratelimits import REAUTHENTICATION, Limit, rate_limit, signed_in_username
from authapp.tokens.guards import recent_authentication_required
from authapp.tokens.verify import access_token_required, current_principal

EXPORTS = (Limit("RATELIMIT_EXPORT_PER_ACCOUNT", "export-account", signed_in_username),)
ATTACHMENT = 'attachment; filename="authapp-data.json"'


def export_response(export: dict) -> Response:
    """The export as a JSON download (pages use it too)."""
    return Response(json.dumps(export, ensure_ascii=False, indent=2), mimetype="application/json",
                    headers={"Content-Disposition": ATTACHMENT, "Cache-Control": "no-store"})


@bp.get("/account/export")
@operation("Download everything the service holds about the account", auth="access",
           answers={200: ExportAnswer},
           headers={200: {"Content-Disposition": {"description": "attachment",
                                                  "schema": {"type": "string"}}}})
@access_token_required
@rate_limit(*EXPORTS)
def export_account() -> Response:
    return export_response(leaving.export_account(current_principal(), current_client()))


@bp.delete("/account")
@operation("Delete the account, its sessions and its second factors for good", auth="access",
           body=PasswordRequest, answers={204: None},
           description="Needs a recent authentication and the password. Security events "
                       "stay without anything that identifies the person.")
@access_token_required
@recent_authentication_required
@rate_limit(*REAUTHENTICATION)
def delete_account() -> Response:
    body = parse_body(PasswordRequest)
    leaving.delete_account(current_principal(), body.password, current_client())
    response = Response(status=204)
    unset_jwt_cookies(response)
    return response
