"""``python -m journeylib.cli``: the ``journey`` command."""

from __future__ import annotations

import sys

from journeylib.cli.parser import main

# guarded: collecting the doctests imports this module without running the command
if __name__ == "__main__":
    sys.exit(main())
