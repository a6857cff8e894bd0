"""Request and response bodies of the JSON API, defined once.

Requests are validated with these models (``json_body.parse_body``) and the
OpenAPI document is generated from them, so the two cannot drift apart.
Types are strict (``"1"`` is not a number, ``1`` is not ``true``); unknown
fields are ignored. Rules beyond the type (username characters, password
strength) belong to the services, which answer with the same 422 shape.
"""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Schema(BaseModel):
    """Strict types; unknown fields ignored."""

    model_config = ConfigDict(strict=True, extra="ignore")


# --- requests ---------------------------------------------------------------------------------


class Credentials(Schema):
    """A username and password (SPEC §6 rules are checked by the services)."""

    username: str = Field(description="3–32 letters, digits, '.', '_' or '-'.")
    password: str = Field(description="At least 8 characters, at most 72 bytes UTF-8.")


class RegisterRequest(Credentials):
    """``POST /api/auth/register``."""

    email: str | None = Field(None, description="Optional unless EMAIL_REQUIRED; a "
                                                "verification link is mailed to it.")


class LoginRequest(Credentials):
    """``POST /api/auth/login``."""

    refresh_in_body: bool = Field(
        False, description="Return the refresh token in the body and set no cookie.")


class EmailRequest(Schema):
    """An email address: forgot-password, address change."""

    email: str = Field(description="At most 254 characters.")


class LinkTokenRequest(Schema):
    """The token of a mailed link (the last part of its path)."""

    token: str


class PasswordResetRequest(Schema):
    """``POST /api/auth/password/reset``."""

    token: str
    new_password: str


class ReauthenticateRequest(Schema):
    """``POST /api/auth/reauthenticate``: prove the session again, with one of these."""

    password: str | None = Field(None, description="The account's password.")
    code: str | None = Field(None, description="A current TOTP code (2FA accounts).")
    challenge_id: str | None = Field(
        None, description="From POST /api/auth/reauthenticate/passkey/options.")
    credential: dict[str, Any] | None = Field(
        None, description="The passkey assertion (PublicKeyCredential.toJSON()).")


class PasswordChangeRequest(Schema):
    """``POST /api/auth/password``."""

    current_password: str
    new_password: str


# --- responses --------------------------------------------------------------------------------


class UserOut(Schema):
    """An account."""

    id: int
    username: str
    created_at: datetime
    email: str | None
    email_verified: bool


class MeAnswer(UserOut):
    """The signed-in account, with the roles it holds now (SPEC §13)."""

    roles: list[str] = Field(description="Role names, sorted; read from the database on "
                                          "every request, not from the token.")


class UserAnswer(Schema):
    user: UserOut


class AcceptedAnswer(Schema):
    """202: the request is taken; what follows arrives by mail."""

    status: Literal["accepted"]
    detail: str


class TokenAnswer(Schema):
    """A new access token (and, in bearer mode, the next refresh token)."""

    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str | None = Field(None, description="Bearer mode only.")


class LoginAnswer(TokenAnswer):
    user: UserOut


class SessionStateAnswer(Schema):
    """``GET /api/auth/session``: may this session act on sensitive settings right now?"""

    session_id: str
    auth_time: datetime = Field(description="When the session last proved who it is.")
    amr: list[str] = Field(description="How it did (RFC 8176), e.g. [\"pwd\"].")
    reauthenticated_until: datetime = Field(
        description="Until then, sensitive actions need no re-authentication.")
    mfa_enabled: bool


class SessionOut(Schema):
    id: str
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str
    device: str = Field(description='E.g. "Firefox 128 on Windows", from the user agent.')
    ip: str
    current: bool


class SessionsAnswer(Schema):
    sessions: list[SessionOut] = Field(description="Newest first.")


class EventOut(Schema):
    type: str
    created_at: datetime
    ip: str
    user_agent: str
    session_id: str | None
    details: dict[str, Any]


class EventsAnswer(Schema):
    events: list[EventOut] = Field(description="Newest first.")


class HealthAnswer(Schema):
    status: Literal["ok"]
    database: Literal["ok"]


class Problem(Schema):
    """RFC 9457 problem details, with the contract's ``code``."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    request_id: str
    errors: dict[str, list[str]] | None = Field(
        None, description="422 only: messages per field.")
    methods: list[str] | None = Field(
        None, description="reauthentication_required only: how this account can "
                          "re-authenticate (password, totp, passkey).")
    mfa_token: str | None = Field(
        None, description="mfa_required only: send it with the second factor to "
                          "POST /api/auth/mfa within 300 seconds.")
    mfa_methods: list[str] | None = Field(
        None, description="mfa_required only: the second factors the account accepts "
                          "(totp, recovery_code, passkey).")


class PublicJWK(Schema):
    """A public signing key (RFC 7517): never a private member, never an HMAC secret."""

    model_config = ConfigDict(strict=True, extra="forbid")

    kty: Literal["EC", "OKP", "RSA"]
    kid: str = Field(description="The RFC 7638 thumbprint; tokens name it in their header.")
    alg: Literal["ES256", "EdDSA", "RS256"]
    use: Literal["sig"]
    crv: Literal["P-256", "Ed25519"] | None = None
    x: str | None = None
    y: str | None = None
    n: str | None = None
    e: str | None = None


class JWKSAnswer(Schema):
    """The keys that verify our tokens: active, standby, and retired ones still in use."""

    keys: list[PublicJWK]


# --- administration and leaving (SPEC §13) ----------------------------------------------------


class AdminUsersQuery(BaseModel):
    """``GET /api/admin/users`` query: numbers arrive as text, so types are lax here."""

    model_config = ConfigDict(extra="ignore")

    q: str = Field("", max_length=100, description="Part of a username or address, any case.")
    page: int = Field(1, ge=1, le=100_000)
    per_page: int = Field(20, ge=1, le=100)


class RolesRequest(Schema):
    """``PUT /api/admin/users/<id>/roles``: the account's roles, exactly."""

    roles: list[str] = Field(max_length=32, description="Role names: lowercase letters, "
                                                        "digits, '_' or '-'.")


class PasswordRequest(Schema):
    """A sensitive action confirmed with the account's password."""

    password: str


class AdminUserOut(Schema):
    """An account as an administrator sees it."""

    id: int
    username: str
    created_at: datetime
    disabled_at: datetime | None
    email: str | None
    email_verified: bool
    roles: list[str]
    live_sessions: int


class AdminUsersAnswer(Schema):
    users: list[AdminUserOut] = Field(description="Oldest first.")
    page: int
    per_page: int
    total: int


class AdminUserDetailAnswer(Schema):
    user: AdminUserOut
    sessions: list[SessionOut] = Field(description="Live sessions, newest first.")
    events: list[EventOut] = Field(description="Latest events, newest first.")


class AdminChangeAnswer(Schema):
    """The account after the change, and how many sessions the change revoked."""

    user: AdminUserOut
    sessions_revoked: int


class ExportProfile(Schema):
    id: int
    username: str
    created_at: datetime
    password_changed_at: datetime
    email: str | None
    email_verified_at: datetime | None
    disabled_at: datetime | None
    roles: list[str]


class ExportSession(Schema):
    id: str
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str
    ip: str
    revoked_at: datetime | None
    revoked_reason: str | None


class ExportAnswer(Schema):
    """Everything the service holds about the account (a download)."""

    exported_at: datetime
    profile: ExportProfile
    sessions: list[ExportSession] = Field(description="Every stored session, newest first.")
    events: list[EventOut] = Field(description="Every security event, newest first.")


# --- two-factor sign-in (SPEC §10) -------------------------------------------------------------


class MfaLoginRequest(Schema):
    """``POST /api/auth/mfa``: the second step of a sign-in, with one of the factors."""

    mfa_token: str = Field(description="From the login's 401 mfa_required answer.")
    code: str | None = Field(None, description="A current 6-digit TOTP code.")
    recovery_code: str | None = Field(None, description="One of the account's recovery "
                                                        "codes; case, spaces and dashes "
                                                        "do not matter.")
    challenge_id: str | None = Field(
        None, description="From POST /api/auth/mfa/passkey/options.")
    credential: dict[str, Any] | None = Field(
        None, description="The passkey assertion (PublicKeyCredential.toJSON()).")
    refresh_in_body: bool = Field(
        False, description="Return the refresh token in the body and set no cookie.")


class CodeRequest(Schema):
    """A current TOTP code."""

    code: str = Field(description="6 digits from the authenticator app.")


class TotpSetupAnswer(Schema):
    """A pending TOTP secret: confirm it with a code within 15 minutes."""

    secret: str = Field(description="Base32, for manual entry.")
    otpauth_uri: str = Field(description="For a QR code: otpauth://totp/...")


class RecoveryCodesAnswer(Schema):
    """Ten single-use recovery codes, shown this once."""

    recovery_codes: list[str]


class MfaStatusAnswer(Schema):
    """What protects the account's sign-in."""

    totp: bool
    passkeys: int
    recovery_codes_remaining: int


# --- passkeys (SPEC §11) ----------------------------------------------------------------------

CREDENTIAL_DESCRIPTION = ("The PublicKeyCredential as JSON (its toJSON()): id, rawId, type and "
                          "a response of base64url fields.")


class PasskeyCeremonyAnswer(Schema):
    """WebAuthn options for navigator.credentials, and the id of their challenge."""

    options: dict[str, Any] = Field(description="PublicKeyCredentialCreationOptions or "
                                                "PublicKeyCredentialRequestOptions as JSON "
                                                "(base64url fields).")
    challenge_id: str = Field(description="Send it back with the credential; single use, "
                                          "300 seconds.")


class PasskeyRegisterRequest(Schema):
    """``POST /api/account/passkeys``: the answer to the creation options."""

    challenge_id: str
    credential: dict[str, Any] = Field(description=CREDENTIAL_DESCRIPTION)
    name: str | None = Field(None, description="At most 64 characters; a default otherwise.")


class PasskeyRenameRequest(Schema):
    """``PATCH /api/account/passkeys/<id>``."""

    name: str = Field(description="At most 64 characters.")


class PasskeyAssertionRequest(Schema):
    """``POST /api/auth/passkey``: the answer to the request options."""

    challenge_id: str
    credential: dict[str, Any] = Field(description=CREDENTIAL_DESCRIPTION)
    refresh_in_body: bool = Field(
        False, description="Return the refresh token in the body and set no cookie.")


class MfaTokenRequest(Schema):
    """A pending sign-in, named by the ``mfa_token`` of its 401 mfa_required answer."""

    mfa_token: str


class PasskeyOut(Schema):
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None


class PasskeyAnswer(Schema):
    passkey: PasskeyOut


class PasskeysAnswer(Schema):
    passkeys: list[PasskeyOut]
