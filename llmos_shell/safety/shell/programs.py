"""What programs are known to do by name: read-only, writing, destructive, privileged, network.

Also the programs that start other programs (`sudo`, `xargs`, `timeout`, shells and
interpreters), and the few commands no plan should ever run (`rm -rf /`, `mkfs /dev/sda`).
Pure: no I/O, nothing from the environment.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass

from llmos_shell.calls import Risk
from llmos_shell.safety.shell.words import (
    ASSIGNMENT_RE,
    DISK_RE,
    Word,
    is_option,
    long_options,
    positionals,
    program_name,
    short_letters,
    word_set,
)

# --- programs by name ---------------------------------------------------------------------

READ_ONLY = word_set("""
    ls dir vdir cat tac head tail more wc grep egrep fgrep zgrep zegrep zfgrep ag ack
    zcat bzcat xzcat zstdcat lzcat zless zmore bzless xzless zdiff
    du df free ps pgrep pidof top htop btop uptime whoami id groups users who w last lastlog
    uname arch nproc cal ncal pwd echo printf stat file which whereis type basename dirname
    realpath readlink namei cut tr paste join comm column fold fmt nl expand unexpand rev seq
    yes sleep true false : test [ expr factor numfmt diff diff3 sdiff cmp md5sum sha1sum
    sha224sum sha256sum sha384sum sha512sum b2sum cksum sum lsblk lscpu lsusb lspci lsmod lsof
    lshw lsattr getfacl lslocks lsipc lsns findmnt blkid ss netstat vmstat iostat mpstat
    pidstat strings od hexdump jq locale getconf printenv tty info apropos whatis help
    cd pushd popd dirs read wait jobs history umask ulimit let shift getopts return exit break
    continue unset set shopt apt-cache nvidia-smi sensors lsb_release hostid
    """)

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
    "zip": "zip writes an archive",
    "mkfifo": "mkfifo creates a special file",
    "at": "at schedules a command to run later",
    "batch": "batch schedules a command to run later",
    "alias": "alias changes what command names run",
}

DESTRUCTIVE = {
    "rmdir": "rmdir deletes folders",
    "unlink": "unlink deletes files",
    "shred": "shred destroys files beyond recovery",
    "truncate": "truncate cuts files short, losing data",
    "dd": "dd writes raw data and can overwrite whole disks",
    "mke2fs": "mke2fs formats a disk, erasing it",
    "mkswap": "mkswap formats a disk as swap, erasing it",
    "wipefs": "wipefs erases file system signatures",
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
            "nslookup host whois nmap http https aria2c rclone fetch npx bunx pnpx"
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
DANGEROUS_VARIABLES = word_set("""
    PATH BASH_ENV ENV IFS PROMPT_COMMAND PS4 SHELLOPTS BASHOPTS PAGER MANPAGER GIT_PAGER
    GIT_EXTERNAL_DIFF GIT_SSH GIT_SSH_COMMAND GIT_EDITOR GIT_CONFIG GIT_CONFIG_GLOBAL
    GIT_CONFIG_COUNT GIT_DIR GIT_EXEC_PATH LESSOPEN LESSCLOSE EDITOR VISUAL PYTHONPATH
    PYTHONSTARTUP PYTHONHOME PERL5LIB PERL5OPT RUBYOPT NODE_OPTIONS SYSTEMD_PAGER
    """)


def is_interpreter(prog: str) -> bool:
    """True for a shell or a language interpreter, which runs code it is given."""
    return prog in SHELLS or bool(_INTERPRETER_RE.match(prog))


# --- programs that run other programs -----------------------------------------------------


@dataclass(frozen=True)
class Wrapper:
    """A program that runs another program given in its own arguments.

    Every option it has is listed: an option not listed might take a value and hide which
    program really runs, so it makes the call uncertain instead of being skipped.
    """

    flags: str = ""  # short options without a value
    takes_value: str = ""  # short options with a value
    long_flags: str = ""
    long_values: str = ""
    positionals: int = 0  # words between the options and the command (`timeout 5 CMD`)
    assignments: bool = False  # NAME=VALUE words may come before the command
    no_command: str = ""  # short options meaning nothing runs (`command -v ls`)
    risk: Risk = Risk.READ_ONLY

    def parse(self, args: Sequence[Word]) -> tuple[int | None, str | None]:
        """Where the wrapped command begins in `args` (None: none runs), and an unknown option."""
        unknown = None
        long_flags = {*self.long_flags.split(), "--help", "--version"}
        long_values = set(self.long_values.split())
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
                name = text.split("=", 1)[0]
                if name in long_values and "=" not in text:
                    i += 1
                elif name not in long_values and name not in long_flags:
                    unknown = unknown or text
            else:
                letters = text[1:]
                for j, letter in enumerate(letters):
                    if letter in self.no_command:
                        return None, unknown
                    if letter in self.takes_value:
                        i += j == len(letters) - 1
                        break
                    if letter not in self.flags:
                        unknown = unknown or text
                        break
            i += 1
        while self.assignments and i < len(args) and ASSIGNMENT_RE.match(args[i].text):
            i += 1
        i += self.positionals
        return (i if i < len(args) else None), unknown


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
        start, _ = wrapper.parse(words[1:])
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


# --- catastrophes -------------------------------------------------------------------------

_CRITICAL_DIRS = word_set(
    "/ ~ /home /etc /usr /bin /sbin /boot /var /lib /lib32 /lib64 /opt /root /dev /sys /proc "
    "/srv /Users /System /Library /Applications"
)
_HOME = "/home/\0you"  # stands for `~` while normalising `~/..` and `$HOME/.`
_HOME_RE = re.compile(r"^(\$HOME|\$\{HOME\})(?=/|$)")


def critical_dir(text: str) -> str | None:
    """The system or home folder a path wipes out when deleted recursively, or None."""
    path = _HOME_RE.sub("~", text.strip())
    if path == "~" or path.startswith("~/"):
        path = _HOME + path[1:]
    path = re.sub(r"(/\.?\*)+$", "", re.sub(r"/+", "/", path)) or "/"  # `/*` is the folder
    if path.startswith("/"):
        path = posixpath.normpath(path)
    if path == _HOME:
        return "~"
    return path if path in _CRITICAL_DIRS else None


def _describe_dir(path: str) -> str:
    if path == "/":
        return "everything on the machine"
    if path == "~":
        return "your whole home folder"
    return f"the system folder {path}"


def catastrophic_command(prog: str, args: Sequence[Word]) -> str | None:
    """Why running `prog args` wipes the system, a home folder or a disk, or None."""
    letters = short_letters(args)
    longs = long_options(args)
    recursive = bool(set(letters) & {"r", "R"}) or "--recursive" in longs
    if prog == "rm" and recursive:
        for target in positionals(args):
            critical = critical_dir(target.text)
            if critical:
                return f"rm -r {target.text} deletes {_describe_dir(critical)}"
    if prog == "find" and any(a.text in ("-delete", "-exec", "-execdir") for a in args):
        deletes = any(a.text == "-delete" for a in args) or any(
            a.text in ("-exec", "-execdir") and i + 1 < len(args) and args[i + 1].text == "rm"
            for i, a in enumerate(args)
        )
        for start in _find_starts(args):
            critical = critical_dir(start.text)
            if deletes and critical:
                return f"find {start.text} with delete removes {_describe_dir(critical)}"
    if prog in ("chmod", "chown", "chgrp") and recursive:
        for target in positionals(args)[1:]:
            critical = critical_dir(target.text)
            if critical and critical != "~":
                return f"{prog} -R on {target.text} breaks {_describe_dir(critical)}"
    if prog.startswith("mkfs") or prog in ("mke2fs", "mkswap", "wipefs", "shred", "blkdiscard"):
        for target in positionals(args):
            if DISK_RE.match(target.text):
                return f"{prog} erases the disk {target.text}"
    if prog == "dd":
        for arg in args:
            if arg.text.startswith("of=") and DISK_RE.match(arg.text[3:]):
                return f"dd overwrites the disk {arg.text[3:]}"
    targets = positionals(args)
    if prog == "tee" or (prog in ("cp", "mv", "install") and len(targets) >= 2):
        for target in targets if prog == "tee" else targets[-1:]:
            if DISK_RE.match(target.text):
                return f"{prog} writes over the disk {target.text}"
    if prog == "kill":
        pids = args[1:] if args and args[0].text.startswith("-") else args
        if any(a.text == "-1" for a in pids):
            return "kill -1 stops every process you can reach"
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
