"""Secrets at rest: AES-256-GCM under a key derived (HKDF-SHA256) from a configured key.

Each kind of sealed value names its own ``purpose`` (the HKDF info), so one
configured key never encrypts two kinds of value under the same derived key,
and binds the value to its row through ``associated`` data: a sealed value
copied onto another row does not open.
"""

import base64
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_BYTES = 12


def _cipher(encryption_key: str, purpose: bytes) -> AESGCM:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=purpose).derive(encryption_key.encode())
    return AESGCM(derived)


def seal(plaintext: bytes, associated: bytes, encryption_key: str, purpose: bytes) -> str:
    """``plaintext`` encrypted for storage, as unpadded base64url of nonce + ciphertext."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = nonce + _cipher(encryption_key, purpose).encrypt(nonce, plaintext, associated)
    return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode()


def unseal(sealed: str, associated: bytes, encryption_key: str, purpose: bytes) -> bytes:
    """The plaintext of a sealed value; InvalidTag if the key, purpose or row is wrong."""
    raw = base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4))
    return _cipher(encryption_key, purpose).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:],
                                                    associated)
