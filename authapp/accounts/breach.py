"""Breached passwords: the Pwned Passwords range API with k-anonymity (ASVS 6.2.12).

Only the first five hex characters of the password's SHA-1 leave the machine. The
service answers with every known hash suffix under that prefix, padded with fake
entries of count 0 (``Add-Padding``) so the answer's size says nothing either; the
match is made here. The check fails open: when the service does not answer in time
the password is judged by the local rules alone and a warning is logged, never with
the password or any part of its hash.
"""

import hashlib
import http.client
import logging
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from flask import current_app

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 2.0
PREFIX_LENGTH = 5
READ_CHUNK = 16_384
USER_AGENT = "authapp-breached-password-check"


def is_breached(password: str) -> bool:
    """True when the configured check finds ``password`` in at least one known breach.

    False when ``PASSWORD_BREACH_CHECK`` is not ``"hibp"``, when the password is not
    listed, and when the service cannot be asked (logged as a warning).
    """
    mode = current_app.config["PASSWORD_BREACH_CHECK"]
    if mode != "hibp":
        return False
    digest = hashlib.sha1(password.encode("utf-8"), usedforsecurity=False).hexdigest().upper()
    prefix, suffix = digest[:PREFIX_LENGTH], digest[PREFIX_LENGTH:]
    try:
        answer = _fetch_range(current_app.config["PASSWORD_BREACH_API_URL"], prefix)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        log.warning("Breached-password check skipped (%s): the new password was judged by "
                    "the local rules only.", _reason(exc))
        return False
    return _listed(answer, suffix)


def _fetch_range(base_url: str, prefix: str) -> str:
    """The range answer for ``prefix``, abandoned once ``TIMEOUT_SECONDS`` have passed.

    The timeout bounds the connection and every wait for data; an answer still
    trickling in at the deadline is dropped too.
    """
    url = base_url.rstrip("/") + "/" + prefix
    if urlsplit(url).scheme not in ("https", "http"):
        raise ValueError("PASSWORD_BREACH_API_URL must be an http(s) URL")
    deadline = time.monotonic() + TIMEOUT_SECONDS
    headers = {"Add-Padding": "true", "User-Agent": USER_AGENT}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (scheme checked above)
    chunks = []
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
        while chunk := response.read1(READ_CHUNK):
            if time.monotonic() > deadline:
                raise TimeoutError
            chunks.append(chunk)
    return b"".join(chunks).decode("ascii")


def _listed(answer: str, suffix: str) -> bool:
    """Whether ``suffix`` appears with a count of at least 1 (padding entries count 0)."""
    for line in answer.splitlines():
        candidate, _, count = line.partition(":")
        if candidate.strip().upper() == suffix:
            return count.strip().isdigit() and int(count) >= 1
    return False


def _reason(exc: Exception) -> str:
    """What went wrong, in words that never carry the URL (its path holds the prefix)."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"the service answered HTTP {exc.code}"
    cause = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(cause, TimeoutError):
        return f"no answer within {TIMEOUT_SECONDS:g} s"
    return f"the service could not be reached: {type(cause).__name__}"
