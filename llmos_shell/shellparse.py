"""Read a bash command without running it: the programs it runs, the files it touches, its risk.

The command is parsed with tree-sitter-bash. Every simple command found anywhere (pipelines,
lists, subshells, substitutions, loop and `if` bodies, functions, `bash -c` strings, the commands
that `sudo`, `xargs`, `find -exec` and friends start) is judged against rules per program. Only
programs known to be read-only keep a command read-only; anything unknown is at least a write.
Pure: no I/O, nothing from the environment.
"""

from __future__ import annotations

import functools
import posixpath
import re
import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llmos_shell.calls import Risk

if TYPE_CHECKING:
    from tree_sitter import Node, Parser

DOWNLOAD_EXEC = "runs code downloaded from the network"
PARSE_FAILED = "the command could not be parsed"


def _words(text: str) -> frozenset[str]:
    """The whitespace-separated words of `text`, as a set."""
    return frozenset(text.split())


_MAX_DEPTH = 4  # nested `bash -c`, `eval`, `watch` strings analysed before giving up
_EXPANSIONS = _words(
    "simple_expansion expansion command_substitution process_substitution arithmetic_expansion"
)
_SUBSTITUTIONS = frozenset({"command_substitution", "process_substitution"})
_ASSIGNMENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?\+?=")


# --- the result ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Word:
    """One shell word: its text (quotes removed) and whether it expands at run time."""

    text: str
    dynamic: bool = False


@dataclass(frozen=True)
class SimpleCommand:
    """One program the command would run: its words, and the wrappers that start it."""

    words: tuple[Word, ...]
    assignments: tuple[str, ...] = ()
    via: tuple[str, ...] = ()

    @property
    def program(self) -> str:
        """The program's name without its folder (`/bin/rm` gives `rm`); empty when none."""
        return _program_name(self.words[0].text) if self.words else ""

    @property
    def args(self) -> tuple[Word, ...]:
        """The words after the program name."""
        return self.words[1:]

    @property
    def argv(self) -> tuple[str, ...]:
        """All words as text, program first."""
        return tuple(word.text for word in self.words)

    @property
    def dynamic_program(self) -> bool:
        """True when the program name itself is only known at run time (`$CMD args`)."""
        return bool(self.words) and self.words[0].dynamic


@dataclass(frozen=True)
class Redirect:
    """A redirection from or to a file (`> f`, `>> f`, `&> f`, `< f`)."""

    operator: str
    target: Word

    @property
    def writes(self) -> bool:
        """True when the redirection writes to its target."""
        return ">" in self.operator


@dataclass(frozen=True)
class ShellAnalysis:
    """What a bash command would do, judged before it runs."""

    source: str
    parsed_ok: bool
    commands: tuple[SimpleCommand, ...]
    redirects: tuple[Redirect, ...]
    risk: Risk
    reasons: tuple[str, ...]
    sensitive_paths: tuple[str, ...] = ()
    recursive_functions: tuple[str, ...] = ()

    @property
    def read_only(self) -> bool:
        """True when every part of the command only reads."""
        return self.risk is Risk.READ_ONLY

    @property
    def programs(self) -> tuple[str, ...]:
        """Names of the programs the command runs, in order, without repeats."""
        return tuple(dict.fromkeys(cmd.program for cmd in self.commands if cmd.program))


# --- sensitive paths ----------------------------------------------------------------------

_B = r"""(?:^|[/\s=:@'"(<>])"""  # start of a path component
_E = r"""(?=$|[\s'";|)&<>])"""  # end of a word
_ETC = r"""(?:^|[\s=:'"])/etc/"""
_SENSITIVE = tuple(
    (re.compile(pattern), kind)
    for pattern, kind in (
        (rf"{_B}id_(?:rsa|dsa|ecdsa|ed25519)(?:_sk)?{_E}", "a private key"),
        (rf"{_B}[^/\s]*\.(?:pem|key|p12|pfx|ppk|jks|keystore){_E}", "a key file"),
        (rf"{_B}\.ssh(?:/|{_E})", "SSH keys or settings"),
        (rf"{_B}\.gnupg(?:/|{_E})", "GPG keys"),
        (rf"{_B}(?:\.aws|\.azure|\.config/gcloud|\.kube)(?:/|{_E})", "cloud credentials"),
        (rf"{_B}\.docker/config\.json{_E}", "saved registry logins"),
        (
            rf"{_B}(?:\.netrc|\.git-credentials|\.pgpass|\.pypirc|\.npmrc|\.vault-token"
            rf"|\.config/gh/hosts\.yml){_E}",
            "saved passwords or tokens",
        ),
        (rf"{_ETC}g?shadow-?{_E}", "the system's password hashes"),
        (rf"{_ETC}sudoers(?:\.d)?(?:/|{_E})", "the sudo settings"),
        (rf"{_ETC}ssh/ssh_host_\w+_key{_E}", "a private key"),
        (
            rf"{_B}\.env(?!\.(?:example|sample|template|dist){_E})(?:\.[\w.-]+)?{_E}",
            "a .env file with secrets",
        ),
        (rf"{_B}\.config/\S*(?:token|secret|credential|password)", "a saved token"),
        (
            rf"Keychains/|\.keychain(?:-db)?{_E}|\.password-store|/keyrings(?:/|{_E})",
            "a keychain",
        ),
        (rf"{_B}credentials(?:\.json)?{_E}", "saved credentials"),
        (r"/proc/(?:\d+|self|\$\$|\*)/environ", "another program's environment"),
    )
)


def sensitive_kind(text: str) -> str | None:
    """What secret a path names ("a private key", "SSH keys or settings"), or None."""
    if not text or len(text) > 4096:
        return None
    for pattern, kind in _SENSITIVE:
        if pattern.search(text):
            return kind
    return None


# --- parsing ------------------------------------------------------------------------------

_PARSE_LOCK = threading.Lock()  # a tree-sitter Parser is not safe to share between threads


@functools.lru_cache(maxsize=1)
def _parser() -> Parser | None:
    try:
        import tree_sitter
        import tree_sitter_bash
    except ImportError:
        return None
    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_bash.language()))


def parser_available() -> bool:
    """True when tree-sitter-bash is installed, so commands can be checked."""
    return _parser() is not None


def analyse(command: str) -> ShellAnalysis:
    """Judge a bash command: the commands it runs, the files it writes, and its overall risk."""
    walker = _Walker(depth=0, via=())
    parser = _parser()
    if parser is None:
        walker.find(Risk.WRITE, "the shell parser (tree-sitter-bash) is not installed")
        walker.parsed_ok = walker.tree_ok = False
    else:
        walker.analyse_text(parser, command)
    return walker.result(command)


def is_catastrophic(analysis: ShellAnalysis) -> str | None:
    """Why no model plan should ever run this command (wipes the system, a disk...), or None."""
    for name in analysis.recursive_functions:
        return f"it defines a function ({name}) that keeps starting copies of itself (a fork bomb)"
    for redirect in analysis.redirects:
        if redirect.writes and _DISK_RE.match(redirect.target.text):
            return f"it writes straight over the disk {redirect.target.text}, destroying its data"
    for cmd in analysis.commands:
        reason = _catastrophic_command(cmd)
        if reason:
            return reason
    return None


# --- the walker ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    word: Word
    downloads: bool  # expands to the output of a network download (`$(curl x)`, `<(wget x)`)


class _Walker:
    """Collects commands, redirects and findings from one parse tree (and nested strings)."""

    def __init__(self, depth: int, via: tuple[str, ...]) -> None:
        self.depth = depth
        self.via = via
        self.src = b""
        self.parsed_ok = True  # this tree and every nested command string parsed
        self.tree_ok = True  # this tree parsed
        self.commands: list[SimpleCommand] = []
        self.redirects: list[Redirect] = []
        self.findings: list[tuple[Risk, str]] = []
        self.sensitive: list[str] = []
        self.recursive_functions: list[str] = []

    def find(self, risk: Risk, reason: str) -> None:
        self.findings.append((risk, reason))

    def result(self, source: str) -> ShellAnalysis:
        findings = list(self.findings)
        if not self.tree_ok:
            findings.append((Risk.WRITE, PARSE_FAILED))
        risk = max((r for r, _ in findings), key=lambda r: r.rank, default=Risk.READ_ONLY)
        ordered = sorted(
            (f for f in findings if f[0] is not Risk.READ_ONLY), key=lambda f: -f[0].rank
        )
        return ShellAnalysis(
            source=source,
            parsed_ok=self.parsed_ok,
            commands=tuple(self.commands),
            redirects=tuple(self.redirects),
            risk=risk,
            reasons=tuple(dict.fromkeys(reason for _, reason in ordered)),
            sensitive_paths=tuple(dict.fromkeys(self.sensitive)),
            recursive_functions=tuple(dict.fromkeys(self.recursive_functions)),
        )

    # parsing and walking

    def analyse_text(self, parser: Parser, text: str) -> None:
        self.src = text.encode("utf-8", "replace")
        with _PARSE_LOCK:
            tree = parser.parse(self.src)
        root = tree.root_node
        if root.has_error:
            self.parsed_ok = self.tree_ok = False
        self.walk(root)

    def nested(self, text: str, wrapper: str) -> None:
        """Analyse a command string that another program runs (`bash -c "..."`)."""
        parser = _parser()
        if self.depth >= _MAX_DEPTH or parser is None:
            self.find(Risk.WRITE, f"{wrapper} runs a command nested too deeply to check")
            return
        sub = _Walker(self.depth + 1, (*self.via, wrapper))
        sub.analyse_text(parser, text)
        if not sub.parsed_ok:
            self.parsed_ok = False  # the tree itself parsed, so say which part did not
            self.find(Risk.WRITE, f"the command given to {wrapper} could not be parsed")
        self.commands += sub.commands
        self.redirects += sub.redirects
        self.findings += sub.findings
        self.sensitive += sub.sensitive
        self.recursive_functions += sub.recursive_functions

    def text(self, node: Node) -> str:
        return self.src[node.start_byte : node.end_byte].decode("utf-8", "replace")

    def walk(self, root: Node) -> None:
        stack = [root]  # iterative: long `a && b && ...` lists nest deeper than Python recursion
        while stack:
            node = stack.pop()
            kind = node.type
            if kind == "command":
                self.command(node)
            elif kind == "file_redirect":
                self.file_redirect(node)
            elif kind == "function_definition":
                self.function(node)
            elif kind == "pipeline":
                self.pipeline(node)
            elif kind == "variable_assignment":
                self.assignment(self.text(node))
            stack.extend(reversed(node.children))

    def word(self, node: Node) -> Word:
        return Word(self.unquote(node), _has_descendant(node, _EXPANSIONS))

    def unquote(self, node: Node) -> str:
        kind = node.type
        raw = self.text(node)
        if kind == "word":
            return re.sub(r"\\(.)", r"\1", raw.replace("\\\n", ""), flags=re.S)
        if kind == "raw_string":
            return raw[1:-1]
        if kind == "ansi_c_string":
            return _ansi_c(raw[2:-1])
        if kind in ("string", "translated_string"):
            parts = []
            for child in node.children:
                if child.type == "string_content":
                    parts.append(re.sub(r'\\([$`"\\])', r"\1", self.text(child)))
                elif child.is_named:
                    parts.append(self.text(child))
            return "".join(parts)
        if kind == "concatenation":
            return "".join(self.unquote(child) for child in node.children)
        return raw

    def tokens(self, node: Node) -> list[_Token]:
        """The name and argument words of a `command` node, in order."""
        out = []
        name = node.child_by_field_name("name")
        parts = ([name.named_children[0]] if name and name.named_children else []) + list(
            node.children_by_field_name("argument")
        )
        for part in parts:
            if part.is_missing or part.start_byte == part.end_byte:
                continue
            out.append(_Token(self.word(part), self.has_download(part)))
        return out

    def has_download(self, node: Node) -> bool:
        """True when a substitution inside `node` runs a program that fetches from the network."""
        for sub in _descendants(node, _SUBSTITUTIONS, include_self=True):
            for cmd in _descendants(sub, frozenset({"command"})):
                words = [t.word for t in self.tokens(cmd)]
                if _effective_program(words) in _FETCHERS:
                    return True
        return False

    # node handlers

    def command(self, node: Node) -> None:
        redirects = [c for c in node.children if c.type.endswith("_redirect")]
        parent = node.parent
        if parent is not None and parent.type == "redirected_statement":
            body = parent.child_by_field_name("body")
            if body is not None and body.id == node.id:
                redirects += [c for c in parent.children if c.type.endswith("_redirect")]
        assignments = tuple(self.text(c) for c in node.children if c.type == "variable_assignment")
        tokens = self.tokens(node)
        if tokens:
            _Command(self, tokens, assignments, redirects, self.via).judge()

    def file_redirect(self, node: Node) -> None:
        dest = node.child_by_field_name("destination")
        if dest is None:
            return
        operator = "".join(
            self.text(c) for c in node.children if not c.is_named and c.type != "file_descriptor"
        )
        if (dest.type == "number" and ">&" in operator) or "<&" in operator:
            return  # `2>&1`: a copy of another descriptor, not a file
        target = self.word(dest)
        if target.text == "-" or _HARMLESS_DEVICE_RE.match(target.text):
            return
        redirect = Redirect(operator, target)
        self.redirects.append(redirect)
        self.check_sensitive([target])
        if redirect.writes:
            verb = "appends to" if ">>" in operator else "writes to"
            self.find(*_write_target(target, verb))

    def function(self, node: Node) -> None:
        name_node = node.child_by_field_name("name")
        body = node.child_by_field_name("body")
        if name_node is None or body is None:
            return
        name = self.text(name_node)
        calls_itself = any(
            [t.word.text for t in self.tokens(cmd)][:1] == [name]
            for cmd in _descendants(body, frozenset({"command"}))
        )
        spreads = _has_descendant(body, frozenset({"pipeline", "&"}))
        if calls_itself and spreads:
            self.recursive_functions.append(name)
            self.find(Risk.DESTRUCTIVE, f"the function {name} keeps starting copies of itself")

    def pipeline(self, node: Node) -> None:
        fetched = False
        for stage in node.named_children:
            programs = [
                [t.word for t in self.tokens(cmd)]
                for cmd in _descendants(
                    stage, frozenset({"command"}), skip=_SUBSTITUTIONS, include_self=True
                )
            ]
            if fetched and any(_reads_code_from_stdin(words) for words in programs):
                self.find(Risk.PRIVILEGED, DOWNLOAD_EXEC)
            if any(_effective_program(words) in _FETCHERS for words in programs):
                fetched = True

    def assignment(self, text: str) -> None:
        name = re.split(r"[\[+=]", text, maxsplit=1)[0]
        if name in _DANGEROUS_VARIABLES or name.startswith(("LD_", "DYLD_")):
            self.find(Risk.WRITE, f"setting {name} changes which programs run or how")

    def check_sensitive(self, words: Sequence[Word]) -> None:
        for word in words:
            if sensitive_kind(word.text):
                self.sensitive.append(word.text)


def _ansi_c(body: str) -> str:
    table = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "e": "\x1b"}
    return re.sub(r"\\(.)", lambda m: table.get(m.group(1), m.group(0)), body)


def _descendants(
    node: Node,
    kinds: frozenset[str],
    skip: frozenset[str] = frozenset(),
    include_self: bool = False,
) -> Iterator[Node]:
    stack = [node] if include_self else list(reversed(node.children))
    while stack:
        child = stack.pop()
        if child.type in kinds:
            yield child
        if child.type not in skip:
            stack.extend(reversed(child.children))


def _has_descendant(node: Node, kinds: frozenset[str]) -> bool:
    return node.type in kinds or next(_descendants(node, kinds), None) is not None


# --- small helpers on words ---------------------------------------------------------------


def _program_name(text: str) -> str:
    return text.rsplit("/", 1)[-1] if "/" in text.rstrip("/") else text


def _is_option(word: Word) -> bool:
    return word.text.startswith("-") and len(word.text) > 1 and not word.dynamic


def _short_letters(args: Sequence[Word], takes_value: str = "") -> str:
    """Letters of short option clusters (`-rf` gives `rf`), up to `--`.

    A letter in `takes_value` ends its cluster: the rest is its value (`-k2` gives `k`).
    """
    out = []
    for arg in args:
        if arg.text == "--":
            break
        if _is_option(arg) and not arg.text.startswith("--"):
            for letter in arg.text[1:]:
                out.append(letter)
                if letter in takes_value:
                    break
    return "".join(out)


def _long_options(args: Sequence[Word]) -> set[str]:
    return {a.text.split("=", 1)[0] for a in args if a.text.startswith("--") and len(a.text) > 2}


def _positionals(
    args: Sequence[Word], takes_value: str = "", long_values: Collection[str] = ()
) -> list[Word]:
    """Words that are not options or option values."""
    out: list[Word] = []
    i = 0
    only_positional = False
    while i < len(args):
        arg = args[i]
        text = arg.text
        if only_positional or not _is_option(arg):
            out.append(arg)
        elif text == "--":
            only_positional = True
        elif text.startswith("--"):
            if "=" not in text and text in long_values:
                i += 1
        else:
            letters = text[1:]
            for j, letter in enumerate(letters):
                if letter in takes_value:
                    if j == len(letters) - 1:
                        i += 1
                    break
        i += 1
    return out


def _names(words: Sequence[Word], limit: int = 3) -> str:
    texts = [w.text for w in words]
    if len(texts) > limit:
        return ", ".join(texts[:limit]) + f" and {len(texts) - limit} more"
    return ", ".join(texts)


_HARMLESS_DEVICE_RE = re.compile(
    r"^/dev/(null|zero|full|stdout|stderr|stdin|tty|fd/\d+)$|^/proc/self/fd/\d+$"
)
_DISK_RE = re.compile(
    r"^/dev/(sd[a-z]|hd[a-z]|vd[a-z]|xvd[a-z]|nvme\d|mmcblk\d|r?disk\d|md\d|dm-\d|mapper/|loop\d)"
)
_SYSTEM_WRITE_RE = re.compile(r"^/(etc|usr|bin|sbin|boot|lib|lib32|lib64|sys|proc/sys)(/|$)")


def _write_target(target: Word, verb: str) -> tuple[Risk, str]:
    """The risk of writing to one file, and a sentence saying so."""
    text = target.text
    if _DISK_RE.match(text) or (text.startswith("/dev/") and not _HARMLESS_DEVICE_RE.match(text)):
        return Risk.DESTRUCTIVE, f"{verb} the device {text} directly"
    if _SYSTEM_WRITE_RE.match(posixpath.normpath(text) if text.startswith("/") else text):
        return Risk.PRIVILEGED, f"{verb} the system file {text}"
    if target.dynamic:
        return Risk.WRITE, f"{verb} a file named at run time ({text})"
    return Risk.WRITE, f"{verb} {text}"


# --- catastrophes -------------------------------------------------------------------------

_CRITICAL_DIRS = _words(
    "/ ~ /home /etc /usr /bin /sbin /boot /var /lib /lib32 /lib64 /opt /root /dev /sys /proc "
    "/srv /Users /System /Library /Applications"
)
_HOME = "/home/\0you"  # stands for `~` while normalising `~/..` and `$HOME/.`
_HOME_RE = re.compile(r"^(\$HOME|\$\{HOME\})(?=/|$)")


def _critical_dir(text: str) -> str | None:
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


def _catastrophic_command(cmd: SimpleCommand) -> str | None:
    prog = cmd.program
    args = cmd.args
    letters = _short_letters(args)
    longs = _long_options(args)
    recursive = bool(set(letters) & {"r", "R"}) or "--recursive" in longs
    if prog == "rm" and recursive:
        for target in _positionals(args):
            critical = _critical_dir(target.text)
            if critical:
                return f"rm -r {target.text} deletes {_describe_dir(critical)}"
    if prog == "find" and any(a.text in ("-delete", "-exec", "-execdir") for a in args):
        deletes = any(a.text == "-delete" for a in args) or any(
            a.text in ("-exec", "-execdir") and i + 1 < len(args) and args[i + 1].text == "rm"
            for i, a in enumerate(args)
        )
        for start in _find_starts(args):
            critical = _critical_dir(start.text)
            if deletes and critical:
                return f"find {start.text} with delete removes {_describe_dir(critical)}"
    if prog in ("chmod", "chown", "chgrp") and recursive:
        for target in _positionals(args)[1:]:
            critical = _critical_dir(target.text)
            if critical and critical != "~":
                return f"{prog} -R on {target.text} breaks {_describe_dir(critical)}"
    if prog.startswith("mkfs") or prog in ("mke2fs", "mkswap", "wipefs", "shred", "blkdiscard"):
        for target in _positionals(args):
            if _DISK_RE.match(target.text):
                return f"{prog} erases the disk {target.text}"
    if prog == "dd":
        for arg in args:
            if arg.text.startswith("of=") and _DISK_RE.match(arg.text[3:]):
                return f"dd overwrites the disk {arg.text[3:]}"
    targets = _positionals(args)
    if prog == "tee" or (prog in ("cp", "mv", "install") and len(targets) >= 2):
        for target in targets if prog == "tee" else targets[-1:]:
            if _DISK_RE.match(target.text):
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


# --- program knowledge --------------------------------------------------------------------

_READ_ONLY = _words("""
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

_WRITES = {
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

_DESTRUCTIVE = {
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

_PRIVILEGED = {
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
        _words(
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

_NETWORK = {
    "curl": "curl downloads from or sends data to the network",
    "wget": "wget downloads files from the network",
    "ssh": "ssh connects to another machine",
    "scp": "scp copies files over the network",
    "sftp": "sftp copies files over the network",
    **dict.fromkeys(
        _words(
            "nc ncat netcat socat telnet ftp tftp lftp ping ping6 traceroute tracepath mtr dig "
            "nslookup host whois nmap http https aria2c rclone fetch npx bunx pnpx"
        ),
        "{prog} uses the network",
    ),
}

_FETCHERS = _words("curl wget fetch http https aria2c nc ncat netcat socat ftp tftp lftp")
_SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish", "csh", "tcsh"})
_INTERPRETER_RE = re.compile(
    r"^(python[\d.]*|pypy3?|perl[\d.]*|ruby[\d.]*|node|nodejs|deno|bun|php[\d.]*|lua[\d.]*|"
    r"luajit|Rscript|pwsh|powershell|osascript|tclsh|wish|irb|jshell|groovy|julia)$"
)
_CODE_FLAGS = frozenset({"-c", "-e", "-E", "-r", "--eval", "-p", "--print", "--command"})
_INFO_FLAGS = frozenset({"--version", "-V", "--help"})
_DANGEROUS_VARIABLES = _words("""
    PATH BASH_ENV ENV IFS PROMPT_COMMAND PS4 SHELLOPTS BASHOPTS PAGER MANPAGER GIT_PAGER
    GIT_EXTERNAL_DIFF GIT_SSH GIT_SSH_COMMAND GIT_EDITOR GIT_CONFIG GIT_CONFIG_GLOBAL
    GIT_CONFIG_COUNT GIT_DIR GIT_EXEC_PATH LESSOPEN LESSCLOSE EDITOR VISUAL PYTHONPATH
    PYTHONSTARTUP PYTHONHOME PERL5LIB PERL5OPT RUBYOPT NODE_OPTIONS SYSTEMD_PAGER
    """)


def _is_interpreter(prog: str) -> bool:
    return prog in _SHELLS or bool(_INTERPRETER_RE.match(prog))


@dataclass(frozen=True)
class _Wrapper:
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
            if not _is_option(arg):
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
        while self.assignments and i < len(args) and _ASSIGNMENT_RE.match(args[i].text):
            i += 1
        i += self.positionals
        return (i if i < len(args) else None), unknown


_DIGITS = "0123456789"
_WRAPPERS = {
    "sudo": _Wrapper(
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
    "doas": _Wrapper("ns", "uC", no_command="L", risk=Risk.PRIVILEGED),
    "pkexec": _Wrapper(
        "", "", "--disable-internal-agent --keep-cwd", "--user", risk=Risk.PRIVILEGED
    ),
    "chroot": _Wrapper(
        "", "", "--skip-chdir", "--userspec --groups", positionals=1, risk=Risk.PRIVILEGED
    ),
    "nice": _Wrapper(_DIGITS, "n", "", "--adjustment"),
    "ionice": _Wrapper("t", "cn", "--ignore", "--class --classdata", no_command="pPu"),
    "timeout": _Wrapper(
        "v",
        "sk",
        "--preserve-status --foreground --verbose",
        "--signal --kill-after",
        positionals=1,
    ),
    "time": _Wrapper("pavq", "fo", "--portability --append --verbose --quiet", "--format --output"),
    "nohup": _Wrapper(),
    "setsid": _Wrapper("cfw", "", "--ctty --fork --wait"),
    "stdbuf": _Wrapper("", "ioe", "", "--input --output --error"),
    "env": _Wrapper(
        "i0v",
        "uCS",
        "--ignore-environment --null --debug",
        "--unset --chdir --split-string",
        assignments=True,
    ),
    "command": _Wrapper("p", no_command="vV"),
    "builtin": _Wrapper(),
    "exec": _Wrapper("cl", "a"),
    "coproc": _Wrapper(),
    "busybox": _Wrapper(),
    "unbuffer": _Wrapper("p"),
    "strace": _Wrapper("cCdDfFhiqrtTvwxyzZk", "abeEIoOpPsSuUX"),
    "xargs": _Wrapper(
        "0prtxoeil",
        "aEIdLnPs",
        "--null --interactive --no-run-if-empty --verbose --exit --open-tty --show-limits "
        "--eof --replace --max-lines",
        "--arg-file --delimiter --max-args --max-procs --max-chars --process-slot-var",
    ),
    "watch": _Wrapper(
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
        wrapper = _WRAPPERS.get(_program_name(words[0].text))
        if wrapper is None or words[0].dynamic:
            break
        start, _ = wrapper.parse(words[1:])
        if start is None:
            break
        words = words[1 + start :]
        seen += 1
    return words


def _effective_program(words: Sequence[Word]) -> str:
    inner = _effective_words(words)
    return _program_name(inner[0].text) if inner and not inner[0].dynamic else ""


def _reads_code_from_stdin(words: Sequence[Word]) -> bool:
    """True for an interpreter that takes its program from standard input (`curl x | sh`)."""
    inner = _effective_words(words)
    if not inner or inner[0].dynamic:
        return False
    prog = _program_name(inner[0].text)
    if not _is_interpreter(prog):
        return False
    args = inner[1:]
    if prog in _SHELLS:
        code, script = _shell_arguments(prog, args)
        return code is None and (
            script is None or script.text == "-" or any(a.text == "-s" for a in args)
        )
    if any(a.text in _CODE_FLAGS or a.text.startswith("-m") for a in args):
        return False
    return not _positionals(args, "WX") or any(a.text == "-" for a in args)


def _shell_arguments(prog: str, args: Sequence[Word]) -> tuple[int | None, Word | None]:
    """For a shell's arguments: the index of its `-c` code word, and its script word."""
    i = 0
    while i < len(args):
        arg = args[i]
        text = arg.text
        if text == "--":
            return None, args[i + 1] if i + 1 < len(args) else None
        if not (_is_option(arg) or (text.startswith("+") and len(text) > 1)):
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
    return prog in _SHELLS and _is_option(arg) and not text.startswith("--") and "c" in text[1:]


# --- judging one simple command -----------------------------------------------------------


class _Command:
    """Applies the rules of one program to one simple command."""

    def __init__(
        self,
        walker: _Walker,
        tokens: Sequence[_Token],
        assignments: tuple[str, ...],
        redirects: Sequence[Node],
        via: tuple[str, ...],
    ) -> None:
        self.walker = walker
        self.tokens = list(tokens)
        self.words = [t.word for t in tokens]
        self.assignments = assignments
        self.redirects = redirects
        self.via = via
        self.prog = _program_name(self.words[0].text)
        self.args = self.words[1:]

    def find(self, risk: Risk, reason: str) -> None:
        self.walker.find(risk, reason)

    def judge(self) -> None:
        walker = self.walker
        walker.commands.append(SimpleCommand(tuple(self.words), self.assignments, self.via))
        walker.check_sensitive(self.args)
        first = self.tokens[0]
        if len(self.via) > 16:
            self.find(Risk.WRITE, "the command nests too many wrappers to check")
            return
        if first.word.dynamic:
            if first.downloads:
                self.find(Risk.PRIVILEGED, DOWNLOAD_EXEC)
            else:
                self.find(
                    Risk.WRITE, f"the program to run is only known at run time ({first.word.text})"
                )
            return
        prog = self.prog
        if not prog:
            self.find(Risk.WRITE, "the command has an empty program name")
            return
        if prog in _WRAPPERS:
            self.wrapper(_WRAPPERS[prog])
            return
        if _is_interpreter(prog) or prog in ("eval", "source", "."):
            self.interpreter()
            return
        rule = _RULES.get(prog)
        if rule is not None:
            rule(self)
        elif prog in _READ_ONLY:
            return
        elif prog in _DESTRUCTIVE:
            self.find(Risk.DESTRUCTIVE, _DESTRUCTIVE[prog])
        elif prog in _PRIVILEGED:
            self.find(Risk.PRIVILEGED, _PRIVILEGED[prog].format(prog=prog))
        elif prog in _NETWORK:
            self.find(Risk.NETWORK, _NETWORK[prog].format(prog=prog))
        elif prog in _WRITES:
            self.find(Risk.WRITE, _WRITES[prog])
        elif prog.startswith("mkfs"):
            self.find(Risk.DESTRUCTIVE, f"{prog} formats a disk, erasing everything on it")
        else:
            self.find(Risk.WRITE, f"{prog} is not known to be read-only")

    def run_inner(self, start: int, wrapper: str) -> None:
        """Judge the command that starts at `args[start]` as one run by `wrapper`."""
        tokens = self.tokens[1 + start :]
        if tokens:
            _Command(self.walker, tokens, (), self.redirects, (*self.via, wrapper)).judge()

    def wrapper(self, spec: _Wrapper) -> None:
        prog, args = self.prog, self.args
        start, unknown = spec.parse(args)
        if unknown is not None:
            self.find(Risk.WRITE, f"{prog} {unknown} is an option that could not be checked")
        inner = _program_name(args[start].text) if start is not None else ""
        if spec.risk is Risk.PRIVILEGED:
            doing = f"runs {inner} as root" if inner else "gives root rights"
            if prog == "chroot":
                doing = "runs a command inside another root folder"
            self.find(Risk.PRIVILEGED, f"{prog} {doing}")
        if spec.assignments:
            end = len(args) if start is None else start
            for arg in args[:end]:
                if _ASSIGNMENT_RE.match(arg.text):
                    self.walker.assignment(arg.text)
        if prog == "env":
            for i, arg in enumerate(args[: start if start is not None else len(args)]):
                if arg.text in ("-S", "--split-string") and i + 1 < len(args):
                    self.walker.nested(args[i + 1].text, "env -S")
                elif arg.text.startswith(("-S", "--split-string=")) and len(arg.text) > 2:
                    self.walker.nested(arg.text.split("=", 1)[-1].removeprefix("-S"), "env -S")
        if prog in ("time", "strace"):
            out = _option_value(args[: start if start is not None else len(args)], "o", "--output")
            if out is not None:
                self.find(*_write_target(out, "writes to"))
        if prog == "watch" and start is not None:
            if "x" in _short_letters(args[:start]) or "--exec" in _long_options(args[:start]):
                self.run_inner(start, prog)
            else:
                self.walker.nested(" ".join(a.text for a in args[start:]), prog)
            return
        if start is not None:
            self.run_inner(start, prog)

    def interpreter(self) -> None:
        prog, args = self.prog, self.args
        if prog in ("eval", "source", "."):
            if prog == "eval":
                self.string_code(args, "eval", any(t.downloads for t in self.tokens[1:]))
            else:
                self.script(args[0] if args else None, downloads=self.downloads(0))
            return
        if args and all(a.text in _INFO_FLAGS for a in args):
            return
        if prog in _SHELLS:
            code, script = _shell_arguments(prog, args)
            if code is not None:
                self.string_code(args[code : code + 1], f"{prog} -c", self.downloads(code))
            elif (
                script is not None and script.text != "-" and not any(a.text == "-s" for a in args)
            ):
                self.script(script, downloads=self.downloads(args.index(script)))
            else:
                self.stdin_code()
            return
        for i, arg in enumerate(args):
            if arg.text in _CODE_FLAGS:
                if self.downloads(i + 1):
                    self.find(Risk.PRIVILEGED, DOWNLOAD_EXEC)
                self.find(Risk.WRITE, f"{prog} runs code given on the command line")
                return
            if arg.text == "-m" and i + 1 < len(args):
                self.python_module(args[i + 1].text, args[i + 2 :])
                return
            if arg.text.startswith("-m") and len(arg.text) > 2 and prog.startswith("python"):
                self.python_module(arg.text[2:], args[i + 1 :])
                return
            if not _is_option(arg):
                self.script(arg, downloads=self.downloads(i))
                return
        self.stdin_code()

    def downloads(self, arg_index: int) -> bool:
        index = arg_index + 1
        return 0 < index < len(self.tokens) and self.tokens[index].downloads

    def string_code(self, code: Sequence[Word], wrapper: str, downloads: bool) -> None:
        """Code given as a string (`bash -c "..."`, `eval ...`): analysed like a command."""
        if downloads:
            self.find(Risk.PRIVILEGED, DOWNLOAD_EXEC)
        if not code:
            return
        if any(word.dynamic for word in code):
            self.find(Risk.WRITE, f"{wrapper} runs a command built at run time")
        self.walker.nested(" ".join(word.text for word in code), wrapper)

    def script(self, script: Word | None, downloads: bool) -> None:
        if downloads:
            self.find(Risk.PRIVILEGED, DOWNLOAD_EXEC)
        if script is None:
            self.find(Risk.WRITE, f"{self.prog} runs commands from another file")
        else:
            self.find(Risk.WRITE, f"{self.prog} runs the script {script.text}")

    def stdin_code(self) -> None:
        """An interpreter reading its program from standard input: a heredoc, a file, a pipe."""
        walker = self.walker
        for node in self.redirects:
            if node.type == "heredoc_redirect" and self.prog in _SHELLS:
                body = next((c for c in node.children if c.type == "heredoc_body"), None)
                walker.nested(walker.text(body) if body is not None else "", self.prog)
                return
            if node.type == "herestring_redirect" and self.prog in _SHELLS:
                value = next((c for c in node.named_children), None)
                if value is not None:
                    if walker.has_download(value):
                        self.find(Risk.PRIVILEGED, DOWNLOAD_EXEC)
                    walker.nested(walker.unquote(value), self.prog)
                return
            if node.type == "file_redirect" and "<" in walker.text(node).split()[0]:
                if walker.has_download(node):
                    self.find(Risk.PRIVILEGED, DOWNLOAD_EXEC)
        self.find(Risk.WRITE, f"{self.prog} runs code from its input")

    def python_module(self, module: str, rest: Sequence[Word]) -> None:
        if module in ("pip", "pip3"):
            _subcommand_rule("pip", _SUBCOMMAND_TABLES["pip"], self, rest)
        elif module == "http.server":
            self.find(Risk.NETWORK, "python -m http.server shares files over the network")
        else:
            self.find(Risk.WRITE, f"{self.prog} runs the module {module}")


def _option_value(args: Sequence[Word], short: str, long: str) -> Word | None:
    for i, arg in enumerate(args):
        text = arg.text
        if text.startswith(long + "="):
            return Word(text.split("=", 1)[1], arg.dynamic)
        if text == long or text == f"-{short}":
            return args[i + 1] if i + 1 < len(args) else None
        if text.startswith(f"-{short}") and not text.startswith("--"):
            return Word(text[2:], arg.dynamic)
    return None


# --- rules for single programs ------------------------------------------------------------

_Rule = Callable[["_Command"], None]


def _rule_rm(c: _Command) -> None:
    targets = [t for t in _positionals(c.args) if t.text != "{}"]
    what = _names(targets) if targets else "files"
    c.find(Risk.DESTRUCTIVE, f"rm deletes {what}")


def _rule_kill(c: _Command) -> None:
    texts = [a.text for a in c.args]
    if not texts or texts[0] in ("-l", "-L", "--list", "--table", "-0"):
        return  # lists signals, or only checks that a process exists
    if texts[:2] in (["-s", "0"], ["-n", "0"]):
        return
    c.find(Risk.DESTRUCTIVE, "kill stops processes")


def _rule_find(c: _Command) -> None:
    args = c.args
    i = 0
    while i < len(args):
        text = args[i].text
        if text == "-delete":
            c.find(Risk.DESTRUCTIVE, "find -delete deletes the files it finds")
        elif text in ("-exec", "-execdir", "-ok", "-okdir"):
            end = i + 1
            while end < len(args) and args[end].text not in (";", "+"):
                end += 1
            if end == i + 1:
                c.find(Risk.WRITE, f"find {text} runs a command")
            else:
                _Command(
                    c.walker, c.tokens[i + 2 : end + 1], (), (), (*c.via, f"find {text}")
                ).judge()
            i = end
        elif text in ("-fprint", "-fprint0", "-fprintf", "-fls") and i + 1 < len(args):
            c.find(*_write_target(args[i + 1], "writes to"))
        i += 1


def _rule_sed(c: _Command) -> None:
    scripts: list[Word] = []
    files: list[Word] = []
    in_place = script_file = sandbox = False
    args = c.args
    i = 0
    only_positional = False
    while i < len(args):
        arg = args[i]
        text = arg.text
        if only_positional or not _is_option(arg):
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
    elif sandbox:
        return
    elif script_file:
        c.find(Risk.WRITE, "sed -f runs a script file that could write files")
    elif any(s.dynamic or not _sed_script_is_safe(s.text) for s in scripts):
        c.find(Risk.WRITE, "the sed script can write files or run commands")


def _sed_script_is_safe(script: str) -> bool:
    """True when a sed script only prints: no `w`, `W`, `e` commands and no `s///w` or `e`."""
    i, n = 0, len(script)

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
                    return False
            i = skip_delimited(i + 1, script[i])
            if i < 0:
                return False
        elif ch in "sy":
            if i + 1 >= n or script[i + 1] in "\n\\":
                return False
            delim = script[i + 1]
            i = skip_delimited(i + 2, delim)
            if i < 0:
                return False
            i = skip_delimited(i, delim)
            if i < 0:
                return False
            while i < n and script[i] in "gpiImMew0123456789":
                if script[i] in "we":
                    return False
                i += 1
        elif ch in "aic":
            i = skip_line(i)
        elif ch in "rRbtT:":
            i = skip_line(i, "\n" if ch in "rR" else "\n;")
        elif ch in "qQlLzFdDgGhHnNpPx=":
            i += 1
        else:  # w, W, e and anything not understood
            return False
    return True


_AWK_SAFE_FLAGS = frozenset("bcPrtLnNOsMSh")
_AWK_SAFE_LONG = _words("--version --help --posix --traditional --characters-as-bytes")
_AWK_DANGER = re.compile(r"system|getline|[|>@]|\bclose\b|PROCINFO")


def _rule_awk(c: _Command) -> None:
    program: Word | None = None
    sandbox = False
    unsafe = ""
    args = c.args
    i = 0
    while i < len(args):
        arg = args[i]
        text = arg.text
        if text == "--" or not _is_option(arg):
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
        c.find(Risk.WRITE, f"awk {unsafe} can run programs or write files")
    elif program is None:
        c.find(Risk.WRITE, "awk runs a program that could not be checked")
    elif not sandbox and (program.dynamic or _AWK_DANGER.search(program.text)):
        c.find(Risk.WRITE, "the awk program can run commands or write files")


def _rule_copy(c: _Command) -> None:
    c.find(Risk.WRITE, _WRITES[c.prog])
    dest = _option_value(c.args, "t", "--target-directory")
    files = _positionals(c.args, "tSmog", ("--target-directory", "--suffix"))
    if dest is None and len(files) >= 2:
        dest = files[-1]
    if dest is not None:
        risk, reason = _write_target(dest, f"{c.prog} writes to")
        if risk.rank > Risk.WRITE.rank:
            c.find(risk, reason)


def _rule_tee(c: _Command) -> None:
    verb = (
        "appends to"
        if "a" in _short_letters(c.args) or "--append" in _long_options(c.args)
        else "writes to"
    )
    for target in _positionals(c.args):
        if not _HARMLESS_DEVICE_RE.match(target.text):
            c.find(*_write_target(target, verb))


def _rule_output_option(short: str, long: str, takes_value: str) -> _Rule:
    def rule(c: _Command) -> None:
        letters = _short_letters(c.args, takes_value)
        if short in letters or long in _long_options(c.args):
            out = _option_value(c.args, short, long)
            if out is not None and not _HARMLESS_DEVICE_RE.match(out.text):
                c.find(*_write_target(out, f"{c.prog} writes to"))
            elif out is None:
                c.find(Risk.WRITE, f"{c.prog} -{short} writes to a file")

    return rule


def _rule_two_files(takes_value: str) -> _Rule:
    def rule(c: _Command) -> None:
        files = _positionals(c.args, takes_value)
        if len(files) >= 2 and not _HARMLESS_DEVICE_RE.match(files[1].text):
            c.find(*_write_target(files[1], f"{c.prog} writes to"))

    return rule


def _rule_less(c: _Command) -> None:
    if any(a.text.startswith("+") for a in c.args):
        c.find(Risk.WRITE, "less +CMD runs a command as it starts")
    letters = _short_letters(c.args)
    if "o" in letters or "O" in letters or _long_options(c.args) & {"--log-file", "--LOG-FILE"}:
        c.find(Risk.WRITE, "less -o copies its input into a file")


def _rule_man(c: _Command) -> None:
    letters = _short_letters(c.args)
    if "P" in letters or "H" in letters or _long_options(c.args) & {"--pager", "--html"}:
        c.find(Risk.WRITE, "man -P runs another program as its pager")


def _rule_rg(c: _Command) -> None:
    if "--pre" in _long_options(c.args):
        c.find(Risk.WRITE, "rg --pre runs another program on each file")


def _rule_date(c: _Command) -> None:
    value_opts = "dfrIs"
    if (
        "s" in _short_letters(c.args, value_opts)
        or "--set" in _long_options(c.args)
        or any(
            not p.text.startswith("+")
            for p in _positionals(c.args, value_opts, ("--date", "--file"))
        )
    ):
        c.find(Risk.PRIVILEGED, "date -s changes the system clock")


def _rule_hostname(c: _Command) -> None:
    if _positionals(c.args) or set(_short_letters(c.args)) & {"F", "b"}:
        c.find(Risk.PRIVILEGED, "hostname NAME changes the machine's name")


def _rule_dmesg(c: _Command) -> None:
    if set(_short_letters(c.args)) & {"c", "C", "n", "D", "E"} or _long_options(c.args) & _words(
        "--clear --read-clear --console-level --console-off --console-on"
    ):
        c.find(Risk.PRIVILEGED, "dmesg changes the kernel log")


def _rule_sysctl(c: _Command) -> None:
    if set(_short_letters(c.args)) & {"w", "p"} or any("=" in p.text for p in _positionals(c.args)):
        c.find(Risk.PRIVILEGED, "sysctl changes kernel settings")


def _rule_mount(c: _Command) -> None:
    if _positionals(c.args, "tOoLU"):
        c.find(Risk.PRIVILEGED, "mount mounts file systems")


def _rule_partition(c: _Command) -> None:
    letters = _short_letters(c.args)
    if (letters and set(letters) <= {"l", "s", "d"}) or "--list" in _long_options(c.args):
        return
    c.find(Risk.DESTRUCTIVE, f"{c.prog} changes disk partitions")


def _rule_dd(c: _Command) -> None:
    out = next((a.text[3:] for a in c.args if a.text.startswith("of=")), None)
    if out is None:
        c.find(Risk.DESTRUCTIVE, "dd writes raw data and can overwrite whole disks")
    elif not _HARMLESS_DEVICE_RE.match(out):
        c.find(Risk.DESTRUCTIVE, f"dd overwrites {out}")


def _rule_crontab(c: _Command) -> None:
    letters = _short_letters(c.args)
    if "r" in letters:
        c.find(Risk.DESTRUCTIVE, "crontab -r deletes all scheduled jobs")
    elif "l" not in letters:
        c.find(Risk.WRITE, "crontab changes scheduled jobs")


def _rule_recursive_perm(c: _Command) -> None:
    if "R" in _short_letters(c.args) or "--recursive" in _long_options(c.args):
        for target in _positionals(c.args)[1:]:
            if _critical_dir(target.text):
                c.find(Risk.DESTRUCTIVE, f"{c.prog} -R changes every file under {target.text}")
                return
    c.find(Risk.WRITE, _WRITES[c.prog])


def _rule_rsync(c: _Command) -> None:
    positional = _positionals(c.args, "efBT", ("--rsh", "--exclude", "--include"))
    remote = any(re.match(r"^([^/]*:|rsync://)", p.text) for p in positional)
    if any(
        o.startswith("--delete") or o.startswith("--remove-source") for o in _long_options(c.args)
    ):
        c.find(Risk.DESTRUCTIVE, "rsync --delete deletes files at the destination")
    if remote:
        c.find(Risk.NETWORK, "rsync copies files over the network")
    else:
        c.find(Risk.WRITE, "rsync copies files")


def _rule_tar(c: _Command) -> None:
    first = c.args[0].text if c.args else ""
    letters = _short_letters(c.args) + (first if first and not first.startswith("-") else "")
    longs = _long_options(c.args)
    listing = "t" in letters or "--list" in longs
    changing = set(letters) & set("xcruA") or longs & _words(
        "--extract --get --create --append --update --delete --to-command --use-compress-program"
    )
    if not listing or changing or "I" in letters:
        c.find(Risk.WRITE, "tar creates or unpacks archives")


def _rule_unzip(c: _Command) -> None:
    if not set(_short_letters(c.args)) & {"l", "Z", "t", "v", "p", "c"}:
        c.find(Risk.WRITE, "unzip unpacks files")


def _rule_compress(c: _Command) -> None:
    letters = set(_short_letters(c.args))
    longs = _long_options(c.args)
    if letters & {"c", "l", "t"} or longs & {"--stdout", "--to-stdout", "--list", "--test"}:
        return
    c.find(Risk.WRITE, f"{c.prog} replaces files with (de)compressed copies")


def _rule_ifconfig(c: _Command) -> None:
    if len(_positionals(c.args)) >= 2:
        c.find(Risk.PRIVILEGED, "ifconfig changes network settings")


def _rule_ip(c: _Command) -> None:
    args = c.args
    i = 0
    while i < len(args) and _is_option(args[i]):
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


_SYSTEMCTL_READ = _words(
    """status show cat list-units list-unit-files list-sockets list-timers list-jobs
    list-dependencies list-machines list-automounts list-paths is-active is-enabled is-failed
    is-system-running get-default show-environment help"""
)
_SYSTEMCTL_POWER = _words(
    """poweroff reboot halt kexec suspend hibernate hybrid-sleep suspend-then-hibernate
    rescue emergency soft-reboot"""
)


def _rule_systemctl(c: _Command) -> None:
    positional = _positionals(
        c.args,
        "tpHMnos",
        _words(
            "--type --property --state --host --machine --lines --output --root --signal "
            "--kill-whom --job-mode"
        ),
    )
    if not positional:
        return
    sub = positional[0].text
    if sub in _SYSTEMCTL_READ:
        return
    if sub in _SYSTEMCTL_POWER:
        c.find(Risk.PRIVILEGED, f"systemctl {sub} stops or restarts the machine")
    elif "--user" in _long_options(c.args):
        c.find(Risk.WRITE, f"systemctl {sub} changes your user services")
    else:
        c.find(Risk.PRIVILEGED, f"systemctl {sub} changes system services")


def _rule_service(c: _Command) -> None:
    positional = [p.text for p in _positionals(c.args)]
    if "--status-all" in _long_options(c.args) or positional[1:2] == ["status"]:
        return
    c.find(Risk.PRIVILEGED, "service starts or stops system services")


def _rule_journalctl(c: _Command) -> None:
    longs = _long_options(c.args)
    if any(o.startswith("--vacuum") for o in longs):
        c.find(Risk.DESTRUCTIVE, "journalctl --vacuum deletes old logs")
    elif longs & _words(
        "--rotate --flush --sync --relinquish-var --smart-relinquish-var --setup-keys "
        "--update-catalog"
    ):
        c.find(Risk.PRIVILEGED, "journalctl changes the system journal")


def _rule_dpkg(c: _Command) -> None:
    letters = set(_short_letters(c.args))
    longs = _long_options(c.args)
    if letters & {"i", "r", "P", "a", "A", "V"} or longs & _words(
        "--install --remove --purge --unpack --configure --set-selections --clear-selections "
        "--add-architecture --remove-architecture"
    ):
        c.find(Risk.PRIVILEGED, "dpkg installs or removes software")


def _rule_rpm(c: _Command) -> None:
    letters = set(_short_letters(c.args))
    if letters & {"i", "U", "F", "e"} or _long_options(c.args) & _words(
        "--install --upgrade --freshen --erase --import"
    ):
        c.find(Risk.PRIVILEGED, "rpm installs or removes software")


def _rule_pacman(c: _Command) -> None:
    letters = _short_letters(c.args)
    if letters[:1] == "Q" or (
        letters[:1] == "S" and set(letters[1:]) <= set("silgpqw") and set(letters[1:]) & set("sil")
    ):
        return
    c.find(Risk.PRIVILEGED, "pacman installs or removes software")


@dataclass(frozen=True)
class _Subcommands:
    """Risks of a program by its first positional argument (`apt install`, `git push`)."""

    read_only: frozenset[str]
    network: frozenset[str] = frozenset()
    destructive: frozenset[str] = frozenset()
    default: Risk = Risk.WRITE
    reason: str = "{prog} {sub} changes things"
    none: Risk = Risk.READ_ONLY  # risk with no subcommand


def _table(
    read_only: str,
    network: str = "",
    destructive: str = "",
    default: Risk = Risk.WRITE,
    reason: str = "{prog} {sub} changes things",
    none: Risk = Risk.READ_ONLY,
) -> _Subcommands:
    return _Subcommands(
        frozenset(read_only.split()),
        frozenset(network.split()),
        frozenset(destructive.split()),
        default,
        reason,
        none,
    )


def _packages(read_only: str) -> _Subcommands:
    """A package manager: read-only subcommands listed, any other needs root."""
    return _table(
        read_only, default=Risk.PRIVILEGED, reason="{prog} {sub} installs or removes software"
    )


_SUBCOMMAND_TABLES: dict[str, _Subcommands] = {
    **dict.fromkeys(
        ("apt", "apt-get", "aptitude"),
        _packages("list search show showsrc policy depends rdepends changelog help madison"),
    ),
    **dict.fromkeys(
        ("dnf", "yum", "microdnf"),
        _packages(
            "list info search provides whatprovides repolist repoquery check-update "
            "history deplist help"
        ),
    ),
    "zypper": _packages(
        "se search info if lr repos ls services pa packages patches lu list-updates pch"
    ),
    "apk": _packages("info search list policy stats dot version"),
    "snap": _packages(
        "list find info version services logs changes connections interfaces aliases"
    ),
    "flatpak": _packages("list info search remotes remote-ls history ps"),
    "brew": _packages(
        "list ls info search deps uses leaves outdated config doctor desc cat log home"
    ),
    **dict.fromkeys(
        ("pip", "pip3"),
        _table(
            "list show freeze check help inspect debug hash completion",
            network="install download wheel search index",
            reason="{prog} {sub} changes installed packages",
        ),
    ),
    **dict.fromkeys(
        ("npm", "pnpm", "bun"),
        _table(
            "ls list la ll help version root prefix bin explain why",
            network="install i in ci add update up upgrade publish exec x create init audit "
            "outdated view info show search dlx login",
            reason="{prog} {sub} runs project scripts or changes packages",
        ),
    ),
    "yarn": _table(
        "list info why help",
        network="install add upgrade up dlx create",
        reason="yarn {sub} runs project scripts or changes packages",
        none=Risk.NETWORK,
    ),
    **dict.fromkeys(
        ("docker", "podman"),
        _table(
            "ps images logs inspect version info stats top port history events diff",
            network="pull push login search",
            destructive="rm rmi kill prune",
            reason="{prog} {sub} changes containers or images",
        ),
    ),
    **dict.fromkeys(
        ("hostnamectl", "timedatectl", "localectl"),
        _table(
            "status show list-timezones list-locales list-keymaps timesync-status show-timesync",
            default=Risk.PRIVILEGED,
            reason="{prog} {sub} changes system settings",
        ),
    ),
}
_NETWORK_REASON = "{prog} {sub} downloads from the network"


def _subcommand_rule(prog: str, table: _Subcommands, c: _Command, args: Sequence[Word]) -> None:
    positional = [a for a in args if not _is_option(a)]
    if not positional:
        if table.none is not Risk.READ_ONLY:
            c.find(table.none, f"{prog} installs packages from the network")
        return
    sub_word = positional[0]
    sub = sub_word.text
    if sub_word.dynamic:
        c.find(Risk.WRITE, f"{prog} runs a subcommand only known at run time")
    elif sub in table.read_only:
        return
    elif sub in table.network:
        c.find(Risk.NETWORK, _NETWORK_REASON.format(prog=prog, sub=sub))
    elif sub in table.destructive or (
        table.destructive and any(p.text in ("rm", "prune", "remove") for p in positional[1:])
    ):
        c.find(Risk.DESTRUCTIVE, f"{prog} {sub} deletes containers, images or data")
    else:
        c.find(table.default, table.reason.format(prog=prog, sub=sub))


def _rule_table(c: _Command) -> None:
    _subcommand_rule(c.prog, _SUBCOMMAND_TABLES[c.prog], c, c.args)


# git

_GIT_READ = _words(
    """status log diff show blame annotate shortlog describe rev-parse rev-list ls-files
    ls-tree cat-file grep whatchanged version help count-objects name-rev merge-base for-each-ref
    show-ref show-branch check-ignore check-attr var cherry range-diff diff-tree diff-files
    diff-index verify-commit verify-tag fsck"""
)
_GIT_NETWORK = _words("clone fetch pull ls-remote request-pull")
_GIT_VALUE_OPTIONS = _words(
    "-C -c --git-dir --work-tree --namespace --config-env --super-prefix --exec-path"
)


def _rule_git(c: _Command) -> None:
    args = c.args
    i = 0
    while i < len(args) and _is_option(args[i]):
        text = args[i].text
        if text in ("-c", "--config-env") or text.startswith(("--config-env=", "--exec-path=")):
            c.find(Risk.WRITE, "git -c can make git run other programs")
        if text in _GIT_VALUE_OPTIONS:
            i += 1
        i += 1
    if i >= len(args):
        return
    if args[i].dynamic:
        c.find(Risk.WRITE, "git runs a subcommand only known at run time")
        return
    sub = args[i].text
    rest = args[i + 1 :]
    letters = _short_letters(rest)
    longs = _long_options(rest)
    texts = [a.text for a in rest]
    found = _git_subcommand(sub, rest, letters, longs, texts)
    if found is not None:
        c.find(*found)


_GIT_ACTIONS: dict[str, tuple[Risk, str] | None] = {
    **dict.fromkeys(
        "stash:list stash:show reflog: reflog:show worktree:list submodule:status "
        "submodule:summary remote: remote:get-url".split()
    ),
    **dict.fromkeys(
        "stash:drop stash:clear reflog:expire reflog:delete worktree:remove worktree:prune".split(),
        (Risk.DESTRUCTIVE, "git {sub} {action} deletes saved work"),
    ),
    **dict.fromkeys(
        "submodule:update submodule:add submodule:sync remote:show remote:prune "
        "remote:update".split(),
        (Risk.NETWORK, "git {sub} {action} talks to another machine"),
    ),
}
_GIT_FORCE = _words("--force --force-with-lease --force-if-includes --mirror --delete --prune")
_GIT_BRANCH_CHANGES = _words(
    "--delete --move --copy --set-upstream-to --unset-upstream --edit-description --force --track"
)
_GIT_BRANCH_VALUES = _words(
    "--contains --no-contains --merged --no-merged --points-at --format --sort"
)
_GIT_CONFIG_WRITES = _words(
    "--unset --unset-all --edit --add --replace-all --rename-section --remove-section"
)


def _git_subcommand(
    sub: str, rest: Sequence[Word], letters: str, longs: set[str], texts: list[str]
) -> tuple[Risk, str] | None:
    if sub in _GIT_READ:
        if sub == "grep" and ("O" in letters or "--open-files-in-pager" in longs):
            return Risk.WRITE, "git grep -O runs another program"
        if "--output" in longs or "--lost-found" in longs:
            return Risk.WRITE, f"git {sub} writes to a file"
        return None
    if sub in _GIT_NETWORK:
        return Risk.NETWORK, f"git {sub} talks to another machine"
    action = texts[0] if texts and not texts[0].startswith("-") else ""
    if f"{sub}:{action}" in _GIT_ACTIONS:
        found = _GIT_ACTIONS[f"{sub}:{action}"]
        if found is None:
            return None
        return found[0], found[1].format(sub=sub, action=action)
    if sub == "push":
        if set(letters) & {"f", "d"} or longs & _GIT_FORCE or any(t[:1] == "+" for t in texts):
            return Risk.DESTRUCTIVE, "git push --force can overwrite commits on the remote"
        return Risk.NETWORK, "git push sends commits to another machine"
    if sub == "clean":
        if "n" in letters or "--dry-run" in longs:
            return None
        return Risk.DESTRUCTIVE, "git clean deletes untracked files"
    if sub == "reset" and longs & {"--hard", "--merge", "--keep"}:
        return Risk.DESTRUCTIVE, "git reset --hard throws away uncommitted changes"
    if sub in ("checkout", "restore", "switch"):
        forced = "f" in letters or longs & {"--force", "--discard-changes", "--worktree"}
        unstage_only = "S" in letters or "--staged" in longs
        if forced or "--" in texts or "." in texts or (sub == "restore" and not unstage_only):
            return Risk.DESTRUCTIVE, f"git {sub} can throw away uncommitted changes"
    if sub == "branch":
        if "D" in letters or ("d" in letters and "f" in letters):
            return Risk.DESTRUCTIVE, "git branch -D deletes a branch even if it is not merged"
        listing = "l" in letters or "--list" in longs
        changes = set(letters) & set("dmMcCuf") or longs & _GIT_BRANCH_CHANGES
        if not changes and (listing or not _positionals(rest, "", _GIT_BRANCH_VALUES)):
            return None
    if sub == "tag" and ("l" in letters or "--list" in longs or not _positionals(rest)):
        return None
    if sub == "config":
        keys = _positionals(rest, "f", ("--file", "--blob", "--type", "--default"))
        if len(keys) <= 1 and not longs & _GIT_CONFIG_WRITES and "e" not in letters:
            return None
        if keys and keys[0].text in ("get", "list"):
            return None
    if sub in ("filter-branch", "filter-repo", "prune"):
        return Risk.DESTRUCTIVE, f"git {sub} rewrites or deletes history"
    if sub == "gc" and any(o.startswith("--prune") for o in longs):
        return Risk.DESTRUCTIVE, "git gc --prune deletes unreachable commits"
    if (sub == "rm" and ("f" in letters or "--force" in longs)) or (
        sub == "update-ref" and "d" in letters
    ):
        return Risk.DESTRUCTIVE, f"git {sub} deletes files or references for good"
    return Risk.WRITE, f"git {sub} changes the repository"


def _rule_su(c: _Command) -> None:
    c.find(Risk.PRIVILEGED, "su switches to another user")
    value = _option_value(c.args, "c", "--command")
    if value is not None:
        c.walker.nested(value.text, "su -c")


def _rule_trap(c: _Command) -> None:
    code = c.args[0] if c.args and not _is_option(c.args[0]) and c.args[0].text != "-" else None
    if code is not None and len(c.args) > 1:
        if code.dynamic:
            c.find(Risk.WRITE, "trap runs a command built at run time")
        c.walker.nested(code.text, "trap")


_RULES: dict[str, _Rule] = {
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
    "less": _rule_less,
    "man": _rule_man,
    "rg": _rule_rg,
    "date": _rule_date,
    "hostname": _rule_hostname,
    "dmesg": _rule_dmesg,
    "sysctl": _rule_sysctl,
    "mount": _rule_mount,
    **dict.fromkeys(("fdisk", "parted", "sfdisk", "gdisk", "sgdisk", "cfdisk"), _rule_partition),
    "dd": _rule_dd,
    "crontab": _rule_crontab,
    **dict.fromkeys(("chmod", "chown", "chgrp"), _rule_recursive_perm),
    "rsync": _rule_rsync,
    "tar": _rule_tar,
    "unzip": _rule_unzip,
    **dict.fromkeys(
        ("gzip", "gunzip", "bzip2", "bunzip2", "xz", "unxz", "zstd", "unzstd", "lz4", "brotli"),
        _rule_compress,
    ),
    "ifconfig": _rule_ifconfig,
    "ip": _rule_ip,
    "systemctl": _rule_systemctl,
    "service": _rule_service,
    "journalctl": _rule_journalctl,
    "dpkg": _rule_dpkg,
    "rpm": _rule_rpm,
    "pacman": _rule_pacman,
    "git": _rule_git,
    "su": _rule_su,
    "trap": _rule_trap,
    **dict.fromkeys(_SUBCOMMAND_TABLES, _rule_table),
}
