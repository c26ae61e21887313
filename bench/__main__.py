"""`python -m bench` (or `make bench`): see bench/run.py for what it measures;
`python -m bench freshness`: the freshness benchmark, see bench/freshness.py."""

from __future__ import annotations

import sys

if __name__ == "__main__":
    if sys.argv[1:2] == ["freshness"]:
        from bench.freshness import main as freshness

        sys.exit(freshness(sys.argv[2:]))
    from bench.run import main

    sys.exit(main())
