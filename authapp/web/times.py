"""How pages show a moment: "5 minutes ago", with the exact ISO time one hover away."""

from datetime import datetime

from markupsafe import Markup

from authapp.core.clock import utcnow
from authapp.web import bp

# (unit, seconds in it, below how many of them the next unit takes over)
UNITS = [("minute", 60, 60), ("hour", 3600, 24), ("day", 86_400, 30)]


def relative_time(moment: datetime, now: datetime | None = None) -> str:
    """E.g. "just now", "1 minute ago", "3 days ago"; a date once it is a month old."""
    seconds = ((now or utcnow()) - moment).total_seconds()
    if seconds < 45:
        return "just now"
    for unit, size, limit in UNITS:
        count = max(1, round(seconds / size))
        if count < limit:
            return f"{count} {unit}{'' if count == 1 else 's'} ago"
    return moment.strftime("%d %b %Y")


@bp.app_template_filter("moment")
def moment_element(moment: datetime) -> Markup:
    """A ``<time>`` element: relative text, exact ISO 8601 in ``datetime`` and ``title``."""
    exact = moment.isoformat(timespec="seconds")
    return Markup('<time datetime="{0}" title="{0}">{1}</time>').format(exact,
                                                                        relative_time(moment))
