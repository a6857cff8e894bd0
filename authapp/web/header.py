"""Who the site header says is signed in: on every page, error pages included."""

from sqlalchemy.exc import SQLAlchemyError

from authapp.accounts.revocation import Principal
from authapp.core.extensions import db
from authapp.web import bp
from authapp.web.signin import page_principal


@bp.app_context_processor
def header_state() -> dict[str, object]:
    """Templates call ``header_principal()``; only pages that show the header pay for it."""
    return {"header_principal": header_principal}


def header_principal() -> Principal | None:
    """This request's signed-in user, or None (also while the database is unreachable)."""
    try:
        return page_principal()
    except SQLAlchemyError:  # the "we'll be right back" page must still render
        db.session.rollback()
        return None
