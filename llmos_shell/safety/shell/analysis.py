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
from typing import TYPE_CHECKING

from llmos_shell.calls import Risk
from llmos_shell.safety.shell.judge import CommandJudge
from llmos_shell.safety.shell.programs import (
    DANGEROUS_VARIABLES,
    FETCHERS,
    catastrophic_command,
    effective_program,
    reads_code_from_stdin,
)
from llmos_shell.safety.shell.results import (
    DOWNLOAD_EXEC,
    PARSE_FAILED,
    Redirect,
    ShellAnalysis,
    SimpleCommand,
    Token,
)
from llmos_shell.safety.shell.sensitive import sensitive_kind
from llmos_shell.safety.shell.words import (
    DISK_RE,
    HARMLESS_DEVICE_RE,
    Word,
    word_set,
    write_target,
)

if TYPE_CHECKING:
    from tree_sitter import Node, Parser

__all__ = ["DOWNLOAD_EXEC", "PARSE_FAILED", "ShellAnalysis", "analyse", "is_catastrophic"]


_MAX_DEPTH = 4  # nested `bash -c`, `eval`, `watch` strings analysed before giving up
_EXPANSIONS = word_set(
    "simple_expansion expansion command_substitution process_substitution arithmetic_expansion"
)
_SUBSTITUTIONS = frozenset({"command_substitution", "process_substitution"})


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
    walker = Walker(depth=0, via=())
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




class Walker:
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
        sub = Walker(self.depth + 1, (*self.via, wrapper))
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

    def tokens(self, node: Node) -> list[Token]:
        """The name and argument words of a `command` node, in order."""
        out = []
        name = node.child_by_field_name("name")
        parts = ([name.named_children[0]] if name and name.named_children else []) + list(
            node.children_by_field_name("argument")
        )
        for part in parts:
            if part.is_missing or part.start_byte == part.end_byte:
                continue
            out.append(Token(self.word(part), self.has_download(part)))
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
            CommandJudge(self, tokens, assignments, redirects, self.via).judge()

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


