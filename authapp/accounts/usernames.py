"""Username rules: allowed characters, length, and the uniqueness key."""

import unicodedata

MIN_LENGTH = 3
MAX_LENGTH = 32
EXTRA_CHARACTERS = "._-"


def normalize(username: str) -> str:
    """The display form: NFKC, surrounding whitespace removed."""
    return unicodedata.normalize("NFKC", username).strip()


def username_key(username: str) -> str:
    """The form compared for uniqueness and login: NFKC, case-folded, NFKC again."""
    return unicodedata.normalize("NFKC", normalize(username).casefold())


def username_problems(username: str) -> list[str]:
    """Human-readable reasons ``username`` (already normalised) is not acceptable."""
    if not MIN_LENGTH <= len(username) <= MAX_LENGTH:
        return [f"Use {MIN_LENGTH} to {MAX_LENGTH} characters."]
    if not all(ch.isalpha() or ch.isdigit() or ch in EXTRA_CHARACTERS for ch in username):
        return ["Use only letters, digits, '.', '_' and '-'."]
    return []
