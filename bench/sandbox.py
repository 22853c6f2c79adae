"""Run bash commands in a throw-away fixture home under bubblewrap, and judge two commands alike.

Each run gets a fresh copy of one fixture tree (`fixture_items`), bound writable at
/home/user (the cwd and $HOME), and an empty writable /tmp; /usr, /etc and /var are
read-only, the rest of the host is hidden, there is no network, and the run is killed after
a time limit or past an output cap. Commands are never run outside bwrap.

The judge (`Judge.compare`) calls a candidate equivalent to a reference when all hold:
- success agrees: both exit 0, or both exit non-zero; a candidate that times out or
  overflows the output cap is never equivalent;
- stdout agrees after `normalize_output`: per line, `/home/user` alone becomes `.`, a
  `./` or `/home/user/` at the start of a word is dropped (so `./a`, `a` and
  `/home/user/a` are one path), trailing white space is stripped, and trailing blank
  lines go; spacing inside a line counts (`column -t` must line up); stderr is not
  compared;
- lines are compared as a sorted list when the reference's order is not meaningful: it
  runs find, du, locate, grep -r, ls -U/-f or xargs -P with no sort after it
  (`order_free`), or its two runs printed the same lines in different orders;
- the files agree (`snapshot` of ~ and /tmp): the same relative paths and types, sizes,
  sha256 of contents, permission bits and symlink targets, and each file's mtime in the
  same class: unchanged from the fixture, set during the run, or the same second;
  atime and directory mtimes are ignored (entries already show what changed).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import selectors
import shutil
import signal
import stat
import subprocess
import tarfile
import tempfile
import time
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from llmos_shell.safety.shell import analyse

HOME = "/home/user"
INSTALL_HINT = (
    "bubblewrap is not installed, and model-written commands are never run without it; "
    "install it with `apt-get install -y bubblewrap` (Debian/Ubuntu) or `dnf install bubblewrap`"
)
# Read-only system dirs seen inside; the rest of the host (/root, /work, /home) stays hidden.
_SYSTEM_DIRS = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "var")
SANDBOX_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# 32 MiB files, 4 GiB address space: a runaway command fills neither the disk nor the RAM.
_WRAPPER = 'umask 022; ulimit -f 32768; ulimit -v 4194304; exec /bin/bash -c "$0"'
_DAY = 86400


class SandboxUnavailableError(RuntimeError):
    """bubblewrap is missing or cannot start a sandbox here."""


def bwrap_path() -> str | None:
    """The bwrap executable, or None when it is not installed."""
    return shutil.which("bwrap")


# --- the fixture --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Item:
    path: str
    data: bytes | None = None  # None: a directory
    mode: int = 0o644
    age_s: int = 3 * 3600
    link: str | None = None


def _log_lines(count: int) -> bytes:
    levels = ("INFO", "INFO", "WARNING", "INFO", "ERROR", "DEBUG")
    lines = []
    for i in range(count):
        level = levels[i % len(levels)]
        lines.append(
            f"2024-03-{1 + i // 100:02d} 10:{i % 60:02d}:{(i * 7) % 60:02d} {level} "
            f"[worker-{i % 4}] request from 192.168.1.{10 + i % 23} took {(i * 37) % 900} ms"
        )
    return ("\n".join(lines) + "\n").encode()


def _access_log(count: int) -> bytes:
    paths = ("/index.html", "/about", "/api/users", "/login", "/static/app.js")
    codes = (200, 200, 404, 200, 500, 301, 200)
    lines = [
        f'10.0.0.{1 + (i * 3) % 17} - - [01/Mar/2024:12:{i % 60:02d}:00 +0000] "GET '
        f'{paths[i % len(paths)]} HTTP/1.1" {codes[i % len(codes)]} {100 + (i * 91) % 5000}'
        for i in range(count)
    ]
    return ("\n".join(lines) + "\n").encode()


def _binary(size: int, magic: bytes = b"") -> bytes:
    """Deterministic bytes of a given size that no text tool mistakes for lines of words."""
    body = bytes((i * 131 + 7) % 256 for i in range(4096))
    out = magic + body * (size // len(body) + 1)
    return out[:size]


def _tar_gz(members: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 1700000000, 0o644
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def _zip(members: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name, (2024, 1, 2, 3, 4, 6)), data)
    return raw.getvalue()


def _text(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def fixture_items() -> tuple[_Item, ...]:
    """The fixture home: a small realistic home and project tree with known contents."""
    h, m, d = 3600, 60, _DAY
    c_main = _text(
        "#include <stdio.h>",
        '#include "util.h"',
        "",
        "int main(void) {",
        '    printf("hello, world\\n");',
        "    return add(2, 3) == 5 ? 0 : 1;",
        "}",
    )
    return (
        # top level
        _Item(
            "notes.txt",
            _text(
                "Meeting notes for Monday",
                "hello world",
                "TODO: call the bank",
                "the quick brown fox jumps over the lazy dog",
                "error: disk almost full",
                "Hello World",
                "apple",
                "banana",
                "apple",
                "cherry",
                "foo bar baz",
                "42",
                "7",
                "100",
                "",
                "last line",
            ),
            age_s=2 * d + h,
        ),
        _Item("todo.txt", _text("buy milk", "TODO fix the bike", "call mom"), age_s=10 * m),
        _Item("file.txt", _text("foo", "bar", "baz", "foo", "hello"), age_s=4 * d),
        _Item("file1.txt", _text("apple", "banana", "cherry", "date"), age_s=6 * d),
        _Item("file2.txt", _text("apple", "blueberry", "cherry", "elderberry"), age_s=6 * d),
        _Item(
            "test.txt",
            _text("This is a test file.", "It has three lines.", "test test test"),
            age_s=20 * d,
        ),
        _Item(
            "input.txt",
            _text("3 cherry 7", "1 apple 5", "2 banana 9", "1 apple 5", "10 fig 2"),
            age_s=9 * d,
        ),
        _Item(
            "data.txt",
            _text("name\tage\tcity", "alice\t30\tParis", "bob\t25\tBerlin", "carol\t35\tLondon"),
            age_s=15 * d,
        ),
        _Item("numbers.txt", _text("5", "3", "10", "1", "3", "8"), age_s=3 * d),
        _Item(
            "words.txt",
            _text("zebra", "Apple", "mango", "apple", "kiwi", "mango", "Banana", "kiwi", "kiwi"),
            age_s=45 * d,
        ),
        _Item(
            "contacts.txt",
            _text(
                "Alice Smith, alice@example.com, 555-1234",
                "Bob Jones, bob@example.org, 555-9876",
                "Carol White, carol@example.com, 555-5555",
            ),
            age_s=100 * d,
        ),
        _Item("my notes.txt", _text("notes with a space in the name"), age_s=5 * d),
        _Item("empty.txt", b"", age_s=30 * d),
        _Item("readonly.txt", _text("do not edit"), mode=0o444, age_s=50 * d),
        _Item("private.txt", _text("my secret plans"), mode=0o600, age_s=8 * d),
        _Item("world.txt", _text("everyone may write here"), mode=0o666, age_s=8 * d),
        _Item("shared.sh", _text("#!/bin/bash", "echo shared"), mode=0o777, age_s=12 * d),
        _Item("script.sh", _text("#!/bin/bash", 'echo "Hello from script"'), mode=0o755),
        _Item("hello.py", _text("#!/usr/bin/env python3", 'print("hello")'), age_s=7 * d),
        _Item("link_to_notes.txt", link="notes.txt"),
        _Item(".bashrc", _text("export EDITOR=vim", "alias ll='ls -l'"), age_s=365 * d),
        _Item(".profile", _text('PATH="$HOME/bin:$PATH"'), age_s=365 * d),
        _Item(".bash_history", _text("ls -la", "cd project", "make", "git status"), age_s=h),
        _Item(".hidden_note.txt", _text("this file is hidden"), age_s=25 * d),
        _Item(".config"),
        _Item(".config/app"),
        _Item(".config/app/settings.ini", _text("[main]", "theme=dark", "port=8080")),
        _Item(".cache"),
        # Documents
        _Item("Documents"),
        _Item(
            "Documents/report.txt",
            _text("Quarterly report", "Revenue grew by 10%", "error rate fell"),
            age_s=12 * d,
        ),
        _Item("Documents/letter.doc", _text("Dear Sir or Madam,", "Regards"), age_s=35 * d),
        _Item(
            "Documents/budget.csv",
            _text("item,cost", "rent,1200", "food,400", "travel,250", "books,60"),
            age_s=8 * d,
        ),
        _Item("Documents/resume.pdf", _binary(24000, b"%PDF-1.4\n"), age_s=70 * d),
        _Item("Documents/draft.txt", b"", age_s=2 * h),
        _Item("Documents/Project Plan.txt", _text("phase 1", "phase 2"), age_s=18 * d),
        _Item("Documents/old"),
        _Item("Documents/old/2019-report.txt", _text("Old report from 2019"), age_s=800 * d),
        # Downloads
        _Item("Downloads"),
        _Item("Downloads/photo1.jpg", _binary(35000, b"\xff\xd8\xff\xe0"), age_s=3 * d),
        _Item("Downloads/photo2.JPG", _binary(52000, b"\xff\xd8\xff\xe0"), age_s=4 * d),
        _Item("Downloads/image.png", _binary(12000, b"\x89PNG\r\n\x1a\n"), age_s=11 * d),
        _Item("Downloads/big.iso", _binary(2_200_000), age_s=60 * d),
        _Item(
            "Downloads/setup.tar.gz",
            _tar_gz({"setup/install.sh": _text("echo install"), "setup/README": _text("read")}),
            age_s=14 * d,
        ),
        _Item(
            "Downloads/archive.zip",
            _zip({"docs/a.txt": _text("a"), "docs/b.txt": _text("b")}),
            age_s=16 * d,
        ),
        _Item("Downloads/song.mp3", _binary(150000, b"ID3"), age_s=20 * d),
        _Item("Downloads/new folder", age_s=3 * d),
        # Pictures, Music, Videos
        _Item("Pictures"),
        _Item("Pictures/cat.jpg", _binary(8000, b"\xff\xd8\xff\xe0"), age_s=200 * d),
        _Item("Pictures/logo.gif", _binary(3000, b"GIF89a"), age_s=220 * d),
        _Item("Pictures/vacation"),
        _Item("Pictures/vacation/beach.jpg", _binary(64000, b"\xff\xd8\xff\xe0"), age_s=400 * d),
        _Item("Pictures/vacation/sunset.jpg", _binary(41000, b"\xff\xd8\xff\xe0"), age_s=400 * d),
        _Item("Music"),
        _Item("Music/track01.mp3", _binary(90000, b"ID3"), age_s=500 * d),
        _Item("Music/track02.mp3", _binary(110000, b"ID3"), age_s=500 * d),
        _Item("Music/playlist.m3u", _text("track01.mp3", "track02.mp3"), age_s=480 * d),
        _Item("Videos"),
        _Item("Videos/movie.mp4", _binary(1_200_000, b"\x00\x00\x00\x18ftypmp42"), age_s=100 * d),
        _Item("Videos/clip.avi", _binary(30000, b"RIFF"), age_s=90 * d),
        # a software project
        _Item("project"),
        _Item("project/README.md", _text("# Project", "", "Build with `make`."), age_s=30 * d),
        _Item(
            "project/Makefile",
            _text("all: main", "", "main: main.c util.c", "\tcc -o main main.c util.c"),
            age_s=30 * d,
        ),
        _Item("project/main.c", c_main, age_s=6 * h),
        _Item(
            "project/util.c", _text('#include "util.h"', "int add(int a, int b) { return a + b; }")
        ),
        _Item("project/util.h", _text("int add(int a, int b);"), age_s=29 * d),
        _Item(
            "project/app.py",
            _text("import sys", "", "", "def main():", '    print("app")', "", "", "main()"),
            age_s=45 * m,
        ),
        _Item(
            "project/test_app.py",
            _text("import app", "", "", "def test_main():", "    assert True"),
            age_s=2 * d,
        ),
        _Item("project/requirements.txt", _text("requests==2.31.0", "flask==3.0.0"), age_s=40 * d),
        _Item("project/build.sh", _text("#!/bin/bash", "make all"), mode=0o755, age_s=30 * d),
        _Item("project/Main.java", _text("public class Main {", "}"), age_s=33 * d),
        _Item("project/index.php", _text("<?php echo 'hi'; ?>"), age_s=33 * d),
        _Item(
            "project/index.html",
            _text("<html>", "<head><title>Home</title></head>", "<body>hello</body>", "</html>"),
            age_s=9 * d,
        ),
        _Item("project/style.css", _text("body { color: black; }"), age_s=9 * d),
        _Item("project/app.js", _text("console.log('hello');"), age_s=9 * d),
        _Item("project/config.xml", _text("<config>", "  <port>8080</port>", "</config>")),
        _Item("project/old.bak", _text("backup copy"), age_s=70 * d),
        _Item("project/notes.txt~", _text("editor backup"), age_s=70 * d),
        _Item("project/cache.tmp", _text("temporary"), age_s=2 * h),
        _Item("project/.gitignore", _text("*.o", "*.tmp", "main"), age_s=30 * d),
        _Item("project/.env", _text("DEBUG=1"), age_s=30 * d),
        _Item("project/scripts"),
        _Item("project/scripts/deploy.sh", _text("#!/bin/bash", "echo deploy"), mode=0o755),
        _Item("project/scripts/cleanup.sh", _text("#!/bin/sh", "rm -f *.tmp"), mode=0o755),
        _Item("project/scripts/backup.py", _text("import shutil"), age_s=22 * d),
        _Item("project/data"),
        _Item("project/data/data.csv", _text("id,name,score", "1,ann,90", "2,ben,75", "3,cy,82")),
        _Item("project/data/empty.csv", b"", age_s=5 * d),
        _Item("project/data/records.json", _text('{"records": [1, 2, 3]}'), age_s=5 * d),
        _Item("project/tmp"),
        # logs
        _Item("logs"),
        _Item("logs/app.log", _log_lines(600), age_s=30 * m),
        _Item(
            "logs/error.log",
            _text("ERROR disk full", "ERROR timeout", "WARNING retry"),
            age_s=d + 2 * h,
        ),
        _Item("logs/access.log", _access_log(300), age_s=5 * d),
        _Item("logs/debug.log", b"", age_s=3 * d),
        _Item("logs/old"),
        _Item("logs/old/app.log.1", _log_lines(120), age_s=40 * d),
        _Item("logs/old/app.log.2.gz", gzip.compress(_log_lines(80), mtime=0), age_s=95 * d),
        # other dirs
        _Item("backup"),
        _Item("bin"),
        _Item("bin/hello.sh", _text("#!/bin/bash", "echo Hello"), mode=0o755, age_s=60 * d),
        _Item("bin/tool", _text("#!/bin/sh", "echo tool"), mode=0o755, age_s=60 * d),
    )


def build_fixture(root: Path, now: float) -> None:
    """Write the fixture tree under `root`, with mtimes fixed relative to `now`."""
    items = fixture_items()
    root.mkdir(parents=True, exist_ok=True)
    for item in items:
        path = root / item.path
        if item.link is not None:
            path.symlink_to(item.link)
        elif item.data is None:
            path.mkdir()
        else:
            path.write_bytes(item.data)
    newest: dict[Path, float] = {}
    # Deepest first, so a directory's mtime is set after its entries were written.
    for item in sorted(items, key=lambda i: -i.path.count("/")):
        path = root / item.path
        when = int(now) - item.age_s
        if item.link is not None:
            os.utime(path, (when, when), follow_symlinks=False)
        else:
            if item.data is None:
                when = int(min(newest.get(path, when), when))
            path.chmod(item.mode if item.data is not None else 0o755)
            os.utime(path, (when, when))
        parent = path.parent
        newest[parent] = max(newest.get(parent, when), when)
    os.utime(root, (newest[root], newest[root]))
    root.chmod(0o755)


# --- the state of a tree ------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One path after a run: what it is, its size, content hash, mode and how its mtime moved."""

    path: str
    kind: str  # "file", "dir", "link" or "other"
    size: int = 0
    digest: str = ""  # sha256 for files, the target for links
    mode: int = 0
    mtime: str = ""  # files: "fixture" (unchanged), "now" (set during the run), or seconds


def snapshot(
    roots: dict[str, Path],
    fixture_mtimes: dict[str, int],
    window: tuple[float, float] = (0.0, 0.0),
) -> tuple[Entry, ...]:
    """Every path under the named roots, sorted; atime and directory mtimes are left out."""
    entries: list[Entry] = []
    for label, root in roots.items():
        for path in _walk(root):
            rel = f"{label}/{path.relative_to(root).as_posix()}"
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                entries.append(Entry(rel, "link", digest=os.readlink(path)))
            elif stat.S_ISDIR(info.st_mode):
                entries.append(Entry(rel, "dir", mode=stat.S_IMODE(info.st_mode)))
            elif stat.S_ISREG(info.st_mode):
                entries.append(
                    Entry(
                        rel,
                        "file",
                        size=info.st_size,
                        digest=_sha256(path),
                        mode=stat.S_IMODE(info.st_mode),
                        mtime=_mtime_class(rel, info.st_mtime, fixture_mtimes, window),
                    )
                )
            else:
                entries.append(Entry(rel, "other", mode=stat.S_IMODE(info.st_mode)))
    return tuple(sorted(entries, key=lambda e: e.path))


def _walk(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(dirpath)
        for name in dirnames + filenames:
            yield base / name


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    except OSError:
        return "unreadable"  # a command may chmod 000 a file; as root it stays readable
    return digest.hexdigest()


def _mtime_class(
    rel: str, mtime: float, fixture_mtimes: dict[str, int], window: tuple[float, float]
) -> str:
    # Exact times differ between two runs of one command; "touched during the run" does not.
    if fixture_mtimes.get(rel) == int(mtime):
        return "fixture"
    if window[0] - 1 <= mtime <= window[1] + 1:
        return "now"
    return str(int(mtime))


def _remove_tree(path: Path) -> None:
    # A command may leave a folder without write or search permission (chmod 000).
    if not path.is_symlink():
        path.chmod(0o700)
    for dirpath, dirnames, _files in os.walk(path):
        for name in dirnames:
            full = os.path.join(dirpath, name)
            if not os.path.islink(full):
                os.chmod(full, 0o700)
    shutil.rmtree(path, ignore_errors=True)


# --- running one command ------------------------------------------------------------------


@dataclass(frozen=True)
class RunResult:
    """What one command did in a fresh fixture."""

    command: str
    exit_code: int
    stdout: str
    stderr: str
    timed_out: bool
    truncated: bool
    seconds: float
    state: tuple[Entry, ...] = field(repr=False)

    @property
    def ok(self) -> bool:
        """Finished in time, within the output cap, with exit status 0."""
        return self.exit_code == 0 and not self.timed_out and not self.truncated


class Sandbox:
    """Runs commands under bwrap, each in its own fresh copy of the fixture."""

    def __init__(
        self,
        *,
        timeout_s: float = 5.0,
        output_cap: int = 64 * 1024,
        now: float | None = None,
    ) -> None:
        bwrap = bwrap_path()
        if bwrap is None:
            raise SandboxUnavailableError(INSTALL_HINT)
        self.bwrap = bwrap
        self.timeout_s = timeout_s
        self.output_cap = output_cap
        self._root = Path(tempfile.mkdtemp(prefix="llmos-sandbox-"))
        self.template = self._root / "fixture"
        build_fixture(self.template, time.time() if now is None else now)
        (self._root / "passwd").write_text(
            "root:x:0:0:root:/root:/bin/bash\n"
            "user:x:1000:1000:user:/home/user:/bin/bash\n"
            "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
        )
        (self._root / "group").write_text("root:x:0:\nuser:x:1000:\nnogroup:x:65534:\n")
        self.fixture_mtimes = {
            f"~/{path.relative_to(self.template).as_posix()}": int(path.lstat().st_mtime)
            for path in _walk(self.template)
        }
        self.fixture_state = snapshot({"~": self.template}, self.fixture_mtimes)
        self._runs = 0
        probe = self.run("true")
        if probe.exit_code != 0:
            self.close()
            raise SandboxUnavailableError(
                f"bwrap is installed but cannot start a sandbox here ({probe.stderr.strip()}); "
                "it needs unprivileged user namespaces (Debian: sysctl "
                "kernel.unprivileged_userns_clone=1; Ubuntu 24.04: sysctl "
                "kernel.apparmor_restrict_unprivileged_userns=0)"
            )

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Remove the fixture template and any run left behind."""
        if self._root.exists():
            _remove_tree(self._root)

    def options(self, home: Path, tmp: Path) -> list[str]:
        """bwrap's options for a run with `home` and `tmp` bound writable."""
        argv = [
            "--unshare-all",  # user, pid, network, ipc, uts, cgroup namespaces
            "--uid", "1000", "--gid", "1000",
            "--hostname", "sandbox",
            "--cap-drop", "ALL",
            "--die-with-parent",
            "--new-session",
            "--clearenv",
        ]  # fmt: skip
        env = {
            "PATH": SANDBOX_PATH,
            "HOME": HOME,
            "USER": "user",
            "LOGNAME": "user",
            "SHELL": "/bin/bash",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "TZ": "UTC",
            "TERM": "dumb",
            "TMPDIR": "/tmp",
        }
        for key, value in env.items():
            argv += ["--setenv", key, value]
        for name in _SYSTEM_DIRS:
            host = Path("/") / name
            if host.is_symlink():
                argv += ["--symlink", os.readlink(host), f"/{name}"]
            elif host.is_dir():
                argv += ["--ro-bind", str(host), f"/{name}"]
        argv += [
            "--ro-bind", str(self._root / "passwd"), "/etc/passwd",
            "--ro-bind", str(self._root / "group"), "/etc/group",
            "--dev", "/dev",
            "--proc", "/proc",
            "--tmpfs", "/home",
            "--bind", str(home), HOME,
            "--bind", str(tmp), "/tmp",
            "--chdir", HOME,
        ]  # fmt: skip
        return argv

    def run(self, command: str) -> RunResult:
        """Run `command` in a fresh copy of the fixture; the copy is removed afterwards."""
        self._runs += 1
        run_dir = self._root / f"run{self._runs}"
        home, tmp = run_dir / "home", run_dir / "tmp"
        shutil.copytree(self.template, home, symlinks=True)
        os.utime(home, (self.template.stat().st_mtime,) * 2)
        tmp.mkdir()
        # The options go through a pipe: the sandbox's `ps` then shows no host paths.
        read_end, write_end = os.pipe()
        os.write(write_end, b"".join(o.encode() + b"\0" for o in self.options(home, tmp)))
        os.close(write_end)
        started = time.time()
        try:
            process = subprocess.Popen(
                [self.bwrap, "--args", str(read_end), "/bin/bash", "-c", _WRAPPER, command],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                pass_fds=(read_end,),
            )
        finally:
            os.close(read_end)
        stdout, stderr, timed_out, truncated = self._collect(process)
        ended = time.time()
        state = snapshot({"~": home, "/tmp": tmp}, self.fixture_mtimes, (started, ended))
        _remove_tree(run_dir)
        return RunResult(
            command=command,
            exit_code=process.returncode if not timed_out else -signal.SIGKILL,
            stdout=stdout.decode("utf-8", errors="replace"),
            stderr=stderr[:4096].decode("utf-8", errors="replace"),
            timed_out=timed_out,
            truncated=truncated,
            seconds=ended - started,
            state=state,
        )

    def _collect(self, process: subprocess.Popen[bytes]) -> tuple[bytes, bytes, bool, bool]:
        assert process.stdout is not None and process.stderr is not None
        deadline = time.monotonic() + self.timeout_s
        out, err = bytearray(), bytearray()
        buffers = {process.stdout.fileno(): out, process.stderr.fileno(): err}
        timed_out = truncated = False
        with selectors.DefaultSelector() as selector:
            for stream in (process.stdout, process.stderr):
                selector.register(stream, selectors.EVENT_READ)
            while selector.get_map():
                left = deadline - time.monotonic()
                if left <= 0:
                    timed_out = True
                    break
                for key, _events in selector.select(timeout=left):
                    chunk = os.read(key.fd, 65536)
                    if chunk:
                        buffers[key.fd] += chunk
                    else:
                        selector.unregister(key.fileobj)
                if len(out) > self.output_cap or len(err) > self.output_cap:
                    truncated = True
                    break
        if timed_out or truncated:
            _kill(process)
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0) + 1)
        except subprocess.TimeoutExpired:
            # The output closed but the sandbox lingers (a child kept running): stop it too.
            timed_out = True
            _kill(process)
            process.wait()
        process.stdout.close()
        process.stderr.close()
        return bytes(out[: self.output_cap]), bytes(err[: self.output_cap]), timed_out, truncated


def _kill(process: subprocess.Popen[bytes]) -> None:
    # bwrap leads its own process group; --die-with-parent takes the sandboxed processes along.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# --- judging ------------------------------------------------------------------------------

# Programs that print in directory (or scheduling) order unless the output is sorted later.
_UNORDERED_PROGRAMS = frozenset({"find", "du", "locate", "rgrep"})
_PATH_PREFIX = re.compile(r"(?:(?<=^)|(?<=[\s:='\"(,]))(?:\./|" + re.escape(HOME) + r"/)")
_HOME_WORD = re.compile(r"(?:(?<=^)|(?<=[\s:='\"(,]))" + re.escape(HOME) + r"(?=$|[\s:'\",)])")


def normalize_output(text: str) -> list[str]:
    """Output lines as compared: paths relative to the home, no trailing white space or blanks."""
    lines = []
    for line in text.splitlines():
        line = _HOME_WORD.sub(".", line)
        lines.append(_PATH_PREFIX.sub("", line).rstrip())
    while lines and not lines[-1]:
        lines.pop()
    return lines


def order_free(command: str) -> bool:
    """True when the output comes in directory or scheduling order, with no sort after it."""
    commands = analyse(command).commands
    unordered = False
    for cmd in commands:
        program = cmd.program
        letters = "".join(
            w.text[1:] for w in cmd.args if w.text.startswith("-") and not w.text.startswith("--")
        )
        longs = {w.text for w in cmd.args if w.text.startswith("--")}
        if program == "sort":
            unordered = False
        elif (
            program in _UNORDERED_PROGRAMS
            or (
                program in {"grep", "egrep", "fgrep"}
                and ("r" in letters or "R" in letters or "--recursive" in longs)
            )
            or (program == "ls" and ("U" in letters or "f" in letters))
            or (program == "xargs" and "P" in letters)
        ):
            unordered = True
    return unordered


@dataclass(frozen=True)
class Reference:
    """A reference command run twice, and how its output is to be compared."""

    command: str
    first: RunResult
    second: RunResult
    unordered: bool  # compare output as a sorted list of lines
    stable: bool  # the two runs agreed (after sorting when unordered)


@dataclass(frozen=True)
class Verdict:
    """Whether a candidate did what the reference did, and if not, the first difference."""

    equivalent: bool
    reason: str
    candidate: RunResult


class Judge:
    """Execution equivalence: same output, same file-system state, same success or failure."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def reference(self, command: str) -> Reference:
        """Run the reference twice; output whose line order moved between runs is unordered."""
        first, second = self.sandbox.run(command), self.sandbox.run(command)
        a, b = normalize_output(first.stdout), normalize_output(second.stdout)
        unordered = order_free(command) or (a != b and Counter(a) == Counter(b))
        stable = Counter(a) == Counter(b) and first.state == second.state
        return Reference(command, first, second, unordered=unordered, stable=stable)

    def compare(self, reference: Reference, command: str) -> Verdict:
        """Run `command` and compare it with the reference's first run."""
        result = self.sandbox.run(command)
        ref = reference.first
        if result.timed_out:
            return Verdict(False, "timed out", result)
        if result.truncated:
            return Verdict(False, "output over the cap", result)
        if (result.exit_code == 0) != (ref.exit_code == 0):
            return Verdict(
                False, f"exit status {result.exit_code}, reference {ref.exit_code}", result
            )
        got, want = normalize_output(result.stdout), normalize_output(ref.stdout)
        if reference.unordered:
            got, want = sorted(got), sorted(want)
        if got != want:
            return Verdict(False, "different output", result)
        if result.state != ref.state:
            changed = sorted(set(result.state) ^ set(ref.state), key=lambda e: e.path)
            return Verdict(False, f"different files: {changed[0].path}", result)
        return Verdict(True, "same output and files", result)

    def equivalent(self, reference: str, candidate: str) -> Verdict:
        """Judge `candidate` against `reference` from scratch."""
        return self.compare(self.reference(reference), candidate)
