"""gunicorn settings shared by every benchmarked server (project and baselines alike).

Passed with ``-c`` so the production ``gunicorn.conf.py`` in the repository root is
not picked up: its worker count follows the CPU count and ``max_requests`` would
recycle the worker in the middle of a run.  The worker class, thread count and
bind address come from the command line.  No access log: it would cost every
server the same, and the goal is what the auth layer adds.
"""

workers = 1
timeout = 60
graceful_timeout = 5
keepalive = 5  # as in production (gthread keeps wrk's connections; sync closes each one)
backlog = 2048
accesslog = None
errorlog = "-"
loglevel = "warning"
max_requests = 0
