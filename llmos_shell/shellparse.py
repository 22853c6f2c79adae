"""Read a bash command without running it: the programs it runs, the files it touches, its risk.

The command is parsed with tree-sitter-bash. Every simple command found anywhere (pipelines,
lists, subshells, substitutions, loop and `if` bodies, functions, `bash -c` strings, the commands
that `sudo`, `xargs`, `find -exec` and friends start) is judged against rules per program. Only
programs known to be read-only keep a command read-only; anything unknown is at least a write.
Pure: no I/O, nothing from the environment.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llmos_shell.calls import Risk
from llmos_shell.shellprograms import (
    CODE_FLAGS,
    DANGEROUS_VARIABLES,
    DESTRUCTIVE,
    FETCHERS,
    INFO_FLAGS,
    NETWORK,
    PRIVILEGED,
    READ_ONLY,
    SHELLS,
    WRAPPERS,
    WRITES,
    Wrapper,
    catastrophic_command,
    effective_program,
    is_interpreter,
    reads_code_from_stdin,
    shell_arguments,
)
from llmos_shell.shellrules import RULES
from llmos_shell.shellsubcommands import SUBCOMMAND_TABLES, subcommand_rule
from llmos_shell.shellwords import (
    ASSIGNMENT_RE,
    DISK_RE,
    HARMLESS_DEVICE_RE,
    Word,
    is_option,
    long_options,
    option_value,
    program_name,
    short_letters,
    word_set,
    write_target,
)

if TYPE_CHECKING:
    from tree_sitter import Node, Parser

DOWNLOAD_EXEC = "runs code downloaded from the network"
PARSE_FAILED = "the command could not be parsed"

_MAX_DEPTH = 4  # nested `bash -c`, `eval`, `watch` strings analysed before giving up
_EXPANSIONS = word_set(
    "simple_expansion expansion command_substitution process_substitution arithmetic_expansion"
)
_SUBSTITUTIONS = frozenset({"command_substitution", "process_substitution"})


# --- the result ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SimpleCommand:
    """One program the command would run: its words, and the wrappers that start it."""

    words: tuple[Word, ...]
    assignments: tuple[str, ...] = ()
    via: tuple[str, ...] = ()

    @property
    def program(self) -> str:
        """The program's name without its folder (`/bin/rm` gives `rm`); empty when none."""
        return program_name(self.words[0].text) if self.words else ""

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
        if redirect.writes and DISK_RE.match(redirect.target.text):
            return f"it writes straight over the disk {redirect.target.text}, destroying its data"
    for cmd in analysis.commands:
        reason = catastrophic_command(cmd.program, cmd.args)
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
                if effective_program(words) in FETCHERS:
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
        if target.text == "-" or HARMLESS_DEVICE_RE.match(target.text):
            return
        redirect = Redirect(operator, target)
        self.redirects.append(redirect)
        self.check_sensitive([target])
        if redirect.writes:
            verb = "appends to" if ">>" in operator else "writes to"
            self.find(*write_target(target, verb))

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
            if fetched and any(reads_code_from_stdin(words) for words in programs):
                self.find(Risk.PRIVILEGED, DOWNLOAD_EXEC)
            if any(effective_program(words) in FETCHERS for words in programs):
                fetched = True

    def assignment(self, text: str) -> None:
        name = re.split(r"[\[+=]", text, maxsplit=1)[0]
        if name in DANGEROUS_VARIABLES or name.startswith(("LD_", "DYLD_")):
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
        self.prog = program_name(self.words[0].text)
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
        if prog in WRAPPERS:
            self.wrapper(WRAPPERS[prog])
            return
        if is_interpreter(prog) or prog in ("eval", "source", "."):
            self.interpreter()
            return
        rule = RULES.get(prog)
        if rule is not None:
            rule(self)
        elif prog in READ_ONLY:
            return
        elif prog in DESTRUCTIVE:
            self.find(Risk.DESTRUCTIVE, DESTRUCTIVE[prog])
        elif prog in PRIVILEGED:
            self.find(Risk.PRIVILEGED, PRIVILEGED[prog].format(prog=prog))
        elif prog in NETWORK:
            self.find(Risk.NETWORK, NETWORK[prog].format(prog=prog))
        elif prog in WRITES:
            self.find(Risk.WRITE, WRITES[prog])
        elif prog.startswith("mkfs"):
            self.find(Risk.DESTRUCTIVE, f"{prog} formats a disk, erasing everything on it")
        else:
            self.find(Risk.WRITE, f"{prog} is not known to be read-only")

    def run_inner(self, start: int, wrapper: str) -> None:
        """Judge the command that starts at `args[start]` as one run by `wrapper`."""
        tokens = self.tokens[1 + start :]
        if tokens:
            _Command(self.walker, tokens, (), self.redirects, (*self.via, wrapper)).judge()

    def nested(self, text: str, wrapper: str) -> None:
        """Analyse a command string that this program runs (`su -c "..."`)."""
        self.walker.nested(text, wrapper)

    def judge_inner(self, start: int, end: int, wrapper: str) -> None:
        """Judge `args[start:end]` as a command that `wrapper` runs (`find -exec CMD ;`)."""
        _Command(
            self.walker, self.tokens[1 + start : 1 + end], (), (), (*self.via, wrapper)
        ).judge()

    def wrapper(self, spec: Wrapper) -> None:
        prog, args = self.prog, self.args
        start, unknown = spec.parse(args)
        if unknown is not None:
            self.find(Risk.WRITE, f"{prog} {unknown} is an option that could not be checked")
        inner = program_name(args[start].text) if start is not None else ""
        if spec.risk is Risk.PRIVILEGED:
            doing = f"runs {inner} as root" if inner else "gives root rights"
            if prog == "chroot":
                doing = "runs a command inside another root folder"
            self.find(Risk.PRIVILEGED, f"{prog} {doing}")
        if spec.assignments:
            end = len(args) if start is None else start
            for arg in args[:end]:
                if ASSIGNMENT_RE.match(arg.text):
                    self.walker.assignment(arg.text)
        if prog == "env":
            for i, arg in enumerate(args[: start if start is not None else len(args)]):
                if arg.text in ("-S", "--split-string") and i + 1 < len(args):
                    self.walker.nested(args[i + 1].text, "env -S")
                elif arg.text.startswith(("-S", "--split-string=")) and len(arg.text) > 2:
                    self.walker.nested(arg.text.split("=", 1)[-1].removeprefix("-S"), "env -S")
        if prog in ("time", "strace"):
            out = option_value(args[: start if start is not None else len(args)], "o", "--output")
            if out is not None:
                self.find(*write_target(out, "writes to"))
        if prog == "watch" and start is not None:
            if "x" in short_letters(args[:start]) or "--exec" in long_options(args[:start]):
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
        if args and all(a.text in INFO_FLAGS for a in args):
            return
        if prog in SHELLS:
            code, script = shell_arguments(prog, args)
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
            if arg.text in CODE_FLAGS:
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
            if not is_option(arg):
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
            if node.type == "heredoc_redirect" and self.prog in SHELLS:
                body = next((c for c in node.children if c.type == "heredoc_body"), None)
                walker.nested(walker.text(body) if body is not None else "", self.prog)
                return
            if node.type == "herestring_redirect" and self.prog in SHELLS:
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
            subcommand_rule("pip", SUBCOMMAND_TABLES["pip"], self, rest)
        elif module == "http.server":
            self.find(Risk.NETWORK, "python -m http.server shares files over the network")
        else:
            self.find(Risk.WRITE, f"{self.prog} runs the module {module}")
