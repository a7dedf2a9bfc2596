"""``python -m microapp_operator``: the ``microapp`` command."""

import sys

from .entry.cli import main

sys.exit(main())
