"""Every audit event a person can see on /account has words of its own."""

from authapp.accounts.audit import EVENT_TYPES
from authapp.web.views import EVENT_LABELS

# Events about the service itself or a deleted account: never on anyone's activity list.
NOT_ON_A_TIMELINE = {"account_deleted", "signing_key_generated", "signing_key_rotated",
                     "signing_key_revoked"}


def test_every_account_event_has_a_label():
    assert EVENT_TYPES - NOT_ON_A_TIMELINE - set(EVENT_LABELS) == set()
