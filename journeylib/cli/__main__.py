"""``python -m journeylib.cli``: the ``journey`` command."""

from __future__ import annotations

import sys

from journeylib.cli.parser import main

sys.exit(main())
