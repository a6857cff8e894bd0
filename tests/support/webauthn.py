"""A software WebAuthn authenticator: real ES256 keys and signatures, "none" attestation.

It answers the server's options as a browser's ``PublicKeyCredential.toJSON()`` would, so
tests can register and sign without a browser. Every knob an attack test needs is a
keyword: another origin or RP ID, a chosen counter, no user verification, another handle.
"""

import base64
import hashlib
import json
import os
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40
AAGUID = bytes(16)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Credential:
    """One discoverable credential the authenticator holds."""

    id: bytes
    key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0
    counts: bool = True  # False: a synced passkey whose counter stays at 0

    def cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"),
                            -3: numbers.y.to_bytes(32, "big")})


@dataclass
class SoftAuthenticator:
    """A platform authenticator with resident keys and user verification."""

    origin: str = "http://localhost"
    credentials: list[Credential] = field(default_factory=list)

    @staticmethod
    def _client_data(kind: str, options: dict[str, Any], origin: str) -> bytes:
        return json.dumps({"type": kind, "challenge": options["challenge"], "origin": origin,
                           "crossOrigin": False}).encode()

    def create(self, options: dict[str, Any], *, origin: str | None = None,
               rp_id: str | None = None, counts: bool = True) -> dict[str, Any]:
        """``navigator.credentials.create()``: a new credential for ``options``."""
        rp_id = rp_id or options["rp"]["id"]
        credential = Credential(os.urandom(16), ec.generate_private_key(ec.SECP256R1()), rp_id,
                                unb64url(options["user"]["id"]), counts=counts)
        self.credentials.append(credential)
        auth_data = (hashlib.sha256(rp_id.encode()).digest()
                     + bytes([UP | UV | AT | BE | BS]) + struct.pack(">I", 0) + AAGUID
                     + struct.pack(">H", len(credential.id)) + credential.id
                     + credential.cose_key())
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", options, origin or self.origin)
        return {"id": b64url(credential.id), "rawId": b64url(credential.id), "type": "public-key",
                "authenticatorAttachment": "platform", "clientExtensionResults": {},
                "response": {"clientDataJSON": b64url(client_data),
                             "attestationObject": b64url(attestation),
                             "transports": ["internal"]}}

    def get(self, options: dict[str, Any], *, credential: Credential | None = None,
            origin: str | None = None, rp_id: str | None = None, sign_count: int | None = None,
            user_verified: bool = True, user_handle: bytes | None = None) -> dict[str, Any]:
        """``navigator.credentials.get()``: an assertion over the options' challenge."""
        credential = credential or self.pick(options)
        if sign_count is None:
            credential.sign_count += 1 if credential.counts else 0
            sign_count = credential.sign_count
        flags = UP | BE | BS | (UV if user_verified else 0)
        auth_data = (hashlib.sha256((rp_id or credential.rp_id).encode()).digest()
                     + bytes([flags]) + struct.pack(">I", sign_count))
        client_data = self._client_data("webauthn.get", options, origin or self.origin)
        signature = credential.key.sign(auth_data + hashlib.sha256(client_data).digest(),
                                        ec.ECDSA(hashes.SHA256()))
        return {"id": b64url(credential.id), "rawId": b64url(credential.id), "type": "public-key",
                "authenticatorAttachment": "platform", "clientExtensionResults": {},
                "response": {"clientDataJSON": b64url(client_data),
                             "authenticatorData": b64url(auth_data),
                             "signature": b64url(signature),
                             "userHandle": b64url(user_handle or credential.user_handle)}}

    def pick(self, options: dict[str, Any]) -> Credential:
        """The newest credential the options allow (any of the RP's when the list is empty)."""
        allowed = {entry["id"] for entry in options.get("allowCredentials") or []}
        usable = [c for c in self.credentials if c.rp_id == options["rpId"]
                  and (not allowed or b64url(c.id) in allowed)]
        assert usable, "no credential for these options"
        return usable[-1]


def flip_signature_byte(assertion: dict[str, Any]) -> dict[str, Any]:
    """The same assertion with one bit of its signature changed."""
    signature = bytearray(unb64url(assertion["response"]["signature"]))
    signature[len(signature) // 2] ^= 0x01
    return {**assertion, "response": {**assertion["response"], "signature": b64url(signature)}}
