"""`llmos` run in the test's own process, planning on a scripted backend."""

from __future__ import annotations

from typing import Any

import pytest

from llmos_shell.backends.scripted import ScriptedBackend


def script_the_cli(monkeypatch: pytest.MonkeyPatch) -> ScriptedBackend:
    """Every app the command line makes from now on plans on the returned scripted backend."""
    from llmos_shell.commands import base

    backend = ScriptedBackend()
    make_app = base.make_app

    def make_scripted_app(args: Any) -> Any:
        made = make_app(args)
        made._backend = backend
        return made

    monkeypatch.setattr(base, "make_app", make_scripted_app)
    return backend
