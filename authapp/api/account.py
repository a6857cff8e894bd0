"""The signed-in user's profile, sessions and security events."""

from flask import Response, jsonify

from authapp.accounts import audit, sessions
from authapp.api import bp
from authapp.api.operations import operation
from authapp.api.schemas import EventsAnswer, MeAnswer, SessionsAnswer
from authapp.api.serializers import event_json, session_json, user_json
from authapp.core.errors import ResourceNotFound
from authapp.http.client import current_client
from authapp.tokens.verify import access_token_required, current_principal

EVENTS_PAGE = 50


@bp.get("/me")
@operation("The signed-in account", auth="access", answers={200: MeAnswer})
@access_token_required
def me() -> Response:
    principal = current_principal()
    return jsonify({**user_json(principal), "roles": list(principal.roles)})


@bp.get("/sessions")
@operation("The account's live sessions, newest first", auth="access",
           answers={200: SessionsAnswer})
@access_token_required
def list_sessions() -> Response:
    principal = current_principal()
    live = sessions.live_sessions(principal.id)
    return jsonify(sessions=[session_json(s, principal.session_id) for s in live])


@bp.delete("/sessions/<session_id>")
@operation("Revoke one of the account's sessions", auth="access", answers={204: None})
@access_token_required
def revoke_session(session_id: str) -> Response:
    if not sessions.revoke_session(session_id, "revoked_by_user", user_id=current_principal().id,
                                   client=current_client()):
        raise ResourceNotFound("No such session.")
    return Response(status=204)


@bp.get("/events")
@operation("The account's recent security events", auth="access",
           answers={200: EventsAnswer})
@access_token_required
def list_events() -> Response:
    events = audit.recent_events(current_principal().id, limit=EVENTS_PAGE)
    return jsonify(events=[event_json(e) for e in events])
