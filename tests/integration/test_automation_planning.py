"""An automation's plain-words action planned by the real embedded model, then judged."""

from __future__ import annotations

import pytest

from llmos_shell.app import App
from llmos_shell.config import load_config
from llmos_shell.scheduler import creation


@pytest.mark.model
def test_the_embedded_model_plans_a_scheduled_disk_report(
    embedded_backend: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMOS_TIMEZONE", "Europe/Paris")
    app = App(config=load_config())
    app._backend = embedded_backend  # type: ignore[assignment]
    proposal = creation.propose(app, "every weekday at 9 show me disk usage")
    data = proposal.to_json()
    assert data["trigger"]["text"] == "Mon-Fri at 09:00"
    assert [call["tool"] for call in data["calls"]] == ["disk_usage"]
    assert data["risk"] == "read-only"
