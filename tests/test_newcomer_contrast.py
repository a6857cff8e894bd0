"""WCAG 2.2 1.4.11: the focus ring and input borders reach 3:1, computed from the stylesheet."""

import re
from pathlib import Path

import pytest

STYLESHEET = (Path(__file__).resolve().parents[1] / "authapp" / "static" / "style.css").read_text()
NON_TEXT_MINIMUM = 3.0


def variable(name: str) -> str:
    """The hex value of a custom property in :root."""
    match = re.search(rf"--{name}:\s*(#[0-9a-fA-F]{{6}})\b", STYLESHEET)
    assert match, f"--{name} is not a six-digit hex colour"
    return match.group(1)


def rule(selector: str) -> str:
    match = re.search(rf"(?m)^{re.escape(selector)}\s*\{{([^}}]*)\}}", STYLESHEET)
    assert match, f"no rule for {selector}"
    return match.group(1)


def luminance(hex_colour: str) -> float:
    """WCAG relative luminance of an sRGB colour."""
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_contrast_formula_matches_known_values():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#f2b01e", "#ffffff") == pytest.approx(1.91, abs=0.01)  # the old ring


@pytest.mark.parametrize("background", ["surface", "bg"])
def test_the_focus_ring_stands_out_from_every_background(background):
    assert "var(--focus)" in rule(":focus-visible")
    assert contrast(variable("focus"), variable(background)) >= NON_TEXT_MINIMUM


def test_input_borders_stand_out_from_the_input_and_the_card():
    assert "var(--input-border)" in rule(".input")
    assert contrast(variable("input-border"), "#ffffff") >= NON_TEXT_MINIMUM
    assert contrast(variable("input-border"), variable("surface")) >= NON_TEXT_MINIMUM


def test_an_invalid_input_border_stands_out_too():
    assert "var(--danger)" in rule(".field-invalid .input")
    assert contrast(variable("danger"), variable("surface")) >= NON_TEXT_MINIMUM
