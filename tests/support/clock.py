"""Moving the clock instead of sleeping."""

import datetime as dt

import time_machine


def later(minutes: float = 0, *, seconds: float = 0) -> time_machine.travel:
    """Travel to this long from now (the clock keeps ticking)."""
    return time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes,
                                                                         seconds=seconds))
