"""GET /.well-known/jwks.json: the public keys another service verifies our tokens with.

The document lists the key set's published JWKs (tokens/keys.py): the active
key, the standby key and retired keys whose tokens can still be alive, public
members only. Verifiers may cache it for ``JWKS_MAX_AGE`` seconds and revalidate
with ``If-None-Match``; ``flask keys rotate`` waits twice that long after a
standby key is published, so no verifier meets a ``kid`` it has never seen.
"""

import hashlib
import json

from flask import Blueprint, Response, current_app, request
from sqlalchemy.exc import SQLAlchemyError

from authapp.api.operations import operation
from authapp.api.schemas import JWKSAnswer
from authapp.http.problems import problem
from authapp.tokens.keys import KeySet, key_set

bp = Blueprint("well_known", __name__, url_prefix="/.well-known")
DOCUMENT_KEY = "authapp.jwks_document"
CACHING_HEADERS = {
    "ETag": {"description": "Send it back in If-None-Match to revalidate.", "required": True,
             "schema": {"type": "string"}},
    "Cache-Control": {"description": "public, max-age=JWKS_MAX_AGE", "required": True,
                      "schema": {"type": "string"}},
}


def _document(keys: KeySet) -> tuple[bytes, str]:
    """The JSON body and its ETag, built once per key set."""
    cached = current_app.extensions.get(DOCUMENT_KEY)
    if cached is None or cached[0] is not keys:
        body = json.dumps({"keys": list(keys.published)}, separators=(",", ":"),
                          sort_keys=True).encode()
        cached = (keys, body, hashlib.sha256(body).hexdigest()[:32])
        current_app.extensions[DOCUMENT_KEY] = cached
    return cached[1], cached[2]


@bp.get("/jwks.json")
@operation(
    "The public keys that verify our tokens (RFC 7517)",
    answers={200: JWKSAnswer, 304: None},
    description="Never a private member or an HMAC secret; with HS256 alone it is empty.",
    parameters=({"name": "If-None-Match", "in": "header", "required": False,
                 "description": "The ETag of a copy you hold: 304 if it is still current.",
                 "schema": {"type": "string"}},),
    headers={200: CACHING_HEADERS, 304: CACHING_HEADERS})
def jwks() -> Response:
    try:
        body, etag = _document(key_set())
    except SQLAlchemyError:
        return problem("service_unavailable", "The signing keys cannot be read right now.",
                       headers={"Retry-After": "5"})
    response = current_app.response_class(body, mimetype="application/json")
    response.set_etag(etag)
    response.cache_control.public = True
    response.cache_control.max_age = current_app.config["JWKS_MAX_AGE"]
    return response.make_conditional(request)
