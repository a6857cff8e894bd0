"""The API's description: the OpenAPI document and an interactive page of it."""

from flask import Response, current_app, jsonify

from authapp.api import bp
from authapp.api.openapi import openapi_document
from authapp.api.operations import Content, operation

DOCUMENT_KEY = "authapp.openapi"


@bp.get("/openapi.json")
@operation("This OpenAPI 3.1 document", database=False,
           answers={200: Content("application/json", {"type": "object"})})
def openapi_json() -> Response:
    document = current_app.extensions.get(DOCUMENT_KEY)
    if document is None:  # every route is registered by the first request
        document = current_app.extensions[DOCUMENT_KEY] = openapi_document(current_app)
    return jsonify(document)


@bp.get("/docs")
@operation("An interactive page of this document (Swagger UI)", database=False,
           answers={200: Content("text/html", {"type": "string"})})
def api_docs() -> Response:
    return current_app.send_static_file("docs/index.html")
