"""The key set: which key signs new tokens, and which keys may verify a token's ``kid``.

Every token names its key in the ``kid`` header. Verification takes that key
from this set only and the algorithm from the key, never from the token; an
unknown ``kid`` is refused. With HS256, ``JWT_SECRET_KEY`` signs and each of
``JWT_PREVIOUS_SECRET_KEYS`` still verifies, so the secret can rotate without
signing anyone out. A secret's ``kid`` is an HMAC of a fixed label under the
secret itself: stable, and it reveals nothing about the secret.

With ES256, EdDSA or RS256 the active key of that algorithm in the
``signing_keys`` table signs (tokens/signing_keys.py), and every stored key that
still verifies does, whatever its algorithm, as do the HMAC secrets, so
switching algorithms signs nobody out either. For signing, a key's material is
the private key; for verifying, the public key (or the secret for HMAC).

The set is cached per app and re-read from the table every ``KEY_SET_TTL``
seconds, so a change made on one instance reaches every other within that
time. A ``kid`` the cached set does not know triggers an early re-read, at most
once per ``UNKNOWN_KID_RELOAD_INTERVAL``: a flood of made-up ``kid`` values
costs one query per interval, not one per request.
"""

import base64
import dataclasses
import hashlib
import hmac
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app
from jwt.algorithms import get_default_algorithms
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from authapp.accounts.audit import log_event
from authapp.core.clock import utcnow
from authapp.core.errors import TokenInvalid
from authapp.core.extensions import db
from authapp.tokens import key_material
from authapp.tokens.signing_keys import (
    ACTIVE,
    STANDBY,
    ensure_first_keys,
    load_rows,
    still_verifies,
)

log = logging.getLogger(__name__)

EXTENSION_KEY = "authapp.key_set"
LOCK_KEY = "authapp.key_set_lock"
HMAC_ALGORITHM = "HS256"
SUPPORTED_ALGORITHMS = (HMAC_ALGORITHM, *key_material.ASYMMETRIC_ALGORITHMS)
KEY_SET_TTL = 30.0  # seconds; SPEC §12 promises every instance sees a change within 60
UNKNOWN_KID_RELOAD_INTERVAL = 5.0
DATABASE_RETRY = 5.0  # seconds before trying the table again after it failed
KID_LABEL = b"authapp signing key id"
# Our kids are base64url (16 characters for a secret, 43 for a thumbprint). Anything else
# is refused without a second look at the table.
KID_FORM = re.compile(r"[A-Za-z0-9_-]{16,64}")
# The JOSE header parameters we mint; anything else (jku, x5u, jwk, x5c, crit, ...) could
# let a token choose its own key or demand processing we do not do.
MINTED_HEADER_PARAMS = frozenset({"alg", "typ", "kid"})
STATE_ORDER = {ACTIVE: 0, STANDBY: 1}
ALGORITHMS = {name: get_default_algorithms()[name] for name in SUPPORTED_ALGORITHMS}


def hmac_kid(secret: str) -> str:
    """The key id of an HMAC secret."""
    digest = hmac.new(secret.encode(), KID_LABEL, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:12]).decode()


@dataclass(frozen=True)
class Key:
    """One key: its id, the algorithm pinned to it, the key material, and its public JWK
    (asymmetric keys only)."""

    kid: str
    algorithm: str
    material: Any
    jwk: Mapping[str, str] | None = None

    def signature(self, signing_input: bytes) -> bytes:
        """This (signing) key's signature over ``signing_input``, by PyJWT's algorithm."""
        return ALGORITHMS[self.algorithm].sign(signing_input, self.material)

    def verifies(self, signing_input: bytes, signature: bytes) -> bool:
        """True if ``signature`` is this key's over ``signing_input`` (PyJWT's algorithm)."""
        return ALGORITHMS[self.algorithm].verify(signing_input, self.material, signature)


@dataclass(frozen=True)
class KeySet:
    """The signing key, every key a presented token may name, and the public JWKs."""

    signing: Key
    verifying: Mapping[str, Key]
    published: tuple[Mapping[str, str], ...] = ()
    # Called with a well-formed kid the set does not know; returns a newer set (rate-limited).
    reload: Callable[[], "KeySet"] | None = field(default=None, compare=False, repr=False)

    @property
    def algorithms(self) -> list[str]:
        return sorted({key.algorithm for key in self.verifying.values()})

    def key_for(self, header: Any) -> Key:
        """The key a token's (unverified) header names, or TokenInvalid."""
        if not isinstance(header, dict) or not MINTED_HEADER_PARAMS.issuperset(header):
            raise TokenInvalid(detail="The token's header has parameters we never set.")
        kid = header.get("kid")
        key = self.verifying.get(kid) if isinstance(kid, str) else None
        if key is None and self.reload is not None and isinstance(kid, str) \
                and KID_FORM.fullmatch(kid):
            key = self.reload().verifying.get(kid)
        if key is None:
            raise TokenInvalid(detail="The token names a key we do not have.")
        if header.get("alg") != key.algorithm:
            raise TokenInvalid(detail="The token's algorithm is not its key's.")
        return key


def check_algorithm(algorithm: Any) -> str:
    """``JWT_ALGORITHM`` if we support it; RuntimeError otherwise."""
    if algorithm not in SUPPORTED_ALGORITHMS:
        raise RuntimeError(f"JWT_ALGORITHM must be one of {SUPPORTED_ALGORITHMS}, "
                           f"not {algorithm!r}")
    return algorithm


def build_key_set(config: Mapping[str, Any], stored: Iterable[Any] = ()) -> KeySet:
    """The key set the configuration and the stored key rows describe."""
    algorithm = check_algorithm(config["JWT_ALGORITHM"])
    secrets = [config["JWT_SECRET_KEY"], *(config.get("JWT_PREVIOUS_SECRET_KEYS") or ())]
    keys = [Key(hmac_kid(secret), HMAC_ALGORITHM, secret.encode()) for secret in secrets]
    now = utcnow()
    rows = sorted((row for row in stored if still_verifies(row, now, config)),
                  key=lambda row: STATE_ORDER.get(row.state, 2))
    stored_keys = [Key(row.kid, row.algorithm,
                       key_material.verifying_key(row.public_jwk, row.algorithm),
                       row.public_jwk) for row in rows]
    signing = keys[0]
    if algorithm != HMAC_ALGORITHM:
        active = next((row for row in rows
                       if row.algorithm == algorithm and row.state == ACTIVE), None)
        if active is None:
            raise RuntimeError(f"no active {algorithm} signing key is stored")
        signing = Key(active.kid, algorithm, key_material.unseal(
            active.private_key, active.kid, config["JWT_KEY_ENCRYPTION_KEY"]))
    verifying = {key.kid: key for key in reversed(keys)}
    verifying.update({key.kid: key for key in stored_keys})
    return KeySet(signing=signing, verifying=verifying,
                  published=tuple(key.jwk for key in stored_keys if key.jwk))


@dataclass(frozen=True)
class _Cached:
    fingerprint: tuple[Any, ...]
    key_set: KeySet
    fresh_until: float
    next_kid_reload: float


def _config_fingerprint(config: Mapping[str, Any]) -> tuple[Any, ...]:
    return (config["JWT_ALGORITHM"], config["JWT_SECRET_KEY"],
            tuple(config.get("JWT_PREVIOUS_SECRET_KEYS") or ()),
            config.get("JWT_KEY_ENCRYPTION_KEY"), config["JWT_ACCESS_TOKEN_EXPIRES"],
            config["JWT_REFRESH_TOKEN_EXPIRES"])


def _stored_rows(app: Flask) -> list[Any]:
    """The table's rows, after making the first keys of an asymmetric algorithm if needed."""
    algorithm = app.config["JWT_ALGORITHM"]
    with db.engine.connect() as connection:
        rows = load_rows(connection)
    if algorithm == HMAC_ALGORITHM or {ACTIVE, STANDBY} <= {
            row.state for row in rows if row.algorithm == algorithm}:
        return rows
    try:
        with db.engine.begin() as connection:
            events = ensure_first_keys(connection, algorithm)
    except IntegrityError:
        events = []  # another instance made them a moment ago
    for event in events:
        log_event(event)
    with db.engine.connect() as connection:
        return load_rows(connection)


def _reload(app: Flask, seen: _Cached | None, *, for_unknown_kid: bool = False) -> _Cached:
    """Rebuild the cached set (one thread at a time; the others take its result)."""
    with app.extensions.setdefault(LOCK_KEY, threading.Lock()):
        cached = app.extensions.get(EXTENSION_KEY)
        if cached is not None and cached is not seen:
            return cached  # another thread has just reloaded it
        now = time.time()
        fingerprint = _config_fingerprint(app.config)
        if for_unknown_kid and cached is not None and now < cached.next_kid_reload:
            return cached
        fresh_until = now + KEY_SET_TTL
        try:
            rows = _stored_rows(app)
        except SQLAlchemyError:
            if cached is not None and cached.fingerprint == fingerprint:
                log.warning("signing keys could not be read; keeping the cached set")
                cached = dataclasses.replace(cached, fresh_until=now + DATABASE_RETRY)
                app.extensions[EXTENSION_KEY] = cached
                return cached
            if app.config["JWT_ALGORITHM"] != HMAC_ALGORITHM:
                raise
            log.warning("signing keys could not be read; verifying with the secrets only")
            rows, fresh_until = [], now + DATABASE_RETRY
        built = dataclasses.replace(build_key_set(app.config, rows), reload=_reload_for_kid)
        cached = _Cached(fingerprint, built, fresh_until, now + UNKNOWN_KID_RELOAD_INTERVAL)
        app.extensions[EXTENSION_KEY] = cached
        return cached


def _reload_for_kid() -> KeySet:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return _reload(app, app.extensions.get(EXTENSION_KEY), for_unknown_kid=True).key_set


def key_set() -> KeySet:
    """This app's key set, re-read when its settings change or its time is up."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    cached = app.extensions.get(EXTENSION_KEY)
    if cached is None or time.time() >= cached.fresh_until \
            or cached.fingerprint != _config_fingerprint(app.config):
        cached = _reload(app, cached)
    return cached.key_set


def forget_key_set() -> None:
    """Drop this app's cached set (after a key change here; other instances wait the TTL)."""
    current_app.extensions.pop(EXTENSION_KEY, None)


def prepare_key_set() -> None:
    """Before a request: load the set (making the first keys) outside any transaction.

    A failure here is left to the code that needs the keys, which answers 503.
    """
    try:
        key_set()
    except SQLAlchemyError:
        log.warning("signing keys could not be loaded before the request", exc_info=True)
