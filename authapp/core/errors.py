"""Our exceptions and the contract's error vocabulary (SPEC §4), in one place.

Services raise these deep down; ``authapp.http.problems`` turns each into
problem+json on the API or a friendly page, so no module builds an error
response of its own.
"""

from typing import Any

# code -> (status, title)
PROBLEMS: dict[str, tuple[int, str]] = {
    "invalid_json": (400, "Request body is not valid JSON"),
    "link_invalid": (400, "Link is invalid or has expired"),
    "bad_request": (400, "Bad request"),
    "token_missing": (401, "Authentication required"),
    "token_invalid": (401, "Token is invalid"),
    "token_expired": (401, "Token has expired"),
    "token_revoked": (401, "Token has been revoked"),
    "token_reused": (401, "Refresh token was already used"),
    "invalid_credentials": (401, "Invalid username or password"),
    "mfa_required": (401, "A second factor is required"),
    "mfa_invalid": (401, "The second factor is not correct"),
    "reauthentication_required": (401, "Confirm it is you to continue"),
    "csrf_failed": (403, "CSRF check failed"),
    "forbidden": (403, "Forbidden"),
    "not_found": (404, "Not found"),
    "method_not_allowed": (405, "Method not allowed"),
    "username_taken": (409, "Username is taken"),
    "payload_too_large": (413, "Payload too large"),
    "uri_too_long": (414, "Request target too long"),
    "unsupported_media_type": (415, "Unsupported media type"),
    "validation_error": (422, "Validation failed"),
    "rate_limited": (429, "Too many requests"),
    "request_header_fields_too_large": (431, "Request header fields too large"),
    "internal_error": (500, "Internal server error"),
    "service_unavailable": (503, "Service unavailable"),
}
# Codes whose 401 names the presented token as the problem (RFC 6750 §3).
TOKEN_ERROR_CODES = frozenset({"token_invalid", "token_expired", "token_revoked",
                               "token_reused"})


class AuthError(Exception):
    """An error with a contract code; raised anywhere, answered in one handler."""

    code = "bad_request"

    def __init__(self, detail: str | None = None, *, errors: dict[str, list[str]] | None = None,
                 headers: dict[str, str] | None = None,
                 extra: dict[str, Any] | None = None) -> None:
        self.detail = detail or PROBLEMS[self.code][1]
        super().__init__(self.detail)
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra or {}  # further members of the problem body

    @property
    def status(self) -> int:
        return PROBLEMS[self.code][0]


class InvalidJSON(AuthError):
    code = "invalid_json"


class UnsupportedMediaType(AuthError):
    code = "unsupported_media_type"


class LinkInvalid(AuthError):
    """400 ``link_invalid``: a mailed link that is used, expired, superseded or unknown."""

    code = "link_invalid"

    def __init__(self, detail: str = "This link is invalid or has expired. Ask for a new one."
                 ) -> None:
        super().__init__(detail)


class InvalidCredentials(AuthError):
    code = "invalid_credentials"


class TokenError(AuthError):
    """A presented token (or its absence) that does not let the request through."""


class TokenMissing(TokenError):
    code = "token_missing"


class TokenInvalid(TokenError):
    code = "token_invalid"


class TokenExpired(TokenError):
    code = "token_expired"


class TokenRevoked(TokenError):
    code = "token_revoked"


class TokenReused(TokenError):
    code = "token_reused"


class ReauthenticationRequired(AuthError):
    """The session must prove itself again (SPEC §9); ``methods`` says how it can."""

    code = "reauthentication_required"

    def __init__(self, methods: list[str]) -> None:
        super().__init__("Confirm it is you: this action needs a recent sign-in.",
                         extra={"methods": methods})


class MfaRequired(AuthError):
    """The password was right; the account's second factor must follow (SPEC §10)."""

    code = "mfa_required"

    def __init__(self, mfa_token: str, mfa_methods: list[str]) -> None:
        super().__init__("Enter the code from your authenticator app to finish signing in.",
                         extra={"mfa_token": mfa_token, "mfa_methods": mfa_methods})


class MfaInvalid(AuthError):
    """A wrong, reused or expired second-factor code, or a dead ``mfa_token``."""

    code = "mfa_invalid"


class CSRFFailed(AuthError):
    code = "csrf_failed"


class Forbidden(AuthError):
    """403 ``forbidden``: the account lacks a role the action needs (SPEC §13)."""

    code = "forbidden"


class UsernameTaken(AuthError):
    code = "username_taken"


class ResourceNotFound(AuthError):
    """404 for a record the caller may not see (named apart from Werkzeug's NotFound)."""

    code = "not_found"


class ServiceUnavailable(AuthError):
    code = "service_unavailable"


class ValidationFailed(AuthError):
    """422 with per-field messages."""

    code = "validation_error"

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("One or more fields are invalid.", errors=errors)
