"""Watching a browser for what a page did wrong: console errors, page errors, CSP violations."""

import json
import re
from dataclasses import dataclass, field
from typing import Any

# Installed before any page script runs (init scripts are not subject to the page's CSP).
CSP_LISTENER = """
(() => {
  window.__cspViolations = [];
  document.addEventListener("securitypolicyviolation", (event) => {
    const record = {
      directive: event.effectiveDirective, blocked: event.blockedURI,
      source: event.sourceFile, line: event.lineNumber, page: document.URL,
    };
    window.__cspViolations.push(record);
    if (typeof window.__authappReportCsp === "function") window.__authappReportCsp(record);
  }, true);
})();
"""
FAILED_RESOURCE = re.compile(r"Failed to load resource: the server responded with a status of "
                             r"(\d{3})")


@dataclass
class BrowserWatch:
    """What went wrong in the browser during a test: console errors, page errors, CSP."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    csp_violations: list[dict[str, Any]] = field(default_factory=list)
    expected_failures: list[tuple[int, str]] = field(default_factory=list)
    contexts: list[Any] = field(default_factory=list)

    def expect_failed_request(self, status: int, path: str) -> None:
        """Allow Chromium's "Failed to load resource" error for ``status`` on ``path``."""
        self.expected_failures.append((status, path))

    def attach(self, context: Any) -> None:
        self.contexts.append(context)
        context.on("console", self._on_console)
        context.on("weberror", lambda error: self.page_errors.append(str(error.error)))
        context.expose_function("__authappReportCsp", self._on_csp)
        context.add_init_script(CSP_LISTENER)

    def _on_console(self, message: Any) -> None:
        text = message.text
        if "Content Security Policy" in text:
            self.csp_violations.append({"console": text})
            return
        if message.type != "error":
            return
        failed = FAILED_RESOURCE.search(text)
        url = (message.location or {}).get("url", "")
        if failed and any(int(failed.group(1)) == status and url.split("?")[0].endswith(path)
                          for status, path in self.expected_failures):
            return
        self.console_errors.append(f"{text} ({url})")

    def _on_csp(self, record: dict[str, Any]) -> None:
        self.csp_violations.append(record)

    def collect_csp_from_open_pages(self) -> None:
        """Violations the binding may not have delivered yet, from every open page."""
        for context in self.contexts:
            for page in context.pages:
                try:
                    found = page.evaluate("window.__cspViolations || []")
                except Exception:  # noqa: BLE001,S112  (page closed or navigating)
                    continue
                for record in found:
                    if record not in self.csp_violations:
                        self.csp_violations.append(record)

    def problems(self) -> list[str]:
        self.collect_csp_from_open_pages()
        return ([f"console error: {text}" for text in self.console_errors]
                + [f"uncaught page error: {text}" for text in self.page_errors]
                + [f"CSP violation: {json.dumps(v)}" for v in self.csp_violations])
