"""Tests for the benchmark sandbox and judge (bench/sandbox.py): real bwrap runs on the fixture."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from bench import sandbox as sandbox_module
from bench.sandbox import (
    INSTALL_HINT,
    Judge,
    Sandbox,
    SandboxUnavailableError,
    bwrap_path,
    normalize_output,
    order_free,
)
from tests.sandboxing import sandbox_unavailable

needs_bwrap = pytest.mark.sandbox  # skipped, or failed under LLMOS_REQUIRE_SANDBOX=1, without it


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """One fixture template for the module, each run in its own copy; short time limit."""
    if bwrap_path() is None:
        sandbox_unavailable("it is not installed (apt-get install -y bubblewrap)")
    try:
        box = Sandbox(timeout_s=2.0, output_cap=4096)
    except SandboxUnavailableError as exc:
        sandbox_unavailable(str(exc))  # installed, but user namespaces are off here
    with box:
        yield box


@pytest.fixture(scope="module")
def judge(sandbox: Sandbox) -> Judge:
    """A judge over the module's sandbox."""
    return Judge(sandbox)


def test_missing_bwrap_is_one_sentence_saying_how_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sandbox_module.shutil, "which", lambda _name: None)
    with pytest.raises(SandboxUnavailableError) as caught:
        Sandbox()
    assert str(caught.value) == INSTALL_HINT
    assert "apt-get install -y bubblewrap" in INSTALL_HINT


def test_normalize_output_paths_and_spacing() -> None:
    text = "./a.txt\n/home/user/b.txt  \n/home/user\n.\n  3   notes.txt\t\n\n\n"
    assert normalize_output(text) == ["a.txt", "b.txt", ".", ".", "  3   notes.txt"]
    # Only a leading ./ or the home path goes; other paths stay as they are.
    assert normalize_output("/usr/bin/ls x./y /home/user2") == ["/usr/bin/ls x./y /home/user2"]
    assert normalize_output("./logs/app.log:12:ERROR") == ["logs/app.log:12:ERROR"]


@pytest.mark.parametrize(
    ("command", "unordered"),
    [
        ("find . -name '*.txt'", True),
        ("find . -name '*.txt' | sort", False),
        ("find . -type f | xargs wc -l | sort -n", False),
        ("du -sh *", True),
        ("grep -rl error .", True),
        ("grep -l error *.txt", False),
        ("ls -la", False),
        ("ls -U", True),
        ("cat notes.txt | sort | uniq -c", False),
    ],
)
def test_order_free(command: str, unordered: bool) -> None:
    assert order_free(command) is unordered


@needs_bwrap
def test_fixture_is_the_cwd_and_home_with_fixed_mtimes(sandbox: Sandbox) -> None:
    result = sandbox.run(
        "pwd; echo $HOME; whoami; find . -maxdepth 1 -name '*.txt' -mtime +40 | sort"
    )
    assert result.ok
    assert result.stdout.splitlines() == [
        "/home/user",
        "/home/user",
        "user",
        "./contacts.txt",
        "./readonly.txt",
        "./words.txt",
    ]
    assert result.state == sandbox.fixture_state


@needs_bwrap
def test_different_spellings_of_one_count_are_equivalent(judge: Judge) -> None:
    verdict = judge.equivalent(
        "ls | wc -l", "find . -maxdepth 1 -mindepth 1 -not -name '.*' | wc -l"
    )
    assert verdict.equivalent, verdict.reason
    assert verdict.candidate.stdout.strip().isdigit()


@needs_bwrap
def test_relative_and_absolute_paths_are_equivalent(judge: Judge) -> None:
    verdict = judge.equivalent("find . -name '*.log'", "find /home/user -name '*.log'")
    assert verdict.equivalent, verdict.reason
    assert not judge.equivalent("find . -name '*.log'", "find . -name '*.txt'").equivalent


@needs_bwrap
def test_spacing_inside_a_line_counts(judge: Judge) -> None:
    assert judge.equivalent("printf 'a b\\n'", "echo 'a b  '").equivalent
    verdict = judge.equivalent("printf 'a  b\\n'", "echo 'a b'")
    assert not verdict.equivalent
    assert verdict.reason == "different output"


@needs_bwrap
def test_unordered_reference_accepts_any_order(judge: Judge) -> None:
    assert judge.equivalent("find . -name '*.jpg'", "find . -name '*.jpg' | sort -r").equivalent
    verdict = judge.equivalent("ls | sort", "ls | sort -r")
    assert not verdict.equivalent
    assert verdict.reason == "different output"


@needs_bwrap
def test_deleting_a_file_is_not_the_same_as_leaving_it(judge: Judge) -> None:
    verdict = judge.equivalent("rm notes.txt", "cat notes.txt > /dev/null")
    assert not verdict.equivalent
    assert verdict.reason == "different files: ~/notes.txt"
    same = judge.equivalent("rm notes.txt", "find . -maxdepth 1 -name notes.txt -delete")
    assert same.equivalent, same.reason


@needs_bwrap
def test_contents_modes_and_touches_count(judge: Judge) -> None:
    assert not judge.equivalent("sed -i 's/apple/pear/' notes.txt", "true").equivalent
    assert not judge.equivalent("chmod +x notes.txt", "true").equivalent
    assert not judge.equivalent("touch notes.txt", "true").equivalent
    assert judge.equivalent("touch notes.txt", "touch -m notes.txt").equivalent
    assert judge.equivalent("cp file.txt /tmp/", "cat file.txt > /tmp/file.txt").equivalent


@needs_bwrap
def test_success_and_failure_must_agree(judge: Judge) -> None:
    verdict = judge.equivalent("grep -q nothing-like-this notes.txt", "true")
    assert not verdict.equivalent
    assert verdict.reason.startswith("exit status 0")


@needs_bwrap
def test_writing_outside_the_sandbox_is_blocked(sandbox: Sandbox, tmp_path: Path) -> None:
    outside = tmp_path / "escaped.txt"
    result = sandbox.run(f"echo x > {outside}")
    assert result.exit_code != 0
    assert not outside.exists()
    result = sandbox.run("echo x > /etc/llmos-sandbox-probe")
    assert result.exit_code != 0
    assert "Read-only file system" in result.stderr
    assert not Path("/etc/llmos-sandbox-probe").exists()
    assert sandbox.run("ls /root /work").exit_code != 0


@needs_bwrap
def test_runs_do_not_see_each_others_files(sandbox: Sandbox) -> None:
    first = sandbox.run("echo one > made.txt; echo x > /tmp/scratch")
    assert {"~/made.txt", "/tmp/scratch"} <= {entry.path for entry in first.state}
    second = sandbox.run("ls made.txt /tmp/scratch")
    assert second.exit_code != 0
    assert second.state == sandbox.fixture_state


@needs_bwrap
def test_network_is_blocked(sandbox: Sandbox) -> None:
    result = sandbox.run("exec 3<>/dev/tcp/1.1.1.1/53 && echo connected")
    assert result.exit_code != 0
    assert "connected" not in result.stdout
    assert "Network is unreachable" in result.stderr


@needs_bwrap
def test_timeout_kills_the_whole_sandbox(sandbox: Sandbox) -> None:
    started = time.monotonic()
    result = sandbox.run("sleep 31.25 & sleep 31.5")
    assert result.timed_out
    assert not result.ok
    assert time.monotonic() - started < 10
    time.sleep(0.2)
    left = [
        p
        for p in psutil.process_iter(["cmdline"])
        if p.info["cmdline"] and p.info["cmdline"][-1] in {"31.25", "31.5"}
    ]
    assert left == []


@needs_bwrap
def test_output_cap_stops_endless_output(sandbox: Sandbox) -> None:
    result = sandbox.run("yes")
    assert result.truncated
    assert not result.ok
    assert len(result.stdout) <= sandbox.output_cap
