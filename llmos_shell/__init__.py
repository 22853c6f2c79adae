"""llmos_shell: a natural-language shell for your own computer, on a local model."""

from __future__ import annotations

__version__ = "0.1.0"
