"""Username rules: allowed characters, length, the uniqueness key and the look-alike skeleton.

Two levels of rule. ``username_problems`` is the shape every name, old or new, must have
(it also gates look-ups). ``new_username_problems`` adds what only a new name must pass:
the RFC 8265 PRECIS UsernameCaseMapped profile and one script per name (UTS 39), so that
names registered before these rules existed stay valid and can still sign in.
"""

import unicodedata

from confusable_homoglyphs.categories import alias as script_of
from confusable_homoglyphs.confusables import confusables_data
from precis_i18n import get_profile

MIN_LENGTH = 3
MAX_LENGTH = 32
EXTRA_CHARACTERS = "._-"
SKELETON_MAX = 256  # the column; a skeleton can be longer than its name ("m" -> "rn")

PRECIS_PROFILE = get_profile("UsernameCaseMapped")
# Digits and punctuation belong to every script; combining marks to their base letter's.
NEUTRAL_SCRIPTS = frozenset({"COMMON", "INHERITED"})
# Scripts written together (UTS 39 "highly restrictive"): Japanese, Chinese, Korean with Latin.
SCRIPT_FAMILIES = (frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
                   frozenset({"LATIN", "HAN", "BOPOMOFO"}),
                   frozenset({"LATIN", "HAN", "HANGUL"}))
MIXED_SCRIPTS = ("Use letters from one alphabet only: this name mixes {scripts}, "
                 "which lets it look like someone else's.")


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


def new_username_problems(username: str) -> list[str]:
    """``username_problems`` plus the rules a name registered from now on must also pass."""
    if problems := username_problems(username):
        return problems
    try:
        PRECIS_PROFILE.enforce(username)
    except UnicodeError:
        return ["This name has a character usernames may not use (RFC 8265); "
                "letters, digits, '.', '_' and '-' are safe."]
    scripts = {script_of(ch) for ch in username} - NEUTRAL_SCRIPTS
    if len(scripts) > 1 and not any(scripts <= family for family in SCRIPT_FAMILIES):
        return [MIXED_SCRIPTS.format(scripts=" and ".join(sorted(s.title() for s in scripts)))]
    return []


def username_skeleton(username: str) -> str:
    """The UTS 39 skeleton of ``username``, case-folded: equal for names that look alike.

    "аlice" (Cyrillic а), "alice", "AIice" (capital i) and "a1ice" share one skeleton; so do
    "modern" and "rnodern". Case is folded after mapping, then mapped again, so that
    neither capitals nor digits hide a look-alike.
    """
    mapped = _prototypes(unicodedata.normalize("NFD", normalize(username)))
    return _prototypes(mapped.casefold())[:SKELETON_MAX]


def _prototypes(text: str) -> str:
    mapped = "".join(_prototype(ch) for ch in unicodedata.normalize("NFD", text))
    return unicodedata.normalize("NFD", mapped)


def _prototype(char: str) -> str:
    """The character (or sequence) that ``char`` is confusable with in UTS 39's data.

    The package stores the confusables both ways: a look-alike lists its one prototype,
    a prototype lists all of its look-alikes. A pair that only list each other is one
    look-alike and its prototype; the lower code point stands for both.
    """
    entries = confusables_data.get(char)
    if not entries or len(entries) > 1:
        return char  # not confusable, or a prototype itself
    target = entries[0]["c"]
    if len(target) > 1 or len(confusables_data.get(target, ())) > 1:
        return target
    return min(char, target)
