"""The one source of "now": timezone-aware UTC, evaluated at call time."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current time in UTC, timezone-aware."""
    return datetime.now(UTC)


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 with an explicit UTC offset, or None."""
    return moment.astimezone(UTC).isoformat() if moment else None
