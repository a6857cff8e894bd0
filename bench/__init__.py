"""On-demand benchmark suite (``make bench``); never part of ``make test``.

``python -m bench.run --help`` lists the options.
"""
