"""What the tool fuzzer feeds the tools: a throw-away playground, and strategies for arguments.

The playground is one temporary folder holding HOME, the XDG dirs, llmos's dirs and a fixture
rebuilt before every case (text, binary and empty files, a FIFO, a socket, links good and
broken, a folder nobody may read, immutable files where the file system allows). The
strategies are built from each tool's JSON Schema and what its argument names say they hold;
every path they write resolves inside the playground. Used by `bench/fuzz_tools.py` and the
test suite.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from llmos_shell.registry import Tool

PATH_ARGS = {"path", "source", "destination", "cwd"}
SIZE_ARGS = {"min_size", "max_size"}
AGE_ARGS = {"modified_within", "modified_before"}
_VICTIM = "llmosfuzzvictim"  # the sacrificial process kill_process may stop
_EVIL_LINE = "a" * 27 + "!"  # where (a+)+$ backtracks for minutes
_FS_IOC_GETFLAGS, _FS_IOC_SETFLAGS, _IMMUTABLE = 0x80086601, 0x40086602, 0x10

# Files read-only tools may also be pointed at: devices, /proc files, odd absolute paths.
_SYSTEM_READS = (
    "/dev/null",
    "/dev/zero",
    "/dev/urandom",
    "/dev/tty",
    "/dev/stdin",
    "/proc/self/status",
    "/proc/self/mem",
    "/proc/self/fd",
    "/nonexistent/really/not",
)
_FIXTURE_NAMES = (
    "notes.txt",
    "evil.txt",
    "bin.dat",
    "empty.txt",
    "ünïcødé name.txt",
    "sub",
    "sub/inner",
    "sub/inner/deep.txt",
    ".hidden",
    "fifo",
    "sock",
    "link",
    "dirlink",
    "broken",
    "locked",
    "locked/secret.txt",
    "readonly.txt",
    "frozen",
    "frozen/inside.txt",
    "many",
)
_ODD_TEXT = (
    "",
    " ",
    "\t\n",
    "\x00",
    "a\x00b",
    "\ud800",
    "\udcff",
    "x\udc80y",
    "\u202e",
    "\ufeff",
    "😀",
    "*",
    "?",
    "[",
    "[!]",
    "**/*",
    "\\",
    "%s%n",
    "-rf",
    "--help",
    "$(id)",
    "`id`",
    "'",
    '"',
    "\x1b[31m",
    "a" * 256,
    "b" * 300,
    "é" * 200,
    "c/" * 2100,
)
_EVIL_PATTERNS = (
    "(a+)+$",
    "(a|aa)+$",
    "(a|a?)+$",
    "^(a*)*$",
    "(x+x+)+y",
    "(.*a){20}",
    "([a-z]+)*!x",
    "(?:a?){30}a{30}",
)
_BAD_PATTERNS = ("(", ")", "[", "*", "+?+", "(?P<x>", "\\", "(?<=a+)b", "a{99999999999}", "\x00")
_SIZES = (
    "10MB",
    "1.5 GiB",
    "500k",
    "0",
    "2048",
    "-1",
    "1e400",
    "9" * 400,
    "9" * 400 + "PB",
    "1" + "0" * 30 + "PB",
    ".5",
    "10 XB",
    "nan",
    "inf",
    "",
    " ",
    "MB",
    "1.7976931348623157e308",
)
_AGES = (
    "7d",
    "24h",
    "yesterday",
    "today",
    "last week",
    "2 weeks",
    "9" * 30 + "y",
    "9" * 400 + "d",
    "1e308d",
    "-5d",
    "0d",
    "9999-12-31",
    "0001-01-01",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "10000-01-01",
    "2024-13-45",
    "99999999999999 years",
    "now",
    "",
    "a",
)
_COMMANDS = (
    "true",
    "false",
    "echo hi",
    "printf '%s' x",
    "ls -la",
    "cat notes.txt",
    "cat fifo",
    "sleep 0.2",
    "sleep 30",
    "exit 3",
    "kill -9 $$",
    "yes | head -c 300000",
    "head -c 200000 /dev/zero",
    "echo x > out.txt",
    "echo x > /etc/llmos-fuzz",
    "rm -f notes.txt",
    "sleep 30 & echo $!",
    "echo $((1/0))",
    "cd /nonexistent",
    "exec 1>&-; echo gone",
    "printf '\\xff\\xfe\\x00bin'",
)
_BIG_INTS = (0, -1, -(2**31), 2**31, 2**63, 2**64, -(2**63) - 1, 10**11, 10**18, 10**30, 10**400)


# --- the playground ---------------------------------------------------------------------------


class Playground:
    """One temporary folder holding HOME, llmos's dirs and the fixture the cases run in."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        self.case = root / "case"
        self.victim: subprocess.Popen[bytes] | None = None
        self._sleep = shutil.which("sleep")

    def environment(self) -> dict[str, str]:
        """The variables that keep every llmos and XDG folder inside the playground."""
        home = str(self.home)
        return {
            "HOME": home,
            "XDG_CONFIG_HOME": f"{home}/.config",
            "XDG_DATA_HOME": f"{home}/.local/share",
            "XDG_STATE_HOME": f"{home}/.local/state",
            "XDG_CACHE_HOME": f"{home}/.cache",
            "LLMOS_CONFIG_DIR": str(self.root / "llmos" / "config"),
            "LLMOS_DATA_DIR": str(self.root / "llmos" / "data"),
            "LLMOS_STATE_DIR": str(self.root / "llmos" / "state"),
            "LLMOS_CACHE_DIR": str(self.root / "llmos" / "cache"),
            "TMPDIR": str(self.root / "tmp"),
        }

    def reset(self) -> None:
        """A fresh fixture (and an empty trash) for the next case; the cwd moves into it."""
        os.chdir(self.root)
        for folder in (self.case, self.home):
            if os.path.lexists(folder):
                remove_tree(folder)
        self.home.mkdir()
        (self.root / "tmp").mkdir(exist_ok=True)
        case = self.case
        case.mkdir()
        (case / "notes.txt").write_text("hello\nTODO: call mom\n" + "word " * 50 + "\n")
        (case / "evil.txt").write_text(_EVIL_LINE + "\n")
        (case / "bin.dat").write_bytes(bytes(range(256)) * 8)
        (case / "empty.txt").write_bytes(b"")
        (case / "ünïcødé name.txt").write_text("ünï\n")
        (case / "sub" / "inner").mkdir(parents=True)
        (case / "sub" / "inner" / "deep.txt").write_text("deep\n")
        (case / ".hidden").write_text("secret-ish\n")
        (case / "many").mkdir()
        for number in range(30):
            (case / "many" / f"f{number:02d}.log").write_text(f"line {number}\n" * number)
        os.mkfifo(case / "fifo")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(case / "sock"))
        listener.close()  # the socket file stays; nothing listens
        os.symlink("notes.txt", case / "link")
        os.symlink("sub", case / "dirlink")
        os.symlink("missing", case / "broken")
        (case / "locked").mkdir()
        (case / "locked" / "secret.txt").write_text("no\n")
        os.chmod(case / "locked", 0)
        (case / "readonly.txt").write_text("ro\n")
        os.chmod(case / "readonly.txt", 0o444)
        (case / "frozen").mkdir()
        (case / "frozen" / "inside.txt").write_text("frozen\n")
        for frozen in (case / "frozen" / "inside.txt", case / "frozen"):
            _set_immutable(frozen, True)
        os.chdir(case)

    def victim_pid(self) -> int:
        """A sacrificial process with a unique name, started again whenever it was stopped."""
        if self.victim is None or self.victim.poll() is not None:
            program = self.root / _VICTIM
            if not program.exists() and self._sleep:
                shutil.copy(self._sleep, program)
            self.victim = subprocess.Popen([str(program), "100000"])
        return self.victim.pid

    def close(self) -> None:
        """Stop the sacrificial process."""
        if self.victim is not None and self.victim.poll() is None:
            self.victim.kill()
            self.victim.wait()

    def confined(self, text: str) -> bool:
        """True when a path, as a tool would resolve it, stays inside the playground."""
        try:
            os.fsencode(text)
        except UnicodeEncodeError:
            return True  # it names nothing; the tool must say so
        if "\x00" in text:
            return True
        expanded = os.path.expanduser(text.strip())
        if expanded.startswith("~"):
            return False  # ~user: someone else's home
        full = os.path.normpath(os.path.join(str(self.case), expanded))
        return full == str(self.root) or full.startswith(str(self.root) + os.sep)


def _set_immutable(path: Path, on: bool) -> bool:
    """Set or clear the immutable flag (chattr +i), where the file system and user allow it."""
    import fcntl
    import struct

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        flags = struct.unpack("l", fcntl.ioctl(fd, _FS_IOC_GETFLAGS, struct.pack("l", 0)))[0]
        flags = flags | _IMMUTABLE if on else flags & ~_IMMUTABLE
        fcntl.ioctl(fd, _FS_IOC_SETFLAGS, struct.pack("l", flags))
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def remove_tree(path: Path) -> None:
    def unlock(function: Callable[..., Any], name: str, _exc: Any) -> None:
        os.chmod(os.path.dirname(name), 0o700)
        try:
            os.chmod(name, 0o700)
        except OSError:
            pass
        function(name)

    for current, dirs, files in os.walk(path, followlinks=False):
        for name in (*dirs, *files):
            full = os.path.join(current, name)
            if not os.path.islink(full):
                _set_immutable(Path(full), False)
        for name in dirs:
            full = os.path.join(current, name)
            if not os.path.islink(full):
                os.chmod(full, 0o700)
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, onerror=unlock)
    else:
        os.unlink(path)


# --- strategies -------------------------------------------------------------------------------


def _component() -> st.SearchStrategy[str]:
    plain = st.text(
        st.characters(blacklist_characters="/", blacklist_categories=("Cs",)),
        min_size=1,
        max_size=12,
    ).filter(lambda part: part not in (".", ".."))
    return st.one_of(
        st.sampled_from(_FIXTURE_NAMES),
        plain,
        st.sampled_from([".", "a" * 255, "b" * 256, "é" * 128, "x\x00y", "\ud800", "\udcff", " "]),
    )


def path_strategy(playground: Playground, read_only: bool) -> st.SearchStrategy[str]:
    """Paths inside the playground, written every way a model might write them."""
    case = str(playground.case)
    joined = st.lists(_component(), min_size=1, max_size=4).map("/".join)
    prefixed = st.tuples(st.sampled_from(["", "./", "~/", f"{case}/", "~/../case/"]), joined).map(
        "".join
    )
    odd = st.sampled_from(
        ["", " ", ".", "./", "~", "~/", case, f"{case}/", f" {case}/notes.txt ", "sub/", "x" * 5000]
    )
    choices = [st.sampled_from(_FIXTURE_NAMES), prefixed, odd, st.sampled_from(_ODD_TEXT)]
    if read_only:
        choices.append(st.sampled_from(_SYSTEM_READS))
    return st.one_of(*choices).filter(
        lambda text: (read_only and text in _SYSTEM_READS) or playground.confined(text)
    )


def _text() -> st.SearchStrategy[str]:
    return st.one_of(st.text(max_size=40), st.sampled_from(_ODD_TEXT))


def _integer() -> st.SearchStrategy[int]:
    return st.one_of(st.integers(-3, 120), st.sampled_from(_BIG_INTS))


def _float() -> st.SearchStrategy[float]:
    return st.one_of(
        st.floats(min_value=0.01, max_value=2.0),
        st.sampled_from([0.0, -1.0, 1e-300, 3600.0, 3601.0, 1e300, float("inf"), float("nan")]),
    )


def _wrong_type() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        _integer(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.lists(st.integers(), max_size=3),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
        _text(),
    )


def _harmless_wrong_type() -> st.SearchStrategy[Any]:
    """Wrong types that cannot turn into a pid: no numbers, booleans or text ("57", 57.0)."""
    return st.one_of(
        st.none(),
        st.lists(st.integers(), max_size=3),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    )


def _value_strategy(
    tool: Tool, name: str, spec: dict[str, Any], playground: Playground
) -> st.SearchStrategy[Any]:
    """Values for one argument, from its schema type and what its name says it holds."""
    types = {spec["type"]} if "type" in spec else {o.get("type") for o in spec.get("anyOf", [])}
    read_only = tool.risk.value == "read-only"
    options: list[st.SearchStrategy[Any]] = []
    if "enum" in spec:
        options.append(st.sampled_from(spec["enum"]))
    elif name in PATH_ARGS:
        options.append(path_strategy(playground, read_only=read_only))
    elif name in SIZE_ARGS:
        options.append(st.one_of(st.sampled_from(_SIZES), _text()))
    elif name in AGE_ARGS:
        options.append(st.one_of(st.sampled_from(_AGES), _text()))
    elif name == "pattern":
        options.append(
            st.one_of(st.sampled_from(_EVIL_PATTERNS), st.sampled_from(_BAD_PATTERNS), _text())
        )
    elif name == "command":
        fragments = st.one_of(st.sampled_from(_COMMANDS), _text())
        options.append(st.lists(fragments, min_size=1, max_size=3).map("; ".join))
    elif name == "content":
        options.append(
            st.one_of(_text(), st.text(max_size=2000), st.sampled_from(["x" * 200_000, "\ud800x"]))
        )
    elif name == "pid":
        options.append(
            st.one_of(
                st.sampled_from([0, -1, 2**31, 2**63, 10**30, 4_194_305, 2**31 - 1]),
                st.integers(4_194_305, 2**31 - 1),  # past the largest pid Linux hands out
                st.just(-2).map(lambda _: os.getpid()),
                st.just(-3).map(lambda _: playground.victim_pid()),
            )
        )
    elif name == "name" and tool.name == "kill_process":
        options.append(st.one_of(st.just(_VICTIM), _text().map(lambda t: f"llmosfuzz{t}")))
    if "string" in types and not options:
        options.append(_text())
    if "integer" in types and not options:
        options.append(_integer())
    if "number" in types and not options:
        options.append(st.one_of(_float(), _integer()))
    if "boolean" in types and not options:
        options.append(st.booleans())
    if "null" in types:
        options.append(st.none())
    if not options:
        options.append(_wrong_type())
    chosen = st.one_of(*options)
    # now and then a value of the wrong type, which validation must turn away; never one
    # that could name a real process to kill_process
    wrong = _harmless_wrong_type() if tool.name == "kill_process" else _wrong_type()
    return st.integers(0, 19).flatmap(lambda n: wrong if n == 0 else chosen)


def arguments_strategy(tool: Tool, playground: Playground) -> st.SearchStrategy[dict[str, Any]]:
    """Arguments for one tool: each property present or not, now and then an unknown key."""
    schema = tool.parameters_schema()
    properties: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    drawn = {
        name: _value_strategy(tool, name, spec, playground) for name, spec in properties.items()
    }

    @st.composite
    def build(draw: Any) -> dict[str, Any]:
        arguments: dict[str, Any] = {}
        for name, values in drawn.items():
            keep = True if name in required and draw(st.integers(0, 19)) else draw(st.booleans())
            if keep:
                arguments[name] = draw(values)
        if draw(st.integers(0, 29)) == 0:
            extra = draw(st.sampled_from(["extra", "", "\x00", "path2"]))
            arguments[extra] = draw(_harmless_wrong_type())
        return arguments

    return build()


def case_strategy(
    tools: list[Tool], playground: Playground
) -> st.SearchStrategy[tuple[Tool, dict[str, Any]]]:
    """A tool and arguments for it."""
    per_tool = {item.name: arguments_strategy(item, playground) for item in tools}
    return st.sampled_from(tools).flatmap(
        lambda item: per_tool[item.name].map(lambda arguments: (item, arguments))
    )
