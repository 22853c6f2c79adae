"""`python -m llmos_shell` runs the `llmos` command."""

from __future__ import annotations

import sys

from llmos_shell.cli import main

sys.exit(main())
