"""Configuration defaults, one class per environment.

Precedence (lowest first): the class picked by ``AUTHAPP_ENV``, then
``instance/config.py``, then ``AUTHAPP_*`` environment variables (values are
JSON-parsed), then ``DATABASE_URL``.  Durations are plain seconds.
"""


class Config:
    """Settings shared by every environment."""

    SECRET_KEY: str | None = None
    JWT_SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI: str | None = None  # default: SQLite in instance/
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

    # Tokens (SPEC §3)
    JWT_ALGORITHM = "HS256"  # or ES256, EdDSA, RS256: keys in the signing_keys table (§12)
    # The extension's allowlist: every algorithm we support, since each key pins its own and
    # a header whose alg is not its key's is refused (tokens/keys.py).
    JWT_DECODE_ALGORITHMS = ["HS256", "ES256", "EdDSA", "RS256"]
    # Seals the stored private keys (AES-256-GCM); required in production with an asymmetric
    # algorithm, derived from the generated secrets in development.
    JWT_KEY_ENCRYPTION_KEY: str | None = None
    JWKS_MAX_AGE = 600  # seconds verifiers may cache /.well-known/jwks.json
    # Secrets that signed earlier tokens: they still verify (told apart by ``kid``), never sign.
    JWT_PREVIOUS_SECRET_KEYS: list[str] = []
    JWT_ENCODE_ISSUER = "authapp"
    JWT_DECODE_ISSUER = "authapp"
    JWT_ENCODE_AUDIENCE = "authapp"
    JWT_DECODE_AUDIENCE = "authapp"
    JWT_DECODE_LEEWAY = 0
    JWT_ACCESS_TOKEN_EXPIRES = 900
    JWT_REFRESH_TOKEN_EXPIRES = 1_209_600
    SESSION_MAX_LIFETIME = 2_592_000
    REFRESH_REUSE_GRACE = 10
    REAUTH_MAX_AGE = 300  # seconds a sign-in counts as recent for sensitive actions (SPEC §9)

    # Two-factor sign-in (SPEC §10). TOTP secrets are sealed (AES-256-GCM) under
    # MFA_ENCRYPTION_KEY: required in production, derived from the generated secrets in
    # development.
    MFA_ENCRYPTION_KEY: str | None = None
    MFA_ISSUER = "authapp"  # the name authenticator apps show
    MFA_TOKEN_EXPIRES = 300  # seconds between the password step and the second factor
    MFA_ENROLMENT_EXPIRES = 900  # seconds a TOTP secret waits for its confirming code
    # Passkeys (SPEC §11): the relying party. The origin is PUBLIC_URL's; the RP ID defaults
    # to its host (an IP address is not a valid RP ID: use a name such as localhost).
    WEBAUTHN_RP_ID: str | None = None
    WEBAUTHN_RP_NAME = "authapp"
    WEBAUTHN_CHALLENGE_EXPIRES = 300  # seconds a ceremony's challenge lives

    # Where tokens may come from: never the query string.
    JWT_TOKEN_LOCATION = ["headers", "cookies"]
    JWT_COOKIE_CSRF_PROTECT = True  # API cookie requests: X-CSRF-TOKEN header
    JWT_CSRF_CHECK_FORM = False  # pages use Flask-WTF's csrf_token field instead
    JWT_COOKIE_SECURE = False
    JWT_COOKIE_SAMESITE = "Lax"
    JWT_ACCESS_COOKIE_NAME = "access_token_cookie"
    JWT_REFRESH_COOKIE_NAME = "refresh_token_cookie"

    # Passwords
    BCRYPT_LOG_ROUNDS = 12
    # New passwords checked against known breaches (accounts/breach.py): "off" or "hibp",
    # the Pwned Passwords range API (only 5 hex characters of the SHA-1 are sent).
    PASSWORD_BREACH_CHECK = "off"  # noqa: S105 (a mode, not a password)
    PASSWORD_BREACH_API_URL = "https://api.pwnedpasswords.com/range/"  # noqa: S105

    # Requests: "over 64 KiB" means over 65,536 bytes.
    MAX_CONTENT_LENGTH = 65_536
    MAX_JSON_DEPTH = 32
    # Longer request targets answer 414, longer header lines 431 (gunicorn's limits sit above).
    MAX_REQUEST_TARGET_BYTES = 4096
    MAX_HEADER_FIELD_BYTES = 8192

    # Rate limits (Flask-Limiter). Shared across instances with a Redis storage URI.
    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_STRATEGY = "sliding-window-counter"
    RATELIMIT_HEADERS_ENABLED = False  # Retry-After only on 429 (problems.py) and 503
    RATELIMIT_SWALLOW_ERRORS = True  # storage down: log and serve rather than fail closed
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_LOGIN_PER_IP = "30/minute"
    RATELIMIT_LOGIN_PER_USERNAME = "10/minute"  # failed attempts only
    RATELIMIT_REGISTER_PER_IP = "10/minute"
    RATELIMIT_REFRESH_PER_SESSION = "60/minute"
    RATELIMIT_REFRESH_PER_IP = "600/minute"
    RATELIMIT_ADMIN_PER_ACCOUNT = "300/minute"  # every admin API request (SPEC §13)
    RATELIMIT_EXPORT_PER_ACCOUNT = "10/hour"  # data downloads (SPEC §13)
    RATELIMIT_FORGOT_PER_EMAIL = "5/hour"
    RATELIMIT_FORGOT_PER_IP = "20/minute"
    RATELIMIT_EMAIL_PER_ACCOUNT = "10/hour"  # verification resends and address changes
    RATELIMIT_MFA_PER_IP = "30/minute"  # second-factor steps of sign-in
    RATELIMIT_MFA_PER_ACCOUNT = "10/minute"  # wrong second-factor codes only
    TRUSTED_PROXY_COUNT = 0

    # Cross-origin JavaScript frontends allowed to use the API with cookies, e.g.
    # AUTHAPP_CORS_ORIGINS='["https://app.example.com"]'. Setting any switches the
    # token cookies to SameSite=None; Secure.
    CORS_ORIGINS: list[str] = []

    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_HTTPONLY = True

    # Email and recovery (SPEC §8). Links are PUBLIC_URL + a path; required in production.
    PUBLIC_URL: str | None = None  # development: http://127.0.0.1:5000
    EMAIL_REQUIRED = False
    EMAIL_VERIFY_EXPIRES = 86_400
    PASSWORD_RESET_EXPIRES = 3_600
    EMAIL_CHANGE_EXPIRES = 7_200
    EMAIL_VERIFY_RESEND_INTERVAL = 60  # at most one verification mail per account per minute

    # Mail: queued in the outbox, delivered by a thread in every app process.
    MAIL_BACKEND = "smtp"  # or "file": one .eml per message in MAIL_FILE_DIRECTORY
    MAIL_FILE_DIRECTORY: str | None = None  # default: instance/mail/
    MAIL_SERVER = "localhost"
    MAIL_PORT = 25
    MAIL_USE_TLS = False  # STARTTLS
    MAIL_USE_SSL = False
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_DEFAULT_SENDER = "authapp <no-reply@localhost>"
    MAIL_WORKER_ENABLED = True
    MAIL_POLL_SECONDS = 2
    MAIL_CLAIM_SECONDS = 120  # a claimed message is retried by another worker after this
    MAIL_RETRY_SECONDS = 5  # first retry; doubles each attempt, at most an hour
    MAIL_MAX_ATTEMPTS = 12

    AUDIT_EVENT_RETENTION = 31_536_000  # seconds; `flask tokens prune` deletes older events
    LOG_FORMAT = "text"  # or "json": one object per line
    LOG_LEVEL = "INFO"


class DevelopmentConfig(Config):
    """Local use: a generated secret kept in instance/, SQLite, mail as files."""

    PUBLIC_URL = "http://127.0.0.1:5000"
    MAIL_BACKEND = "file"


class TestingConfig(Config):
    """Fast hashing and fixed secrets; tests override the database."""

    TESTING = True
    SECRET_KEY = "testing-secret-key-not-for-production-use-000"  # noqa: S105
    JWT_SECRET_KEY = "testing-jwt-secret-key-not-for-production-use-0"  # noqa: S105
    JWT_KEY_ENCRYPTION_KEY = "testing-key-encryption-key-not-for-production"  # noqa: S105
    MFA_ENCRYPTION_KEY = "testing-mfa-encryption-key-not-for-production"  # noqa: S105
    BCRYPT_LOG_ROUNDS = 4
    RATELIMIT_ENABLED = False
    PUBLIC_URL = "http://localhost"  # the test client's host
    MAIL_BACKEND = "file"
    MAIL_WORKER_ENABLED = False  # tests deliver the outbox themselves


class ProductionConfig(Config):
    """Secure cookies with the ``__Host-`` prefix; secrets must be supplied."""

    JWT_COOKIE_SECURE = True
    JWT_ACCESS_COOKIE_NAME = "__Host-access_token_cookie"
    JWT_REFRESH_COOKIE_NAME = "__Host-refresh_token_cookie"
    # The readable double-submit twins too (Path=/, no Domain): /app reads the name from config.
    JWT_ACCESS_CSRF_COOKIE_NAME = "__Host-csrf_access_token"
    JWT_REFRESH_CSRF_COOKIE_NAME = "__Host-csrf_refresh_token"
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-session"
    LOG_FORMAT = "json"
    TRUSTED_PROXY_COUNT = 1
    # On unless turned off: a deployment that never heard of the setting is still
    # protected, and one that cannot reach the service only loses up to 2 s per new
    # password (the check fails open). `auth doctor` warns when it is off.
    PASSWORD_BREACH_CHECK = "hibp"  # noqa: S105


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
