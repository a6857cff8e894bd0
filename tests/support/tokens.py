"""Reading and forging JWTs the way an attacker (or a careful test) would."""

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import jwt as pyjwt

from authapp.tokens.keys import hmac_kid
from config import TestingConfig

KEY = TestingConfig.JWT_SECRET_KEY
KID = hmac_kid(KEY)
STANDARD_HEADER = {"alg": "HS256", "typ": "JWT", "kid": KID}


def claims(token: str) -> dict[str, Any]:
    """A token's payload, unverified (the server verified it when it issued it)."""
    return pyjwt.decode(token, options={"verify_signature": False})


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def forge(payload: dict[str, Any], *, header: dict[str, Any] | None = None, key: str = KEY,
          digest: Callable = hashlib.sha256) -> str:
    """A JWS over ``header``.``payload``, HMAC-signed with ``key`` whatever ``alg`` says."""
    signing_input = f"{b64url_json(header or STANDARD_HEADER)}.{b64url_json(payload)}"
    signature = hmac.new(key.encode(), signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64url(signature)}"
