"""Mail that tells an account's owner of a two-factor change (only to a verified address)."""

from authapp.db.models import User
from authapp.mail.outbox import public_url, queue_mail


def notify(user: User, template: str, **context: object) -> None:
    """Queue ``template`` for the account, with the links every such mail offers."""
    if user.email_verified_at is not None:
        queue_mail(user.email, template, username=user.username,
                   security_link=public_url("/account/security"),
                   reset_link=public_url("/forgot-password"), **context)
