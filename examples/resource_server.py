"""Another service that accepts authapp's access tokens with the JWKS alone: no shared secret.

    AUTHAPP_URL=http://127.0.0.1:5000 python examples/resource_server.py --port 8001
    curl -H "Authorization: Bearer $ACCESS_TOKEN" http://127.0.0.1:8001/hello

It checks the signature with the key the token's ``kid`` names in
``$AUTHAPP_URL/.well-known/jwks.json`` (cached; fetched again for a ``kid`` it
has not seen, at most every 30 s), the algorithm pinned by that key, and the
``iss``, ``aud``, ``exp`` and ``type`` claims. It does not see revocations:
a signed-out user's access token works here until it expires (README, Signing keys).
"""

import argparse
import json
import os
from wsgiref.simple_server import make_server

import jwt

AUTHAPP_URL = os.environ.get("AUTHAPP_URL", "http://127.0.0.1:5000")
ISSUER = os.environ.get("AUTHAPP_ISSUER", "authapp")
AUDIENCE = os.environ.get("AUTHAPP_AUDIENCE", "authapp")
ASYMMETRIC = ["ES256", "EdDSA", "RS256"]  # never HS256: we hold no secret
jwks = jwt.PyJWKClient(f"{AUTHAPP_URL}/.well-known/jwks.json", lifespan=600, timeout=5)


def verified_claims(authorization: str) -> dict:
    """The claims of a valid access token in ``Authorization: Bearer ...``, or PyJWTError."""
    scheme, _, token = authorization.partition(" ")
    if scheme != "Bearer" or not token:
        raise jwt.InvalidTokenError("expected 'Authorization: Bearer <access token>'")
    key = jwks.get_signing_key_from_jwt(token)
    if key.algorithm_name not in ASYMMETRIC:
        raise jwt.InvalidAlgorithmError("not an algorithm we accept")
    claims = jwt.decode(token, key.key, algorithms=[key.algorithm_name], issuer=ISSUER,
                        audience=AUDIENCE, options={"require": ["exp", "iss", "aud", "sub"]})
    if claims.get("type") != "access":
        raise jwt.InvalidTokenError("not an access token")
    return claims


def app(environ, start_response):
    """GET /hello with a valid access token → 200 {"hello": <user id>}; else 401 or 404."""
    if environ["PATH_INFO"] != "/hello":
        status, body = "404 Not Found", {"error": "not_found"}
    else:
        try:
            claims = verified_claims(environ.get("HTTP_AUTHORIZATION", ""))
            status, body = "200 OK", {"hello": claims["sub"]}
        except jwt.PyJWTError as exc:  # PyJWKClientError (unknown kid, JWKS down) too
            status, body = "401 Unauthorized", {"error": "invalid_token", "detail": str(exc)}
    payload = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(payload)))])
    return [payload]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    arguments = parser.parse_args()
    make_server(arguments.host, arguments.port, app).serve_forever()
