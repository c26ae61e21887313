"""`python -m bench` (or `make bench`): see bench/run.py for what it measures."""

from __future__ import annotations

import sys

from bench.run import main

if __name__ == "__main__":
    sys.exit(main())
