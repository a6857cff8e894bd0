"""The key set: which key signs new tokens, and which keys may verify a token's ``kid``.

Every token names its key in the ``kid`` header. Verification takes that key
from this set only and the algorithm from the key, never from the token; an
unknown ``kid`` is refused. With HS256, ``JWT_SECRET_KEY`` signs and each of
``JWT_PREVIOUS_SECRET_KEYS`` still verifies, so the secret can rotate without
signing anyone out. A secret's ``kid`` is an HMAC of a fixed label under the
secret itself: stable, and it reveals nothing about the secret.
"""

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app

from authapp.core.errors import TokenInvalid

EXTENSION_KEY = "authapp.key_set"
SUPPORTED_ALGORITHMS = ("HS256",)
KID_LABEL = b"authapp signing key id"
# The JOSE header parameters we mint; anything else (jku, x5u, jwk, x5c, crit, ...) could
# let a token choose its own key or demand processing we do not do.
MINTED_HEADER_PARAMS = frozenset({"alg", "typ", "kid"})


def hmac_kid(secret: str) -> str:
    """The key id of an HMAC secret."""
    digest = hmac.new(secret.encode(), KID_LABEL, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:12]).decode()


@dataclass(frozen=True)
class Key:
    """One key: its id, the algorithm pinned to it, and the key material."""

    kid: str
    algorithm: str
    material: Any


@dataclass(frozen=True)
class KeySet:
    """The signing key and every key a presented token may name."""

    signing: Key
    verifying: Mapping[str, Key]

    @property
    def algorithms(self) -> list[str]:
        return sorted({key.algorithm for key in self.verifying.values()})

    def key_for(self, header: Any) -> Key:
        """The key a token's (unverified) header names, or TokenInvalid."""
        if not isinstance(header, dict) or not MINTED_HEADER_PARAMS.issuperset(header):
            raise TokenInvalid(detail="The token's header has parameters we never set.")
        key = self.verifying.get(header.get("kid")) if isinstance(header.get("kid"), str) else None
        if key is None:
            raise TokenInvalid(detail="The token names a key we do not have.")
        if header.get("alg") != key.algorithm:
            raise TokenInvalid(detail="The token's algorithm is not its key's.")
        return key


def build_key_set(config: Mapping[str, Any]) -> KeySet:
    """The key set the configuration describes."""
    algorithm = config["JWT_ALGORITHM"]
    if algorithm not in SUPPORTED_ALGORITHMS:
        raise RuntimeError(f"JWT_ALGORITHM must be one of {SUPPORTED_ALGORITHMS}, "
                           f"not {algorithm!r}")
    secrets = [config["JWT_SECRET_KEY"], *(config.get("JWT_PREVIOUS_SECRET_KEYS") or ())]
    keys = [Key(hmac_kid(secret), algorithm, secret.encode()) for secret in secrets]
    return KeySet(signing=keys[0], verifying={key.kid: key for key in reversed(keys)})


def _config_fingerprint(config: Mapping[str, Any]) -> tuple[Any, ...]:
    return (config["JWT_ALGORITHM"], config["JWT_SECRET_KEY"],
            tuple(config.get("JWT_PREVIOUS_SECRET_KEYS") or ()))


def key_set() -> KeySet:
    """This app's key set, built once and again only if its settings change."""
    config = current_app.config
    cached = current_app.extensions.get(EXTENSION_KEY)
    fingerprint = _config_fingerprint(config)
    if cached is None or cached[0] != fingerprint:
        cached = current_app.extensions[EXTENSION_KEY] = (fingerprint, build_key_set(config))
    return cached[1]
