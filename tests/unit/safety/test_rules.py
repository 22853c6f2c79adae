"""The person's standing rules: what `[a]lways` keeps, what a rule approves and never does."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from llmos_shell import cli
from llmos_shell.calls import Approval, Decision, Risk, ToolCall
from llmos_shell.registry import Registry, Tool, discover
from llmos_shell.safety.policy import AFTER_RESULT_REASON, decide
from llmos_shell.safety.rules import Rule, RulesError, RuleStore, rule_approves, rule_for
from llmos_shell.session import Session
from llmos_shell.ui.repl.confirm import InteractiveConfirmer


@pytest.fixture(scope="module")
def registry() -> Registry:
    return discover()


def shell(registry: Registry, command: str) -> tuple[ToolCall, Tool, Decision]:
    tool = registry.shell_tool()
    call = ToolCall(tool.name, {tool.shell_command_arg or "command": command})
    return call, tool, decide(call, tool)


def approves(registry: Registry, rules: list[Rule], command: str, after: bool = False) -> bool:
    call, tool, decision = shell(registry, command)
    return rule_approves(call, tool, decision, rules, after) is not None


def test_a_shell_rule_is_the_program_and_its_option_prefix(registry: Registry) -> None:
    rule = rule_for(*shell(registry, "mkdir -p build/out"))
    assert rule.commands == (("mkdir", "-p"),) and rule.risk is Risk.WRITE
    assert approves(registry, [rule], "mkdir -p other/place")
    assert not approves(registry, [rule], "mkdir -p -m 777 other")  # an option it never saw
    assert not approves(registry, [rule], "mkdir x")  # another prefix
    assert not approves(registry, [rule], "mkdir -p x > made.txt")  # a redirect it never saw
    assert not approves(registry, [rule], "mkdir -p x && curl https://example.com")
    assert not approves(registry, [rule], "mkdir -p x", after=True)


def test_a_rule_never_reaches_above_write_or_network(registry: Registry) -> None:
    for command in ("rm -rf build", "sudo mkdir /opt/x", "cp ~/.ssh/id_rsa /tmp/k", "eval $X"):
        with pytest.raises(RulesError, match="no rule can approve"):
            rule_for(*shell(registry, command))
    write_only = rule_for(*shell(registry, "cp a.txt b.txt"))
    assert approves(registry, [write_only], "cp notes.txt copy.txt")
    assert not approves(registry, [write_only], "cp ~/.ssh/id_rsa /tmp/k")  # a secret
    curl = Rule(tool=write_only.tool, risk=Risk.WRITE, commands=(("curl",),), via=((),))
    assert not approves(registry, [curl], "curl https://example.com")  # network > write
    widened = Rule(tool=write_only.tool, risk=Risk.DESTRUCTIVE, commands=(("rm",),), via=((),))
    assert not approves(registry, [widened], "rm notes.txt")  # a hand-edited file


def test_a_tool_rule_keeps_its_folder_and_never_covers_an_overwrite(
    registry: Registry, tmp_path: Path
) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    tool = registry.get("write_file")

    def judged(path: Path, **more: object) -> tuple[ToolCall, Decision]:
        call = ToolCall("write_file", {"path": str(path), "content": "x", **more})
        return call, decide(call, tool)

    rule = rule_for(*judged(notes / "a.txt")[:1], tool, judged(notes / "a.txt")[1])
    assert rule.arguments["path"] == {"folder": str(notes), "hidden": False}
    assert rule_approves(
        *judged(notes / "b.txt")[:1], tool, judged(notes / "b.txt")[1], [rule], False
    )
    for elsewhere in (tmp_path / "b.txt", notes / ".bashrc", notes / "sub" / "c.txt"):
        call, decision = judged(elsewhere)
        assert rule_approves(call, tool, decision, [rule], False) is None
    (notes / "kept.txt").write_text("the person's text")
    call, decision = judged(notes / "kept.txt")
    assert decision.risk is Risk.DESTRUCTIVE
    assert rule_approves(call, tool, decision, [rule], False) is None
    call, decision = judged(notes / "b.txt", mode="append")
    assert rule_approves(call, tool, decision, [rule], False) is None  # another choice


def test_the_store_lists_removes_and_reports_a_damaged_file(tmp_path: Path) -> None:
    store = RuleStore(tmp_path)
    first = Rule(tool="run_shell", risk=Risk.WRITE, commands=(("touch",),), via=((),))
    second = Rule(tool="run_shell", risk=Risk.WRITE, commands=(("mkdir", "-p"),), via=((),))
    assert (store.add(first), store.add(second), store.add(first)) == (1, 2, 1)
    assert RuleStore(tmp_path).rules() == (first, second)
    assert store.remove(1) == first and store.rules() == (second,)
    with pytest.raises(RulesError, match="there is no rule 5"):
        store.remove(5)
    (tmp_path / "rules.json").write_text("{not json")
    with pytest.raises(RulesError, match=r"damaged.*remove it"):
        store.rules()


def test_always_at_the_prompt_keeps_a_rule_that_then_approves_through_run_call(
    registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"  # tmp_path holds the test's home, which the sandbox protects
    work.mkdir()
    monkeypatch.chdir(work)  # the sandbox lets a command write its own folder
    store = RuleStore(tmp_path / "config")
    answers = iter(["a"])
    out = io.StringIO()
    confirmer = InteractiveConfirmer(Console(file=out), lambda q, d: next(answers), rules=store)
    session = Session(None, registry, confirmer=confirmer)
    session.rules = store
    first = work / "one"
    call, _, _ = shell(registry, f"mkdir -p {first.name}")
    step = session.run_call(call, request="make folder one")
    assert step.approval is not None and step.approval.by == "person (always)"
    assert first.is_dir() and "Rule 1 kept" in out.getvalue()
    second = work / "two"
    call, _, _ = shell(registry, f"mkdir -p {second.name}")
    step = session.run_call(call, request="make folder two")  # no answer left: a rule ran it
    assert step.approval is not None and step.approval.by.startswith("rule")
    assert second.is_dir()
    asked: list[Decision] = []

    def person(call: ToolCall, tool: Tool, decision: Decision) -> Approval:
        asked.append(decision)
        return Approval(False, by="person")

    session.confirmer = person
    third = work / "three"
    call, _, _ = shell(registry, f"mkdir -p {third.name}")
    step = session.run_call(call, request="read the file and do what it says", after_result=True)
    assert len(asked) == 1 and not third.exists()
    assert AFTER_RESULT_REASON in asked[0].reasons


def test_llmos_rules_list_and_remove(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from llmos_shell.config import Paths

    store = RuleStore(Paths.from_env().config_dir)
    store.add(
        Rule(
            tool="run_shell", risk=Risk.WRITE, commands=(("touch",),), via=((),), example="touch a"
        )
    )
    assert cli.main(["rules", "list"]) == 0
    assert "1  run_shell: touch ..., up to write" in capsys.readouterr().out
    assert cli.main(["rules", "remove", "1"]) == 0
    assert cli.main(["rules", "--json", "list"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out[out.index("[") :]) == []
    assert cli.main(["rules", "remove", "3"]) == 1
    assert "there is no rule 3" in capsys.readouterr().err
