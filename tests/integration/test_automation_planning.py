"""An automation's plain-words action planned by the real embedded model, then judged.

What it checks holds whatever step the model picks: the schedule is read from the words, the
planned calls are valid calls of registered tools, each carries the policy's own verdict, the
job's risk is the highest of them, and nothing runs while it is only proposed. Which tool a
135M model picks for the action is a number in the benchmarks (bench/data/plan_smoke.jsonl).
"""

from __future__ import annotations

from datetime import datetime

import pytest

from llmos_shell.app import App
from llmos_shell.config import load_config
from llmos_shell.safety.policy import decide
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
    for moment in map(datetime.fromisoformat, data["next_runs"]):
        assert moment.weekday() < 5 and (moment.hour, moment.minute) == (9, 0)
    assert proposal.action == "show me disk usage"
    assert proposal.steps, "the action planned no call"
    for step in proposal.steps:
        tool = app.registry.get(step.call.tool)  # raises for a tool that does not exist
        tool.validate(step.call.arguments)
        assert step.decision == decide(step.call, tool)  # the policy's own verdict
        assert step.result is None  # proposed, not run
    assert (
        data["risk"] == max((s.decision.risk for s in proposal.steps), key=lambda r: r.rank).value
    )
    assert not app.config.paths.audit_log.exists()  # nothing ran, so nothing was audited
