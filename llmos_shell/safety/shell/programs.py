"""What programs are known to do by name: writing, destructive, privileged, network, unknown.

Also the programs that start other programs (`sudo`, `xargs`, `timeout`, shells and
interpreters). Read-only programs and their allowed options are in `options`. Pure: no I/O,
nothing from the environment.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from llmos_shell.calls import Risk
from llmos_shell.safety.shell.words import (
    ASSIGNMENT_RE,
    Word,
    is_option,
    positionals,
    program_name,
    word_set,
)

# --- programs by name ---------------------------------------------------------------------

WRITES = {
    "cp": "cp copies files",
    "mv": "mv moves or renames files",
    "mkdir": "mkdir creates folders",
    "touch": "touch creates or updates files",
    "ln": "ln creates links",
    "install": "install copies files into place",
    "chmod": "chmod changes file permissions",
    "chown": "chown changes who owns files",
    "chgrp": "chgrp changes file groups",
    "chattr": "chattr changes file attributes",
    "setfacl": "setfacl changes file permissions",
    "patch": "patch changes files",
    "split": "split writes pieces of a file",
    "csplit": "csplit writes pieces of a file",
    "mktemp": "mktemp creates temporary files",
    "mkfifo": "mkfifo creates a special file",
    "htop": "htop is interactive and can stop processes",
    "btop": "btop is interactive and can stop processes",
}

UNKNOWN_PROGRAMS = {
    "at": "at runs commands read from its input at a later time",
    "batch": "batch runs commands read from its input at a later time",
    "make": "make runs the commands of a Makefile",
    "fc": "fc runs commands again from the history",
    **dict.fromkeys(
        ("npx", "bunx", "pnpx", "uvx", "pipx"),
        "download and execute: {prog} fetches a package and runs it",
    ),
}

DESTRUCTIVE = {
    "rmdir": "rmdir deletes folders",
    "unlink": "unlink deletes files",
    "shred": "shred destroys files beyond recovery",
    "truncate": "truncate cuts files short, losing data",
    "dd": "dd writes raw data and can overwrite whole disks",
    "mke2fs": "mke2fs formats a disk, erasing it",
    "mkswap": "mkswap formats a disk as swap, erasing it",
    "blkdiscard": "blkdiscard erases a disk",
    "pkill": "pkill stops processes by name",
    "killall": "killall stops processes by name",
    "skill": "skill stops processes",
    "xkill": "xkill stops a program",
    "srm": "srm destroys files beyond recovery",
}

PRIVILEGED = {
    **dict.fromkeys(
        ("shutdown", "reboot", "poweroff", "halt", "init", "telinit", "kexec"),
        "{prog} turns off or restarts the machine",
    ),
    **dict.fromkeys(("sudo", "doas", "pkexec", "run0"), "{prog} runs a command as root"),
    "su": "su switches to another user",
    **dict.fromkeys(
        ("runuser", "nsenter", "unshare", "systemd-run", "setpriv", "sg"),
        "{prog} runs a command with other rights",
    ),
    "chroot": "chroot runs a command inside another root folder",
    "umount": "umount unmounts file systems",
    **dict.fromkeys(
        word_set(
            "useradd userdel usermod adduser deluser groupadd groupdel groupmod passwd chpasswd "
            "chsh chfn gpasswd visudo vipw"
        ),
        "{prog} changes user accounts",
    ),
    **dict.fromkeys(
        ("iptables", "ip6tables", "iptables-restore", "nft", "ufw", "firewall-cmd"),
        "{prog} changes firewall rules",
    ),
    **dict.fromkeys(
        ("insmod", "rmmod", "modprobe", "depmod"), "{prog} loads or removes kernel modules"
    ),
    **dict.fromkeys(("swapon", "swapoff"), "{prog} changes swap space"),
    "setcap": "setcap gives programs special privileges",
    "setenforce": "setenforce changes SELinux protection",
    "update-grub": "update-grub changes how the machine boots",
    "grub-install": "grub-install changes how the machine boots",
    "ldconfig": "ldconfig changes the system's library cache",
    "update-alternatives": "update-alternatives changes system programs",
}

NETWORK = {
    "curl": "curl downloads from or sends data to the network",
    "wget": "wget downloads files from the network",
    "ssh": "ssh connects to another machine",
    "scp": "scp copies files over the network",
    "sftp": "sftp copies files over the network",
    **dict.fromkeys(
        word_set(
            "nc ncat netcat socat telnet ftp tftp lftp ping ping6 traceroute tracepath mtr dig "
            "nslookup host whois nmap http https aria2c rclone fetch"
        ),
        "{prog} uses the network",
    ),
}

FETCHERS = word_set("curl wget fetch http https aria2c nc ncat netcat socat ftp tftp lftp")
SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish", "csh", "tcsh"})
_INTERPRETER_RE = re.compile(
    r"^(python[\d.]*|pypy3?|perl[\d.]*|ruby[\d.]*|node|nodejs|deno|bun|php[\d.]*|lua[\d.]*|"
    r"luajit|Rscript|pwsh|powershell|osascript|tclsh|wish|irb|jshell|groovy|julia)$"
)
CODE_FLAGS = frozenset({"-c", "-e", "-E", "-r", "--eval", "-p", "--print", "--command"})
INFO_FLAGS = frozenset({"--version", "-V", "--help"})
# Programs that only print their version or usage when that is all they are given
# (`gcc --version`, `go version`); with anything else they are judged as usual.
INFO_ONLY_PROGRAMS = word_set("""
    gcc g++ cc c++ clang clang++ ld as gdb lldb javac java kotlin kotlinc scala sbt gradle mvn
    go gofmt rustc cargo rustup cmake ninja meson make automake autoconf pkg-config docker
    podman kubectl helm terraform packer vagrant ansible minikube kind docker-compose
    node npm npx yarn pnpm bun deno pip pip3 pipx uv poetry pipenv conda mamba gem bundle
    dotnet swift swiftc ghc cabal stack elixir erl julia zig nim ocaml opam nvcc ffmpeg
    ffprobe convert magick pandoc pdflatex latex tmux screen vim nvim emacs nano code gh glab
    aws gcloud az heroku psql mysql sqlite3 redis-cli mongosh openssl ssh scp rsync curl wget
    git bash zsh fish sh dash tar gzip zstd xz bzip2 unzip zip sed awk gawk grep find jq yq
    """)
INFO_ONLY_ARGS = (
    ("--version",),
    ("-version",),
    ("--help",),
    ("version",),
    ("version", "--client"),
    ("--version", "--client"),
)
PYTHON_MODULES: dict[str, tuple[Risk, str]] = {
    "json.tool": (Risk.READ_ONLY, ""),
    "http.server": (
        Risk.UNKNOWN,
        "exfiltration: python -m http.server lets anyone on the network read the folder",
    ),
    "venv": (Risk.WRITE, "python -m venv creates a virtual environment"),
    "tabnanny": (Risk.READ_ONLY, ""),
    "calendar": (Risk.READ_ONLY, ""),
}
# A program named by a path in one of these folders is the system's program of that name;
# any other path (`./ls`, `/tmp/x/cat`) is a file that could hold anything.
SYSTEM_PROGRAM_DIRS = word_set(
    "/bin /usr/bin /sbin /usr/sbin /usr/local/bin /usr/local/sbin /opt/homebrew/bin "
    "/run/current-system/sw/bin"
)
# Variables whose value is a command some program runs; a static one is judged as a command.
COMMAND_VARIABLES = word_set("""
    PAGER MANPAGER GIT_PAGER SYSTEMD_PAGER EDITOR VISUAL GIT_EDITOR GIT_SSH_COMMAND
    GIT_EXTERNAL_DIFF LESSOPEN LESSCLOSE PROMPT_COMMAND PS4 SUDO_EDITOR
    """)
# Pagers and editors a command variable may name and still be judged as that program
PLAIN_VIEWERS = word_set("cat less more most bat batcat delta vim vi nvim nano emacs code true")
DANGEROUS_VARIABLES = word_set("""
    PATH BASH_ENV ENV IFS PROMPT_COMMAND PS4 SHELLOPTS BASHOPTS PAGER MANPAGER GIT_PAGER
    GIT_EXTERNAL_DIFF GIT_SSH GIT_SSH_COMMAND GIT_EDITOR GIT_CONFIG GIT_CONFIG_GLOBAL
    GIT_CONFIG_COUNT GIT_DIR GIT_EXEC_PATH LESSOPEN LESSCLOSE EDITOR VISUAL PYTHONPATH
    PYTHONSTARTUP PYTHONHOME PERL5LIB PERL5OPT RUBYOPT NODE_OPTIONS SYSTEMD_PAGER
    GIT_CONFIG_NOSYSTEM GIT_CONFIG_PARAMETERS LESSSECURE LESSKEYIN
    """)
# Variables the sandbox sets to neutralise programs' executable settings (`safety.wall`):
# clearing one (`unset`, `env -u`, `env -i`) would give those settings back.
GUARD_VARIABLES = word_set("""
    GIT_CONFIG_COUNT GIT_CONFIG_NOSYSTEM GIT_PAGER GIT_EDITOR GIT_SEQUENCE_EDITOR LESSSECURE
    MANPAGER PAGER
    """)
GUARD_PREFIXES = ("GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_")


def clears_guard(name: str) -> bool:
    """True when removing the variable `name` undoes a neutralised setting."""
    return name in GUARD_VARIABLES or name.startswith(GUARD_PREFIXES)


def is_interpreter(prog: str) -> bool:
    """True for a shell or a language interpreter, which runs code it is given."""
    return prog in SHELLS or bool(_INTERPRETER_RE.match(prog))


# --- programs that run other programs -----------------------------------------------------


@dataclass(frozen=True)
class Wrapped:
    """Where a wrapper's command begins, an option that could not be checked, code it runs."""

    start: int | None  # index in args of the wrapped program; None: no program follows
    unknown: str | None = None
    code: tuple[Word, ...] = ()  # command strings given to options (`flock -c 'CMD'`)


@dataclass(frozen=True)
class Wrapper:
    """A program that runs another program given in its own arguments.

    Every option it has is listed: an option not listed might take a value and hide which
    program really runs, so it makes the call unknown instead of being skipped.
    """

    flags: str = ""  # short options without a value
    takes_value: str = ""  # short options with a value
    long_flags: str = ""
    long_values: str = ""
    positionals: int = 0  # words between the options and the command (`timeout 5 CMD`)
    assignments: bool = False  # NAME=VALUE words may come before the command
    no_command: str = ""  # short options meaning nothing runs (`command -v ls`)
    risk: Risk = Risk.READ_ONLY
    code: str = ""  # short options whose value is a shell command (`flock -c CMD`)
    long_code: str = ""

    def parse(self, args: Sequence[Word]) -> Wrapped:
        """Where the wrapped command begins in `args`, and what could not be checked."""
        unknown = None
        code: list[Word] = []
        long_flags = {*self.long_flags.split(), "--help", "--version"}
        long_values = {*self.long_values.split(), *self.long_code.split()}
        long_code = set(self.long_code.split())
        i = 0
        while i < len(args):
            arg = args[i]
            text = arg.text
            if text == "--":
                i += 1
                break
            if not is_option(arg):
                break
            if text.startswith("--"):
                name, has_value, value = text.partition("=")
                if name in long_code:
                    if has_value:
                        code.append(Word(value, arg.dynamic))
                    elif i + 1 < len(args):
                        code.append(args[i + 1])
                if name in long_values and not has_value:
                    i += 1
                elif name not in long_values and name not in long_flags:
                    unknown = unknown or text
            else:
                letters = text[1:]
                for j, letter in enumerate(letters):
                    if letter in self.no_command:
                        return Wrapped(None, unknown, tuple(code))
                    if letter in self.takes_value or letter in self.code:
                        last = j == len(letters) - 1
                        if letter in self.code and last:
                            code += args[i + 1 : i + 2]
                        elif letter in self.code:
                            code.append(Word(letters[j + 1 :], arg.dynamic))
                        i += last
                        break
                    if letter not in self.flags:
                        unknown = unknown or text
                        break
            i += 1
        while self.assignments and i < len(args) and ASSIGNMENT_RE.match(args[i].text):
            i += 1
        i += self.positionals
        code_options = {f"-{letter}" for letter in self.code} | long_code
        if i < len(args) and args[i].text in code_options:  # `flock FILE -c CMD`
            code += args[i + 1 : i + 2]
        if code:
            return Wrapped(None, unknown, tuple(code))
        return Wrapped(i if i < len(args) else None, unknown)


_DIGITS = "0123456789"
WRAPPERS = {
    "sudo": Wrapper(
        "AbEHiknPSsB",
        "ugCDhpRrtUT",
        "--preserve-env --login --shell --non-interactive --stdin --background --set-home "
        "--askpass --reset-timestamp --bell",
        "--user --group --host --prompt --chdir --chroot --close-from --role --type "
        "--command-timeout --other-user",
        assignments=True,
        no_command="lvVeK",
        risk=Risk.PRIVILEGED,
    ),
    "doas": Wrapper("ns", "uC", no_command="L", risk=Risk.PRIVILEGED),
    "pkexec": Wrapper(
        "", "", "--disable-internal-agent --keep-cwd", "--user", risk=Risk.PRIVILEGED
    ),
    "chroot": Wrapper(
        "", "", "--skip-chdir", "--userspec --groups", positionals=1, risk=Risk.PRIVILEGED
    ),
    "nice": Wrapper(_DIGITS, "n", "", "--adjustment"),
    "ionice": Wrapper("t", "cn", "--ignore", "--class --classdata", no_command="pPu"),
    "timeout": Wrapper(
        "v",
        "sk",
        "--preserve-status --foreground --verbose",
        "--signal --kill-after",
        positionals=1,
    ),
    "time": Wrapper("pavq", "fo", "--portability --append --verbose --quiet", "--format --output"),
    "nohup": Wrapper(),
    "taskset": Wrapper("acV", "", "--all-tasks --cpu-list", "", positionals=1, no_command="p"),
    "chrt": Wrapper(
        "abdefiorRv",
        "TPD",
        "--all-tasks --batch --deadline --fifo --idle --other --rr --reset-on-fork --verbose",
        "--sched-runtime --sched-period --sched-deadline",
        positionals=1,
        no_command="mp",
    ),
    "flock": Wrapper(
        "sxuneoFv",
        "wE",
        "--shared --exclusive --unlock --nonblock --close --no-fork --verbose",
        "--timeout --conflict-exit-code",
        positionals=1,
        code="c",
        long_code="--command",
    ),
    "setsid": Wrapper("cfw", "", "--ctty --fork --wait"),
    "stdbuf": Wrapper("", "ioe", "", "--input --output --error"),
    "env": Wrapper(
        "i0v",
        "uCS",
        "--ignore-environment --null --debug",
        "--unset --chdir --split-string",
        assignments=True,
    ),
    "command": Wrapper("p", no_command="vV"),
    "builtin": Wrapper(),
    "exec": Wrapper("cl", "a"),
    "coproc": Wrapper(),
    "busybox": Wrapper(),
    "unbuffer": Wrapper("p"),
    "strace": Wrapper("cCdDfFhiqrtTvwxyzZk", "abeEIoOpPsSuUX"),
    "xargs": Wrapper(
        "0prtxoeil",
        "aEIdLnPs",
        "--null --interactive --no-run-if-empty --verbose --exit --open-tty --show-limits "
        "--eof --replace --max-lines",
        "--arg-file --delimiter --max-args --max-procs --max-chars --process-slot-var",
    ),
    "watch": Wrapper(
        "bcCdegptwxr",
        "nq",
        "--beep --color --no-color --differences --errexit --chgexit --precise --no-title "
        "--no-wrap --exec",
        "--interval --equexit",
    ),
}


def _effective_words(words: Sequence[Word]) -> Sequence[Word]:
    """The command a chain of wrappers finally runs (`sudo nice sh` gives `sh`)."""
    seen = 0
    while words and seen < 10:
        wrapper = WRAPPERS.get(program_name(words[0].text))
        if wrapper is None or words[0].dynamic:
            break
        start = wrapper.parse(words[1:]).start
        if start is None:
            break
        words = words[1 + start :]
        seen += 1
    return words


def effective_program(words: Sequence[Word]) -> str:
    """The name of the program a chain of wrappers finally runs; empty when not known."""
    inner = _effective_words(words)
    return program_name(inner[0].text) if inner and not inner[0].dynamic else ""


def reads_code_from_stdin(words: Sequence[Word]) -> bool:
    """True for an interpreter that takes its program from standard input (`curl x | sh`)."""
    inner = _effective_words(words)
    if not inner or inner[0].dynamic:
        return False
    prog = program_name(inner[0].text)
    if not is_interpreter(prog):
        return False
    args = inner[1:]
    if prog in SHELLS:
        code, script = shell_arguments(prog, args)
        return code is None and (
            script is None or script.text == "-" or any(a.text == "-s" for a in args)
        )
    if any(a.text in CODE_FLAGS or a.text.startswith("-m") for a in args):
        return False
    return not positionals(args, "WX") or any(a.text == "-" for a in args)


def shell_arguments(prog: str, args: Sequence[Word]) -> tuple[int | None, Word | None]:
    """For a shell's arguments: the index of its `-c` code word, and its script word."""
    i = 0
    while i < len(args):
        arg = args[i]
        text = arg.text
        if text == "--":
            return None, args[i + 1] if i + 1 < len(args) else None
        if not (is_option(arg) or (text.startswith("+") and len(text) > 1)):
            return None, arg
        if text in ("-o", "-O", "+o", "+O"):
            i += 2
            continue
        if text in ("-c", "--command") or _shell_code_flag(prog, arg):
            return i + 1, None
        i += 1
    return None, None


def _shell_code_flag(prog: str, arg: Word) -> bool:
    """`-c` bundled in a shell's short options (`bash -lc`, `sh -ec`)."""
    text = arg.text
    return prog in SHELLS and is_option(arg) and not text.startswith("--") and "c" in text[1:]
