"""Asymmetric key material: generate a key pair, name it, publish its public half, seal the rest.

A key's id is its RFC 7638 JWK thumbprint (SHA-256 over the required public
members), so the id is derived from the key itself. The public JWK carries
only those members plus ``kid``, ``alg`` and ``use``: a private member cannot
slip into the JWKS whatever the library's ``to_jwk`` returns. Private keys are
stored as PKCS #8 sealed (core/sealing.py: AES-256-GCM under a key derived
with HKDF) from ``JWT_KEY_ENCRYPTION_KEY``, with the ``kid`` as associated
data, so a sealed key copied onto another row does not open.
"""

import base64
import hashlib
import json
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import get_default_algorithms

from authapp.core import sealing

ASYMMETRIC_ALGORITHMS = ("ES256", "EdDSA", "RS256")
RSA_KEY_BITS = 2048
# RFC 7638 §3.2: the members a thumbprint covers, per key type.
THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x"),
                      "RSA": ("e", "kty", "n")}
SEAL_INFO = b"authapp signing keys at rest v1"
PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey


def generate_private_key(algorithm: str) -> PrivateKey:
    """A new private key for ``algorithm``."""
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    if algorithm == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
    raise ValueError(f"not an asymmetric algorithm we sign with: {algorithm!r}")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_members(private_key: PrivateKey, algorithm: str) -> dict[str, str]:
    """The RFC 7638 required public members of the key, nothing else."""
    jwk = get_default_algorithms()[algorithm].to_jwk(private_key.public_key(), as_dict=True)
    return {member: jwk[member] for member in THUMBPRINT_MEMBERS[jwk["kty"]]}


def thumbprint(members: dict[str, str]) -> str:
    """The RFC 7638 SHA-256 thumbprint of a key's required public members."""
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":")).encode()
    return _b64url(hashlib.sha256(canonical).digest())


def public_jwk(members: dict[str, str], kid: str, algorithm: str) -> dict[str, str]:
    """The JWK the JWKS publishes: the public members with ``kid``, ``alg`` and ``use``."""
    kty = members["kty"]
    return {**{m: members[m] for m in THUMBPRINT_MEMBERS[kty]}, "kid": kid, "alg": algorithm,
            "use": "sig"}


def verifying_key(jwk: dict[str, Any], algorithm: str) -> Any:
    """The public key object of a stored public JWK."""
    return get_default_algorithms()[algorithm].from_jwk(jwk)


def seal(private_key: PrivateKey, kid: str, encryption_key: str) -> str:
    """The private key as PKCS #8, encrypted for storage (see the module docstring)."""
    der = private_key.private_bytes(serialization.Encoding.DER,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    return sealing.seal(der, kid.encode(), encryption_key, SEAL_INFO)


def unseal(sealed: str, kid: str, encryption_key: str) -> PrivateKey:
    """The private key of a sealed value; InvalidTag if the key or the ``kid`` is wrong."""
    der = sealing.unseal(sealed, kid.encode(), encryption_key, SEAL_INFO)
    return serialization.load_der_private_key(der, password=None)  # type: ignore[return-value]
