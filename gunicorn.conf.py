"""gunicorn settings for production: ``gunicorn -c gunicorn.conf.py wsgi:app``.

Each value can be overridden with the usual GUNICORN_CMD_ARGS or the
environment variables named below.
"""

import os

from authapp.core import serving

bind = os.environ.get("AUTHAPP_BIND", "127.0.0.1:8000")
workers = serving.workers()  # WEB_CONCURRENCY, else 2 x CPUs + 1
worker_class = "gthread"
threads = serving.threads()  # AUTHAPP_THREADS, else 4
timeout = 30
graceful_timeout = 20
keepalive = 5
max_requests = 10_000  # recycle workers now and then; jitter avoids a thundering herd
max_requests_jitter = 1_000

# A little above the app's own MAX_REQUEST_TARGET_BYTES (4096) and MAX_HEADER_FIELD_BYTES
# (8192), so the app answers an over-long path or header itself (414/431 problem+json);
# only what exceeds these backstops gets gunicorn's own page.
limit_request_line = 6144
limit_request_field_size = 12288
limit_request_fields = 100

# Access log without query strings or headers, and mailed links' tokens redacted from the
# path, so no token can end up in it.
logger_class = "authapp.core.gunicorn_logging.RedactingLogger"
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"'

# X-Forwarded-* are applied by the app's ProxyFix (TRUSTED_PROXY_COUNT), not by gunicorn.
forwarded_allow_ips = ""
