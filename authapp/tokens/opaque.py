"""Short-lived opaque credentials (mailed links, sign-in challenges): random values that
only the holder knows, stored as their SHA-256."""

import hashlib
import secrets

TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 64  # 32 bytes are 43 base64url characters; anything much longer is noise


def generate() -> str:
    """A new credential: 32 random bytes, URL-safe."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def digest(token: object) -> str | None:
    """What is stored for ``token``; None for anything we would never have issued."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
