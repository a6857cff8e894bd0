"""The services the tests run against (PostgreSQL, Redis), and what a missing one means."""

import os

import pytest

POSTGRES_ADMIN_URL = os.environ.get("AUTHAPP_TEST_POSTGRES_URL",
                                    "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = "redis://127.0.0.1:6379/0"


def require_service(reason: str) -> None:
    """Skip for a missing service on a laptop; fail under CI, where it must exist."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is required)")
    pytest.skip(reason)
