"""Email addresses: syntax (email-validator, no DNS look-ups), length, and the compared form."""

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

from authapp.db.models import EMAIL_MAX


@dataclass(frozen=True)
class Address:
    """An address as the user wrote it (domain normalised) and its case-folded key."""

    display: str
    key: str


def parse_address(raw: str) -> Address | str:
    """The address, or a message saying what is wrong with it."""
    if len(raw) > EMAIL_MAX:
        return f"An email address has at most {EMAIL_MAX} characters."
    try:
        valid = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError:
        return "Enter a valid email address, like name@example.com."
    if len(valid.normalized) > EMAIL_MAX:
        return f"An email address has at most {EMAIL_MAX} characters."
    return Address(valid.normalized, address_key(valid.normalized))


def address_key(address: str) -> str:
    """The form addresses are compared and kept unique in: without regard to case."""
    return address.casefold()


def looks_like_address(value: str) -> bool:
    """Whether a sign-in name is meant as an address (usernames cannot contain '@')."""
    return "@" in value
