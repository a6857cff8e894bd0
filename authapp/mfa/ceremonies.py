"""WebAuthn ceremonies (py_webauthn): the options we send and the checks of what comes back.

The relying party is ``WEBAUTHN_RP_ID`` (``PUBLIC_URL``'s host by default) and the only
origin accepted is ``PUBLIC_URL``'s. Every passkey needs user verification. An assertion
is accepted only if the credential is known, belongs to the account the ceremony is for,
agrees with its ``userHandle``, verifies (signature, origin, RP ID hash, challenge, UP and
UV flags), and moves the sign counter forward in one conditional UPDATE (a counter that
stays at 0 is accepted; one that goes backwards is refused and audited as a possible clone).
"""

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import and_, bindparam, or_, select, update
from webauthn import (
    base64url_to_bytes,
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import bytes_to_base64url, parse_authentication_credential_json
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)
from webauthn.registration.verify_registration_response import VerifiedRegistration

from authapp.accounts import audit
from authapp.core.clock import utcnow
from authapp.core.errors import ServiceUnavailable
from authapp.core.extensions import db
from authapp.db.models import CREDENTIAL_ID_MAX, Passkey
from authapp.http.client import Client

ALGORITHMS = [COSEAlgorithmIdentifier.ECDSA_SHA_256, COSEAlgorithmIdentifier.EDDSA,
              COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256]
MALFORMED = (WebAuthnException, ValueError, TypeError, KeyError, IndexError, AttributeError)
_passkeys = Passkey.__table__
# Forward only; 0 -> 0 is the counter-less (synced) passkey. Of two racing uses one wins.
ADVANCE_COUNTER = (
    update(_passkeys)
    .where(_passkeys.c.id == bindparam("row_id"),
           or_(_passkeys.c.sign_count < bindparam("count"),
               and_(_passkeys.c.sign_count == 0, bindparam("count") == 0)))
    .values(sign_count=bindparam("count"), backed_up=bindparam("now_backed_up"),
            last_used_at=bindparam("now"))
)


@dataclass(frozen=True)
class RelyingParty:
    id: str
    name: str
    origin: str


def relying_party() -> RelyingParty:
    """This server as a WebAuthn relying party."""
    public_url = urlsplit(current_app.config.get("PUBLIC_URL") or "")
    rp_id = current_app.config.get("WEBAUTHN_RP_ID") or public_url.hostname
    if not rp_id or not public_url.scheme:
        raise ServiceUnavailable("Passkeys are not configured on this server (PUBLIC_URL).")
    return RelyingParty(rp_id, current_app.config["WEBAUTHN_RP_NAME"],
                        f"{public_url.scheme}://{public_url.netloc}")


def _timeout_ms() -> int:
    return current_app.config["WEBAUTHN_CHALLENGE_EXPIRES"] * 1000


def descriptors(rows: list[Passkey]) -> list[PublicKeyCredentialDescriptor]:
    """The credentials of ``rows`` as options name them (allow or exclude lists)."""
    known = {transport.value for transport in AuthenticatorTransport}
    return [PublicKeyCredentialDescriptor(
        id=base64url_to_bytes(row.credential_id),
        transports=[AuthenticatorTransport(t) for t in row.transports if t in known] or None)
        for row in rows]


def creation_options(challenge: bytes, user_handle: bytes, username: str,
                     existing: list[Passkey]) -> dict[str, Any]:
    """``PublicKeyCredentialCreationOptions`` as JSON: a discoverable, user-verified key."""
    rp = relying_party()
    options = generate_registration_options(
        rp_id=rp.id, rp_name=rp.name, user_name=username, user_id=user_handle,
        challenge=challenge, timeout=_timeout_ms(), exclude_credentials=descriptors(existing),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED),
        supported_pub_key_algs=ALGORITHMS)
    return json.loads(options_to_json(options))


def request_options(challenge: bytes, allowed: list[Passkey]) -> dict[str, Any]:
    """``PublicKeyCredentialRequestOptions`` as JSON (an empty allow list: any passkey)."""
    options = generate_authentication_options(
        rp_id=relying_party().id, challenge=challenge, timeout=_timeout_ms(),
        allow_credentials=descriptors(allowed),
        user_verification=UserVerificationRequirement.REQUIRED)
    return json.loads(options_to_json(options))


def verify_attestation(credential: dict[str, Any], challenge: bytes
                       ) -> VerifiedRegistration | None:
    """The new credential if the registration response checks out, else None."""
    rp = relying_party()
    try:
        return verify_registration_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp.id,
            expected_origin=rp.origin, require_user_verification=True,
            supported_pub_key_algs=ALGORITHMS)
    except MALFORMED:
        return None


def transports_of(credential: dict[str, Any]) -> list[str]:
    """The transports a registration response names (hints only; unknown ones dropped)."""
    response = credential.get("response")
    named = response.get("transports") if isinstance(response, dict) else None
    known = {transport.value for transport in AuthenticatorTransport}
    return sorted({t for t in named if isinstance(t, str) and t in known}) \
        if isinstance(named, list) else []


def encode_id(raw: bytes) -> str:
    return bytes_to_base64url(raw)


def verify_assertion(credential: dict[str, Any], challenge: bytes, *, user_id: int | None,
                     client: Client, action: str) -> Passkey | None:
    """The passkey that signed ``challenge``, its use recorded; None (audited) if refused.

    ``user_id`` is the account the ceremony is for; None for a sign-in without a username,
    which then trusts only the credential's own owner, confirmed by the ``userHandle``.
    """
    try:
        parsed = parse_authentication_credential_json(credential)
    except MALFORMED:
        return _refused(client, user_id, action, "malformed")
    row = None if len(parsed.raw_id) > CREDENTIAL_ID_MAX else db.session.scalar(
        select(Passkey).where(Passkey.credential_id == encode_id(parsed.raw_id)))
    if row is None or (user_id is not None and row.user_id != user_id):
        return _refused(client, user_id, action, "unknown_credential")
    handle = parsed.response.user_handle
    if (handle is None and user_id is None) or (
            handle is not None and encode_id(handle) != row.user_handle):
        return _refused(client, row.user_id, action, "user_handle_mismatch")
    rp = relying_party()
    try:
        verified = verify_authentication_response(
            credential=parsed, expected_challenge=challenge, expected_rp_id=rp.id,
            expected_origin=rp.origin, credential_public_key=row.public_key,
            credential_current_sign_count=0,  # the counter is ours: ADVANCE_COUNTER
            require_user_verification=True)
    except MALFORMED:
        return _refused(client, row.user_id, action, "invalid_assertion", passkey_id=row.id)
    advanced = db.session.execute(ADVANCE_COUNTER, {
        "row_id": row.id, "count": verified.new_sign_count,
        "now_backed_up": verified.credential_backed_up, "now": utcnow()}).rowcount == 1
    if not advanced:
        audit.record("passkey_clone_suspected", client=client, user_id=row.user_id,
                     passkey_id=row.id, stored_count=row.sign_count,
                     presented_count=verified.new_sign_count)
        return _refused(client, row.user_id, action, "counter_went_backwards",
                        passkey_id=row.id)
    audit.record("passkey_used", client=client, user_id=row.user_id, passkey_id=row.id,
                 action=action)
    return row


def _refused(client: Client, user_id: int | None, action: str, reason: str,
             **details: Any) -> None:
    audit.record("passkey_failed", client=client, user_id=user_id, action=action,
                 reason=reason, **details)
    return None
