"""Tests that need bubblewrap: skipped where it cannot run, failed there when CI requires it.

`@pytest.mark.sandbox` on a test (or `pytestmark` on a module) runs it only where bubblewrap
can create sandboxes; tests/conftest.py applies the mark. Where it cannot, the test is skipped
with the reason, unless LLMOS_REQUIRE_SANDBOX=1 (set by .ci/run): then it fails, so that a
green run cannot hide an untested safety layer.
"""

from __future__ import annotations

import os

import pytest

REQUIRE_VAR = "LLMOS_REQUIRE_SANDBOX"
# Read once, at import: the autouse fixture in conftest.py drops LLMOS_* variables per test.
REQUIRED = os.environ.get(REQUIRE_VAR, "").strip() not in ("", "0")


def sandbox_unavailable(detail: str) -> None:
    """Skip the running test because bubblewrap cannot run (`detail` says why), or fail it
    where LLMOS_REQUIRE_SANDBOX=1."""
    if REQUIRED:
        pytest.fail(
            f"bubblewrap cannot run sandboxes here ({detail}) and {REQUIRE_VAR}=1 requires it; "
            "install bubblewrap and allow unprivileged user namespaces",
            pytrace=False,
        )
    pytest.skip(f"bubblewrap cannot run sandboxes here: {detail}")


def require_sandbox() -> None:
    """Return where bubblewrap runs sandboxes; otherwise skip or fail the running test."""
    from llmos_shell.safety.sandbox import availability

    status = availability()
    if not status.usable:
        sandbox_unavailable(status.detail)
