"""Readable device names from user-agent strings: one formatter for the pages and the API."""

from functools import lru_cache

from ua_parser import parse


@lru_cache(maxsize=1024)
def describe_device(user_agent: str) -> str:
    """E.g. "Firefox 128 on Windows"; "Unknown device" when nothing is recognisable."""
    if not user_agent:
        return "Unknown device"
    result = parse(user_agent).with_defaults()
    browser = result.user_agent.family
    if browser != "Other" and result.user_agent.major:
        browser = f"{browser} {result.user_agent.major}"
    system = result.os.family
    if browser == "Other" and system == "Other":
        return "Unknown device"
    if system == "Other":
        return browser
    return f"{browser} on {system}" if browser != "Other" else system
