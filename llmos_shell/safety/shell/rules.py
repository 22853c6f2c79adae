"""Rules for single programs judged by their options and operands: `find`, `sed`, `tar`...

`RULES` maps a program's name to its rule; programs without one are judged by name alone.
Pure: no I/O, nothing from the environment.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from llmos_shell.calls import Risk
from llmos_shell.safety.shell.archives import ARCHIVE_RULES
from llmos_shell.safety.shell.builtins import BUILTIN_RULES
from llmos_shell.safety.shell.catastrophes import critical_dir, removes_access
from llmos_shell.safety.shell.powers import RULES as POWER_RULES
from llmos_shell.safety.shell.powers import awk_targets, judge_writes, sed_targets
from llmos_shell.safety.shell.programs import WRITES
from llmos_shell.safety.shell.subcommands import SUBCOMMAND_RULES
from llmos_shell.safety.shell.targets import CLOBBERING, PERSISTENCE, clobbers, write_target
from llmos_shell.safety.shell.words import (
    HARMLESS_DEVICE_RE,
    JudgedCommand,
    Rule,
    Word,
    is_option,
    long_options,
    option_value,
    positionals,
    short_letters,
    word_set,
)


def _names(words: Sequence[Word], limit: int = 3) -> str:
    texts = [w.text for w in words]
    if len(texts) > limit:
        return ", ".join(texts[:limit]) + f" and {len(texts) - limit} more"
    return ", ".join(texts)


def _rule_rm(c: JudgedCommand) -> None:
    targets = [t for t in positionals(c.args) if t.text != "{}"]
    what = _names(targets) if targets else "files"
    c.find(Risk.DESTRUCTIVE, f"rm deletes {what}")


def _rule_kill(c: JudgedCommand) -> None:
    texts = [a.text for a in c.args]
    if not texts or texts[0] in ("-l", "-L", "--list", "--table", "-0"):
        return  # lists signals, or only checks that a process exists
    if texts[:2] in (["-s", "0"], ["-n", "0"]):
        return
    c.find(Risk.DESTRUCTIVE, "kill stops processes")


_FIND_TESTS = word_set("""
    -name -iname -path -ipath -wholename -iwholename -regex -iregex -type -xtype -size -mtime
    -mmin -atime -amin -ctime -cmin -newer -anewer -cnewer -user -group -uid -gid -nouser
    -nogroup -perm -links -inum -samefile -empty -readable -writable -executable -maxdepth
    -mindepth -depth -mount -xdev -follow -noleaf -ignore_readdir_race -noignore_readdir_race
    -daystart -regextype -print -print0 -printf -ls -prune -quit -true -false -not -a -and -o
    -or -lname -ilname -fstype -context -used -warn -nowarn -help -version -H -L -P -D -O
    -d -s -x -E -f ! ( ) , -newermt -newerct -newerat -newerBt -newermm -newercc -newerma
    """)


_FIND_VALUES = word_set("""
    -name -iname -path -ipath -wholename -iwholename -regex -iregex -type -xtype -size -mtime
    -mmin -atime -amin -ctime -cmin -newer -anewer -cnewer -user -group -uid -gid -perm -links
    -inum -samefile -maxdepth -mindepth -printf -regextype -lname -ilname -fstype -context
    -used -D -O -newermt -newerct -newerat -newerBt -newermm -newercc -newerma
    """)


def _rule_find(c: JudgedCommand) -> None:
    args = c.args
    i = 0
    while i < len(args):
        arg = args[i]
        text = arg.text
        if text in _FIND_VALUES:
            i += 2  # the test and its value (`-mmin -30`, `-perm -u+x`)
            continue
        if text == "-delete":
            c.find(Risk.DESTRUCTIVE, "find -delete deletes the files it finds")
        elif text in ("-exec", "-execdir", "-ok", "-okdir"):
            end = i + 1
            while end < len(args) and args[end].text not in (";", "+"):
                end += 1
            if end == i + 1:
                c.find(Risk.UNKNOWN, f"find {text} runs a command that could not be read")
            else:
                c.judge_inner(i + 1, end, f"find {text}")
            i = end
        elif text in ("-fprint", "-fprint0", "-fprintf", "-fls") and i + 1 < len(args):
            c.find(*write_target(args[i + 1], "writes to", truncates=True))
        elif is_option(arg) and text not in _FIND_TESTS and not text.startswith("-newer"):
            c.find(Risk.UNKNOWN, f"find {text} is a test not known to be read-only")
        i += 1


def _rule_sed(c: JudgedCommand) -> None:
    scripts: list[Word] = []
    files: list[Word] = []
    in_place = script_file = sandbox = False
    args = c.args
    i = 0
    only_positional = False
    while i < len(args):
        arg = args[i]
        text = arg.text
        if only_positional or not is_option(arg):
            (files if scripts or script_file else scripts).append(arg)
        elif text == "--":
            only_positional = True
        elif text.startswith("--"):
            name, has_value, value = text.partition("=")
            if name == "--in-place":
                in_place = True
            elif name == "--expression":
                if has_value:
                    scripts.append(Word(value, arg.dynamic))
                elif i + 1 < len(args):
                    i += 1
                    scripts.append(args[i])
            elif name == "--file":
                script_file = True
                i += 0 if has_value else 1
            elif name == "--sandbox":
                sandbox = True
            elif name == "--line-length" and not has_value:
                i += 1
        else:
            letters = text[1:]
            for j, letter in enumerate(letters):
                if letter == "i":
                    in_place = True
                    break
                if letter in "efl":
                    value = letters[j + 1 :]
                    if not value and i + 1 < len(args):
                        i += 1
                        value = args[i].text
                        dynamic = args[i].dynamic
                    else:
                        dynamic = arg.dynamic
                    if letter == "e":
                        scripts.append(Word(value, dynamic))
                    elif letter == "f":
                        script_file = True
                    break
        i += 1
    if in_place:
        c.find(Risk.WRITE, f"sed -i edits {_names(files) if files else 'files'} in place")
        for target in files:
            risk, reason = write_target(target, "sed -i edits")
            if risk.rank > Risk.WRITE.rank:
                c.find(risk, reason)
    if sandbox:
        return
    if script_file:
        c.find(Risk.UNKNOWN, "sed -f runs a script file, which could run commands")
    elif any(s.dynamic for s in scripts):
        c.find(Risk.UNKNOWN, "the sed script is built at run time and could run commands")
    else:
        worst = max(
            (_sed_script_risk(s.text) for s in scripts),
            key=lambda r: r.rank,
            default=Risk.READ_ONLY,
        )
        if worst is Risk.UNKNOWN:
            c.find(Risk.UNKNOWN, "the sed script can run commands")
        elif worst is Risk.WRITE:
            c.find(Risk.WRITE, "the sed script writes files")
            judge_writes(c, [t for s in scripts for t in sed_targets(s.text)], "sed writes")


def _sed_script_risk(script: str) -> Risk:
    """What a sed script can do: print only, write files (`w`, `s///w`), or run commands (`e`).

    Anything not understood counts as running commands.
    """
    i, n = 0, len(script)
    worst = Risk.READ_ONLY

    def skip_delimited(i: int, delim: str) -> int:
        while i < n:
            if script[i] == "\\":
                i += 2
                continue
            if script[i] == delim:
                return i + 1
            i += 1
        return -1

    def skip_line(i: int, stop: str = "\n") -> int:
        while i < n and script[i] not in stop:
            i += 2 if script[i] == "\\" else 1
        return i

    while i < n:
        ch = script[i]
        if ch in " \t\n;{}!" or ch.isdigit() or ch in "$,~+IM":
            i += 1
        elif ch == "#":
            i = skip_line(i)
        elif ch in "/\\":
            if ch == "\\":
                i += 1
                if i >= n:
                    return Risk.UNKNOWN
            i = skip_delimited(i + 1, script[i])
            if i < 0:
                return Risk.UNKNOWN
        elif ch in "sy":
            if i + 1 >= n or script[i + 1] in "\n\\":
                return Risk.UNKNOWN
            delim = script[i + 1]
            i = skip_delimited(i + 2, delim)
            if i < 0:
                return Risk.UNKNOWN
            i = skip_delimited(i, delim)
            if i < 0:
                return Risk.UNKNOWN
            while i < n and script[i] in "gpiImMew0123456789":
                if script[i] == "e":
                    return Risk.UNKNOWN
                if script[i] == "w":
                    worst = Risk.WRITE
                    i = skip_line(i)
                    break
                i += 1
        elif ch in "aic":
            i = skip_line(i)
        elif ch in "rRbtT:":
            i = skip_line(i, "\n" if ch in "rR" else "\n;")
        elif ch in "wW":
            worst = Risk.WRITE
            i = skip_line(i)
        elif ch in "qQlLzFdDgGhHnNpPx=":
            i += 1
        else:  # e, and anything not understood
            return Risk.UNKNOWN
    return worst


_AWK_SAFE_FLAGS = frozenset("bcPrtLnNOsMSh")
_AWK_SAFE_LONG = word_set("--version --help --posix --traditional --characters-as-bytes")
_AWK_RUNS = re.compile(r"system|\||PROCINFO|@load|@include|ENVIRON\s*\[")
_AWK_WRITES = re.compile(r"\bprintf?\b[^;}]*>|\bfflush\b")


def _rule_awk(c: JudgedCommand) -> None:
    program: Word | None = None
    sandbox = False
    unsafe = ""
    args = c.args
    i = 0
    while i < len(args):
        arg = args[i]
        text = arg.text
        if text == "--" or not is_option(arg):
            if text == "--":
                i += 1
            program = args[i] if i < len(args) else None
            break
        if text.startswith("--"):
            name = text.split("=", 1)[0]
            if name == "--sandbox":
                sandbox = True
            elif name in ("--field-separator", "--assign") and "=" not in text:
                i += 1
            elif name not in _AWK_SAFE_LONG:
                unsafe = name
        else:
            letters = text[1:]
            for j, letter in enumerate(letters):
                if letter in "Fv":
                    if j == len(letters) - 1:
                        i += 1
                    break
                if letter == "S":
                    sandbox = True
                elif letter not in _AWK_SAFE_FLAGS:
                    unsafe = f"-{letter}"
                    break
        i += 1
    if unsafe:
        c.find(Risk.UNKNOWN, f"awk {unsafe} can run programs that are not checked")
    elif program is None:
        c.find(Risk.UNKNOWN, "awk runs a program that could not be checked")
    elif sandbox:
        return
    elif program.dynamic or _AWK_RUNS.search(program.text):
        c.find(Risk.UNKNOWN, "the awk program can run commands")
    elif _AWK_WRITES.search(program.text):
        c.find(Risk.WRITE, "the awk program writes files")
        targets = awk_targets(program.text)
        if targets is None:
            c.find(Risk.UNKNOWN, "the awk program writes files whose names come from its input")
        else:
            judge_writes(c, targets, "awk writes")


_EMPTY_SOURCES = re.compile(r"^/dev/(null|zero|u?random|full)$")


def _rule_copy(c: JudgedCommand) -> None:
    c.find(Risk.WRITE, WRITES[c.prog])
    dest = option_value(c.args, "t", "--target-directory")
    files = positionals(c.args, "tSmog", ("--target-directory", "--suffix"))
    sources = files if dest is not None else files[:-1]
    if dest is None and len(files) >= 2:
        dest = files[-1]
    if dest is None:
        return
    empty = [s.text for s in sources if _EMPTY_SOURCES.match(s.text)]
    if empty and c.prog in ("cp", "mv", "install"):
        c.find(*clobbers(dest, f"{c.prog} {empty[0]} {dest.text} replaces it with nothing"))
        return
    risk, reason = write_target(dest, f"{c.prog} writes to")
    if risk.rank > Risk.WRITE.rank:
        c.find(risk, reason)


def _rule_tee(c: JudgedCommand) -> None:
    verb = (
        "appends to"
        if "a" in short_letters(c.args) or "--append" in long_options(c.args)
        else "writes to"
    )
    for target in positionals(c.args):
        if not HARMLESS_DEVICE_RE.match(target.text):
            c.find(*write_target(target, verb, truncates=verb == "writes to"))


def _rule_output_option(short: str, long: str, takes_value: str) -> Rule:
    def rule(c: JudgedCommand) -> None:
        letters = short_letters(c.args, takes_value)
        if short in letters or long in long_options(c.args):
            out = option_value(c.args, short, long)
            if out is not None and not HARMLESS_DEVICE_RE.match(out.text):
                c.find(*write_target(out, f"{c.prog} writes to", truncates=True))
            elif out is None:
                c.find(Risk.WRITE, f"{c.prog} -{short} writes to a file")

    return rule


def _rule_two_files(takes_value: str) -> Rule:
    def rule(c: JudgedCommand) -> None:
        files = positionals(c.args, takes_value)
        if len(files) >= 2 and not HARMLESS_DEVICE_RE.match(files[1].text):
            c.find(*write_target(files[1], f"{c.prog} writes to", truncates=True))

    return rule


def _rule_less(c: JudgedCommand) -> None:
    if any(a.text.startswith("+") and "!" in a.text for a in c.args):
        c.find(Risk.UNKNOWN, "less +CMD runs a command as it starts")
    elif any(
        a.text.startswith("+") and not re.fullmatch(r"\+[FGg]|\+\d+|\+/[^!|]*", a.text)
        for a in c.args
    ):
        c.find(Risk.UNKNOWN, "less +CMD runs less commands as it starts, which could run more")
    letters = short_letters(c.args)
    if "o" in letters or "O" in letters or long_options(c.args) & {"--log-file", "--LOG-FILE"}:
        c.find(Risk.WRITE, "less -o copies its input into a file")


def _rule_man(c: JudgedCommand) -> None:
    letters = short_letters(c.args)
    if "P" in letters or "H" in letters or long_options(c.args) & {"--pager", "--html"}:
        c.find(Risk.UNKNOWN, "man -P runs another program as its pager")


def _rule_date(c: JudgedCommand) -> None:
    value_opts = "dfrIs"
    if (
        "s" in short_letters(c.args, value_opts)
        or "--set" in long_options(c.args)
        or any(
            not p.text.startswith("+")
            for p in positionals(c.args, value_opts, ("--date", "--file"))
        )
    ):
        c.find(Risk.PRIVILEGED, "date -s changes the system clock")


def _rule_hostname(c: JudgedCommand) -> None:
    if positionals(c.args) or set(short_letters(c.args)) & {"F", "b"}:
        c.find(Risk.PRIVILEGED, "hostname NAME changes the machine's name")


def _rule_dmesg(c: JudgedCommand) -> None:
    if set(short_letters(c.args)) & {"c", "C", "n", "D", "E"} or long_options(c.args) & word_set(
        "--clear --read-clear --console-level --console-off --console-on"
    ):
        c.find(Risk.PRIVILEGED, "dmesg changes the kernel log")


def _rule_sysctl(c: JudgedCommand) -> None:
    if set(short_letters(c.args)) & {"w", "p"} or any("=" in p.text for p in positionals(c.args)):
        c.find(Risk.PRIVILEGED, "sysctl changes kernel settings")


def _rule_mount(c: JudgedCommand) -> None:
    if positionals(c.args, "tOoLU"):
        c.find(Risk.PRIVILEGED, "mount mounts file systems")


def _rule_dd(c: JudgedCommand) -> None:
    out = next((a.text[3:] for a in c.args if a.text.startswith("of=")), None)
    if out is None:
        c.find(Risk.DESTRUCTIVE, "dd writes raw data and can overwrite whole disks")
    elif not HARMLESS_DEVICE_RE.match(out):
        c.find(Risk.DESTRUCTIVE, f"dd overwrites {out}")


def _rule_crontab(c: JudgedCommand) -> None:
    letters = short_letters(c.args, "u")
    if "r" in letters:
        c.find(Risk.DESTRUCTIVE, "crontab -r deletes all scheduled jobs")
    elif "l" not in letters:
        c.find(
            Risk.DESTRUCTIVE, f"{PERSISTENCE}: crontab installs jobs that run later on their own"
        )


def _rule_recursive_perm(c: JudgedCommand) -> None:
    c.find(Risk.WRITE, WRITES[c.prog])
    args = c.args
    recursive = "R" in short_letters(args) or "--recursive" in long_options(args)
    operands = positionals(args, "", ("--reference", "--from"))
    for target in operands[1:]:
        risk, reason = write_target(target, f"{c.prog} changes")
        if risk.rank > Risk.WRITE.rank:
            c.find(risk, reason)
    if not recursive or not operands:
        return
    where = ", ".join(t.text for t in operands[1:4]) or "the files"
    if c.prog in ("chown", "chgrp"):
        c.find(
            Risk.DESTRUCTIVE,
            f"{CLOBBERING}: {c.prog} -R gives every file under {where} to another owner",
        )
    elif removes_access(operands[0].text):
        c.find(
            Risk.DESTRUCTIVE,
            f"{CLOBBERING}: chmod -R {operands[0].text} takes access away "
            f"from every file under {where}",
        )
    for target in operands[1:]:
        if critical_dir(target.text, working_tree=False):
            c.find(Risk.DESTRUCTIVE, f"{c.prog} -R changes every file under {target.text}")
            return


def _rule_ifconfig(c: JudgedCommand) -> None:
    if len(positionals(c.args)) >= 2:
        c.find(Risk.PRIVILEGED, "ifconfig changes network settings")


def _rule_ip(c: JudgedCommand) -> None:
    args = c.args
    i = 0
    while i < len(args) and is_option(args[i]):
        if args[i].text in ("-b", "-batch", "-rc", "-rcvbuf"):
            c.find(Risk.PRIVILEGED, "ip -batch runs network commands from a file")
            return
        if args[i].text in ("-n", "-netns", "-f", "-family", "-l", "-loops"):
            i += 1
        i += 1
    rest = [a.text for a in args[i:]]
    if len(rest) < 2:
        return
    obj, sub = rest[0], rest[1]
    if sub in ("help", "get", "monitor", "list", "lst", "ls") or (sub and "show".startswith(sub)):
        return
    if obj == "netns" and sub in ("identify", "pids"):
        return
    c.find(Risk.PRIVILEGED, f"ip {obj} {sub} changes network settings")


def _rule_journalctl(c: JudgedCommand) -> None:
    longs = long_options(c.args)
    if any(o.startswith("--vacuum") for o in longs):
        c.find(Risk.DESTRUCTIVE, "journalctl --vacuum deletes old logs")
    elif longs & word_set(
        "--rotate --flush --sync --relinquish-var --smart-relinquish-var --setup-keys "
        "--update-catalog"
    ):
        c.find(Risk.PRIVILEGED, "journalctl changes the system journal")


def _rule_route(c: JudgedCommand) -> None:
    if positionals(c.args, "A"):
        c.find(Risk.PRIVILEGED, "route changes the routing table")


def _rule_script(c: JudgedCommand) -> None:
    command = option_value(c.args, "c", "--command")
    files = positionals(
        c.args,
        "cIOBTE",
        (
            "--command",
            "--log-in",
            "--log-out",
            "--log-io",
            "--log-timing",
            "--echo",
            "--output-limit",
        ),
    )
    c.find(*write_target(files[0] if files else Word("typescript"), "script records into"))
    if command is None:
        c.find(Risk.UNKNOWN, "script starts a shell that reads commands from its input")
    else:
        if command.dynamic:
            c.find(Risk.UNKNOWN, "script -c runs a command built at run time")
        c.nested(command.text, "script -c")


def _rule_su(c: JudgedCommand) -> None:
    c.find(Risk.PRIVILEGED, "su switches to another user")
    value = option_value(c.args, "c", "--command")
    if value is not None:
        c.nested(value.text, "su -c")


RULES: dict[str, Rule] = {
    "rm": _rule_rm,
    "kill": _rule_kill,
    "find": _rule_find,
    "sed": _rule_sed,
    "gsed": _rule_sed,
    **dict.fromkeys(("awk", "gawk", "mawk", "nawk"), _rule_awk),
    "tee": _rule_tee,
    **dict.fromkeys(("cp", "mv", "install", "ln"), _rule_copy),
    "sort": _rule_output_option("o", "--output", "kotST"),
    "tree": _rule_output_option("o", "--output", "LPIHTo"),
    "uniq": _rule_two_files("fsw"),
    "xxd": _rule_two_files("cglso"),
    **dict.fromkeys(("less", "zless", "bzless", "xzless"), _rule_less),
    "man": _rule_man,
    "date": _rule_date,
    "hostname": _rule_hostname,
    "dmesg": _rule_dmesg,
    "sysctl": _rule_sysctl,
    "mount": _rule_mount,
    **POWER_RULES,
    "dd": _rule_dd,
    "crontab": _rule_crontab,
    **dict.fromkeys(("chmod", "chown", "chgrp"), _rule_recursive_perm),
    "ifconfig": _rule_ifconfig,
    "ip": _rule_ip,
    "journalctl": _rule_journalctl,
    "su": _rule_su,
    "script": _rule_script,
    "route": _rule_route,
    **SUBCOMMAND_RULES,
    **ARCHIVE_RULES,
    **BUILTIN_RULES,
}
