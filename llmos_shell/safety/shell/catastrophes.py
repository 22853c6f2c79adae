"""The few things no plan should ever do: wipe the system, a home folder, the working tree, a disk.

`critical_dir` is the one rule for which folders count, used by the shell reader here and by
the policy for every other tool's path arguments. Pure: no I/O, nothing from the environment.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence

from llmos_shell.safety.shell.words import (
    DISK_RE,
    Word,
    long_options,
    positionals,
    short_letters,
    word_set,
)

_CRITICAL_DIRS = word_set(
    "/ ~ /home /etc /usr /bin /sbin /boot /var /lib /lib32 /lib64 /opt /root /dev /sys /proc "
    "/srv /Users /System /Library /Applications /usr/local /usr/bin /usr/lib /var/lib"
)
_HOME = "/home/\0you"  # stands for `~` while normalising `~/..` and `$HOME/.`
_HOME_RE = re.compile(r"^(\$HOME|\$\{HOME(:?[-?=+][^}]*)?\}|~)(?=/|$)")
_TILDE_USER_RE = re.compile(r"^~[A-Za-z_][\w.-]*(?=/|$)")
_OTHER_HOME_RE = re.compile(r"^/(home|Users)/[^/\0]+$")
_EVERYTHING_RE = re.compile(r"(\./)?(\*|\?|\[!?\]?[^]]*\])+")
_WORKING_TREE = word_set("$PWD ${PWD} $(pwd) `pwd` $(pwd -P) $(pwd -L)")


def critical_dir(text: str, working_tree: bool = True) -> str | None:
    """The folder a path stands for when losing it is a catastrophe, or None.

    `~`, `/`, system folders and other people's home folders count; with `working_tree`, so do
    the working folder (`.`, `$PWD`) and the folder above it (`..`). `/*` counts as the folder.
    """
    path = text.strip()
    if not path:
        return None
    path = re.sub(r"/+", "/", path)
    if ".." in path and not path.startswith(("/", "~", "$", "`")):
        path = posixpath.normpath(path)  # `Documents/../*` is `*`
    path = path.rstrip("/") or "/"
    path = re.sub(r"(/\.?\*)+$", "", path) or "/"  # `/*` is the folder
    if _EVERYTHING_RE.fullmatch(path):
        path = "."  # a glob of nothing but wildcards (`*`, `?*`) takes the whole folder
    if working_tree:
        bare = path.rstrip("/") or path
        if bare == "." or bare in _WORKING_TREE:
            return "."
        if bare == ".." or re.fullmatch(r"(\.\./?)+|\.\./\.\.?", bare):
            return ".."
    path = _HOME_RE.sub("~", path)
    if _TILDE_USER_RE.match(path):  # `~alex`: someone's home folder
        path = "/home/" + path[1:]
    if path == "~" or path.startswith("~/"):
        path = _HOME + path[1:]
    if path.startswith("/"):
        path = posixpath.normpath(path)
    if path == _HOME:
        return "~"
    if _OTHER_HOME_RE.match(path) or path == "/root":
        return path
    return path if path in _CRITICAL_DIRS else None


def describe_dir(path: str) -> str:
    """The folder `critical_dir` found, in words."""
    if path == "/":
        return "everything on the machine"
    if path == "~":
        return "your whole home folder"
    if path == ".":
        return "the whole working folder"
    if path == "..":
        return "the folder that holds the working folder"
    if _OTHER_HOME_RE.match(path) or path == "/root":
        return f"the home folder {path}"
    return f"the system folder {path}"


# find tests that narrow what is selected; without one, `find DIR -delete` takes everything
_FIND_FILTERS = re.compile(
    r"^-(i?name|i?path|i?wholename|i?regex|size|[amc](time|min)|newer\w*|[ac]newer|user|group|"
    r"uid|gid|nouser|nogroup|perm|links|inum|samefile|empty|i?lname|fstype|used|context)$"
)


def in_folder(critical: str | None, folder: str | None) -> str | None:
    """What a critical folder found relative to `.` stands for where the command runs.

    `folder` is what `.` is there: `.` for the working tree, a critical folder (`~`, `/`) the
    command runs in or went to with `cd`, or None for a folder whose loss is no catastrophe.
    """
    if critical == ".":
        return folder
    if critical == ".." and folder is None:
        return "."  # the folder above a subfolder may be the working tree itself
    return critical


_BRACES_RE = re.compile(r"\{([^{}]*,[^{}]*)\}")
_LISTING_RE = re.compile(r"^(?:\$\(|`)\s*(ls|find)((?:\s+-[-\w]+)*)\s*(?:\.|\./)?\s*(?:\)|`)$")
_VARIABLE_RE = re.compile(r"^\$\{?([A-Za-z_]\w*)\}?$")


def spelled_out(args: Sequence[Word], loops: dict[str, list[str]]) -> list[Word]:
    """The arguments with what bash makes of them before a program sees them: brace
    alternatives (`~/{*,.*}`), a listing of the folder (`$(ls)`, as `*`), and the words a
    `for` loop's variable takes (`for f in *; do rm -rf "$f"`)."""
    out: list[Word] = []
    for arg in args:
        text = arg.text
        variable = _VARIABLE_RE.match(text) if arg.dynamic else None
        if variable is not None and variable.group(1) in loops:
            out += [Word(value) for value in loops[variable.group(1)]]
        elif arg.dynamic and _LISTING_RE.match(text):
            out.append(Word("*", dynamic=True))
        elif _BRACES_RE.search(text):
            out += [Word(alt, arg.dynamic) for alt in _alternatives(text)]
        else:
            out.append(arg)
    return out


def _alternatives(text: str, depth: int = 0) -> list[str]:
    match = _BRACES_RE.search(text)
    if match is None or depth > 2:
        return [text]
    found: list[str] = []
    for part in match.group(1).split(",")[:16]:
        found += _alternatives(text[: match.start()] + part + text[match.end() :], depth + 1)
    return found


def lists_whole_folder(prog: str, args: Sequence[Word]) -> bool:
    """True for a command that prints every name in its folder (`ls`, `ls -A`, `find .`)."""
    if prog == "ls":
        return not positionals(args) or all(p.text in (".", "./") for p in positionals(args))
    if prog == "find":
        starts = _find_starts(args)
        return all(s.text in (".", "./") for s in starts) and not any(
            _FIND_FILTERS.match(a.text) for a in args
        )
    return False


def catastrophic_command(prog: str, args: Sequence[Word], folder: str | None = ".") -> str | None:
    """Why running `prog args` wipes the system, a home folder, the working tree or a disk.

    `folder` is what `.` stands for (see `in_folder`): the working tree by default.
    """
    letters = short_letters(args)
    longs = long_options(args)
    recursive = bool(set(letters) & {"r", "R"}) or "--recursive" in longs
    targets = positionals(args)
    if prog in ("rm", "srm") and recursive:
        for target in targets:
            critical = in_folder(critical_dir(target.text), folder)
            if critical:
                return f"{prog} -r {target.text} deletes {describe_dir(critical)}"
    elif prog in ("rm", "srm", "shred", "unlink", "truncate") and folder not in (".", None):
        for target in targets:  # `rm -f *` in the home folder: every file in it goes
            if critical_dir(target.text) == ".":
                verb = "empties" if prog == "truncate" else "deletes"
                return f"{prog} {target.text} there {verb} every file of {describe_dir(folder)}"
    if prog == "find":
        reason = _find_deletes(args, folder)
        if reason:
            return reason
    if prog in ("chmod", "chown", "chgrp") and recursive:
        locks_out = prog == "chmod" and bool(targets) and removes_access(targets[0].text)
        for target in targets[1:]:
            critical = critical_dir(target.text, working_tree=False)
            if critical and (critical != "~" or locks_out):
                return f"{prog} -R on {target.text} breaks {describe_dir(critical)}"
    if prog == "mv":
        moved = targets if "t" in letters or "--target-directory" in longs else targets[:-1]
        for source in moved:
            critical = in_folder(critical_dir(source.text), folder)
            if critical:
                return f"mv {source.text} moves away {describe_dir(critical)}"
    if prog == "rsync" and any(o.startswith(("--delete", "--del")) for o in longs) and targets:
        critical = in_folder(critical_dir(targets[-1].text), folder)
        if critical:
            return (
                f"rsync --delete into {targets[-1].text} deletes whatever in "
                f"{describe_dir(critical)} the source lacks"
            )
    return _disk_catastrophe(prog, args, targets)


def removes_access(mode: str) -> bool:
    """True when a chmod mode takes read, write or entry away from the owner (`000`, `u-w`)."""
    if re.fullmatch(r"[0-7]{1,4}", mode):
        return int(mode[-3] if len(mode) >= 3 else "0", 8) != 7
    for clause in mode.split(","):
        match = re.fullmatch(r"([ugoa]*)([-+=])([rwxXstugo]*)", clause)
        if match is None:
            return True  # not understood: assume the worst
        who, op, perms = match.groups()
        owner = not who or "u" in who or "a" in who
        if owner and op == "-" and set(perms) & set("rwxX"):
            return True
        if owner and op == "=" and not ({"r", "w"} <= set(perms) and set(perms) & set("xX")):
            return True
    return False


def _disk_catastrophe(prog: str, args: Sequence[Word], targets: list[Word]) -> str | None:
    erases = (
        prog != "wipefs"
        or bool({"a", "o"} & set(short_letters(args)))
        or bool({"--all", "--offset"} & {o.split("=", 1)[0] for o in long_options(args)})
    )
    if erases and (
        prog.startswith("mkfs") or prog in ("mke2fs", "mkswap", "wipefs", "shred", "blkdiscard")
    ):
        for target in targets:
            if DISK_RE.match(target.text):
                return f"{prog} erases the disk {target.text}"
    if prog == "dd":
        for arg in args:
            if arg.text.startswith("of=") and DISK_RE.match(arg.text[3:]):
                return f"dd overwrites the disk {arg.text[3:]}"
    if prog == "tee" or (prog in ("cp", "mv", "install") and len(targets) >= 2):
        for target in targets if prog == "tee" else targets[-1:]:
            if DISK_RE.match(target.text):
                return f"{prog} writes over the disk {target.text}"
    if prog == "kill":
        pids = args[1:] if args and args[0].text.startswith("-") else args
        if any(a.text == "-1" for a in pids):
            return "kill -1 stops every process you can reach"
    return None


def _find_deletes(args: Sequence[Word], folder: str | None) -> str | None:
    texts = [a.text for a in args]
    deletes = "-delete" in texts or any(
        t in ("-exec", "-execdir") and i + 1 < len(texts) and texts[i + 1] in ("rm", "shred")
        for i, t in enumerate(texts)
    )
    if not deletes:
        return None
    filtered = any(
        _FIND_FILTERS.match(t) and (i + 1 >= len(texts) or texts[i + 1] not in ("*", "*.*"))
        for i, t in enumerate(texts)
    )
    starts = _find_starts(args)
    for start in starts or [Word(".")]:  # no path: find starts at `.`
        critical = in_folder(critical_dir(start.text), folder)
        if critical is None or (filtered and not critical.startswith("/")):
            continue  # `find ~ -name '*.pyc' -delete` picks files; `find / -name x -delete` no
        if filtered and _OTHER_HOME_RE.match(critical):
            continue
        shown = f"find {start.text}" if starts else "find"
        return f"{shown} with delete removes {describe_dir(critical)}"
    return None


def _find_starts(args: Sequence[Word]) -> list[Word]:
    starts: list[Word] = []
    for arg in args:
        if arg.text in ("-H", "-L", "-P") and not starts:
            continue
        if arg.text.startswith(("-", "(", "!")) or arg.text == "(":
            break
        starts.append(arg)
    return starts
