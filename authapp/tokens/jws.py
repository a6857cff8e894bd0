"""The compact JWS we mint: written in one pass, and verified in one pass.

PyJWT's ``encode`` and ``decode`` are general: they prepare the key on each
call, and ``decode`` scans every segment's alphabet a character at a time and
validates claims that tokens/claims.py checks again more strictly. On a
protected request that was most of the request's cost (bench/README.md).
Here keys come prepared from the key set with their algorithm pinned, one
regular expression takes the only serialisation we mint apart, and PyJWT's
algorithm object for the key signs and checks signatures, so the cryptography
stays in the library.
"""

import base64
import binascii
import json
import re
from typing import Any

from authapp.core.errors import TokenInvalid
from authapp.tokens.keys import Key, KeySet

# Three base64url segments without padding: header, payload, signature.
COMPACT_JWS = re.compile(r"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)")


def _encoded(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _compact_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def signed(claims: dict[str, Any], key: Key) -> str:
    """``claims`` as a compact JWS signed with ``key``, its ``kid`` in the header."""
    header = _encoded(_compact_json({"alg": key.algorithm, "kid": key.kid, "typ": "JWT"}))
    signing_input = f"{header}.{_encoded(_compact_json(claims))}"
    return f"{signing_input}.{_encoded(key.signature(signing_input.encode()))}"


def _decoded(segment: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (ValueError, binascii.Error) as exc:  # a length no encoder produces
        raise TokenInvalid("The token is not in the form we issue.") from exc


def _json(segment: str, name: str) -> Any:
    try:
        return json.loads(_decoded(segment))
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError included
        raise TokenInvalid(f"The token's {name} is not JSON.") from exc


def verified_payload(token: str, keys: KeySet) -> Any:
    """The decoded payload of ``token`` once its signature is verified with the key
    its header names in ``keys``; TokenInvalid for anything else.

    The signature must also be spelled the one way an encoder spells its bytes: the
    unused low bits of its last character could otherwise change without changing it.
    """
    parts = COMPACT_JWS.fullmatch(token)
    if parts is None:
        raise TokenInvalid("The token is not in the form we issue.")
    header, payload, signature = parts.groups()
    key = keys.key_for(_json(header, "header"))
    raw_signature = _decoded(signature)
    if (_encoded(raw_signature) != signature
            or not key.verifies(f"{header}.{payload}".encode(), raw_signature)):
        raise TokenInvalid("The token's signature does not verify.")
    return _json(payload, "payload")
