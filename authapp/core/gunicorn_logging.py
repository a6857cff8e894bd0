"""gunicorn's logger without the tokens of mailed links in its access log lines."""

from typing import Any

from gunicorn.glogging import Logger

from authapp.core.logs import redact_link_tokens


class RedactingLogger(Logger):
    """``logger_class`` for gunicorn.conf.py."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any],
              request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        # Every atom: the path, the request line, the referrer and the {...}e environ copies.
        return {name: redact_link_tokens(value) if isinstance(value, str) else value
                for name, value in atoms.items()}
