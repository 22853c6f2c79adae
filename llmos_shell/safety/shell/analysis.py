"""Read a bash command without running it: the programs it runs, the files it touches, its risk.

The command is parsed with tree-sitter-bash. Every simple command found anywhere (pipelines,
lists, subshells, substitutions, loop and `if` bodies, functions, `bash -c` strings, the commands
that `sudo`, `xargs`, `find -exec` and friends start) is judged against rules per program. Only
programs known to be read-only, with options known to be safe, keep a command read-only; what
cannot be known before it runs is unknown. Across the whole command it also finds what no
single program shows: data piped to the network, a download and a run of what came down, a
truncating write with nothing to write, values bash evaluates later. Pure: no I/O.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from llmos_shell.calls import Risk
from llmos_shell.safety.shell.catastrophes import (
    catastrophic_command,
    critical_dir,
    in_folder,
    lists_whole_folder,
    spelled_out,
)
from llmos_shell.safety.shell.evaluation import ARITHMETIC_TESTS, Evaluations
from llmos_shell.safety.shell.judge import CommandJudge
from llmos_shell.safety.shell.network import NETWORK_RULES
from llmos_shell.safety.shell.programs import (
    COMMAND_VARIABLES,
    DANGEROUS_VARIABLES,
    FETCHERS,
    GUARD_PREFIXES,
    NETWORK,
    PLAIN_VIEWERS,
    clears_guard,
    effective_program,
    reads_code_from_stdin,
)
from llmos_shell.safety.shell.results import (
    DOWNLOAD_EXEC,
    EXFILTRATION,
    PARSE_FAILED,
    Redirect,
    ShellAnalysis,
    SimpleCommand,
    Token,
)
from llmos_shell.safety.shell.sensitive import sensitive_kind
from llmos_shell.safety.shell.targets import CLOBBERING, PERSISTENCE, clobbers, write_target
from llmos_shell.safety.shell.words import (
    DISK_RE,
    HARMLESS_DEVICE_RE,
    Word,
    positionals,
    program_name,
    word_set,
)

if TYPE_CHECKING:
    from tree_sitter import Node, Parser

__all__ = ["DOWNLOAD_EXEC", "PARSE_FAILED", "ShellAnalysis", "analyse", "is_catastrophic"]


_MAX_DEPTH = 4  # nested `bash -c`, `eval`, `watch` strings analysed before giving up
_EXPANSIONS = word_set(
    "simple_expansion expansion command_substitution process_substitution arithmetic_expansion"
)
_SUBSTITUTIONS = frozenset({"command_substitution", "process_substitution"})
_NETWORK_PROGRAMS = frozenset(NETWORK) | frozenset(NETWORK_RULES)
_NUMBER_VALUES = frozenset({"number", "arithmetic_expansion"})
_NOTHING_WRITTEN = word_set(": true false")  # programs that print nothing: `: > f` empties f
_EMPTY_OUTPUT = (["echo"], ["echo", ""], ["echo", "-n"], ["echo", "-n", ""], ["printf", ""])
_PRINTERS = word_set("echo printf")
_NETWORK_DEVICE_RE = re.compile(r"^/dev/(tcp|udp)/")
_EVALUATING = frozenset(
    {
        "arithmetic_expansion",
        "c_style_for_statement",
        "for_statement",
        "unset_command",
        "declaration_command",
        "test_command",
        "expansion",
        "compound_statement",
        "subscript",
    }
)
_ARITHMETIC_PARTS = frozenset({"variable_name", "word", "command_substitution"})


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
        walker.find(Risk.UNKNOWN, "the shell parser (tree-sitter-bash) is not installed")
        walker.parsed_ok = walker.tree_ok = False
    else:
        walker.analyse_text(parser, command)
    return walker.result(command)


def is_catastrophic(analysis: ShellAnalysis, folder: str | None = ".") -> str | None:
    """Why no model plan should ever run this command (wipes the system, a disk...), or None.

    `folder` is what the folder the command runs in is: `.` (the working tree), or the
    critical folder it is (`~`, `/`, `/etc`); `*`, `.` and `find` without a path are judged
    against it, and against where an earlier `cd` of the command went.
    """
    for name in analysis.recursive_functions:
        return f"it defines a function ({name}) that keeps starting copies of itself (a fork bomb)"
    for redirect in analysis.redirects:
        if redirect.writes and DISK_RE.match(redirect.target.text):
            return f"it writes straight over the disk {redirect.target.text}, destroying its data"
    loops = dict[str, list[str]]()
    for name, value in analysis.loop_values:
        loops.setdefault(name, []).append(value)
    listed = any(lists_whole_folder(cmd.program, cmd.args) for cmd in analysis.commands)
    for cmd in analysis.commands:
        args = spelled_out(cmd.args, loops)
        reason = catastrophic_command(cmd.program, args, folder)
        if reason:
            return reason
        if listed and "xargs" in cmd.via and not positionals(cmd.args):
            # `ls | xargs rm -rf`: what it deletes is every name the listing gives
            reason = catastrophic_command(cmd.program, [*cmd.args, Word("*")], folder)
            if reason:
                return reason.replace(" *", " every name listed", 1)
        if cmd.program in ("cd", "pushd") and not cmd.via:
            targets = [a.text for a in cmd.args if not a.text.startswith("-")]
            # `cd ~ && rm -rf *` empties the home folder; `cd build && rm -rf *` only build
            folder = in_folder(critical_dir(targets[0] if targets else "~"), folder)
    return None


# --- the walker ---------------------------------------------------------------------------


class Walker:
    """Collects commands, redirects and findings from one parse tree (and nested strings).

    Nested walkers (`bash -c` strings) share the one `Evaluations` of the whole command.
    """

    def __init__(self, depth: int, via: tuple[str, ...], evals: Evaluations | None = None) -> None:
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
        self.loop_values: list[tuple[str, str]] = []
        self.evals = evals if evals is not None else Evaluations()
        self.fetches = False  # something downloads from the network
        self.runs_file_code = False  # something runs code from a file or an unknown program

    def find(self, risk: Risk, reason: str) -> None:
        self.findings.append((risk, reason))

    def result(self, source: str) -> ShellAnalysis:
        findings = list(self.findings) + self.evals.results()
        if not self.tree_ok:
            findings.append((Risk.UNKNOWN, PARSE_FAILED))
        persists = any(reason.startswith(PERSISTENCE) for _, reason in findings)
        if self.fetches and (self.runs_file_code or persists):
            findings.append((Risk.UNKNOWN, DOWNLOAD_EXEC))
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
            loop_values=tuple(dict.fromkeys(self.loop_values)),
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
            self.find(Risk.UNKNOWN, f"{wrapper} runs a command nested too deeply to check")
            return
        sub = Walker(self.depth + 1, (*self.via, wrapper), self.evals)
        sub.analyse_text(parser, text)
        self.fetches |= sub.fetches
        self.runs_file_code |= sub.runs_file_code
        if not sub.parsed_ok:
            self.parsed_ok = False  # the tree itself parsed, so say which part did not
            self.find(Risk.UNKNOWN, f"the command given to {wrapper} could not be parsed")
        self.commands += sub.commands
        self.redirects += sub.redirects
        self.findings += sub.findings
        self.sensitive += sub.sensitive
        self.recursive_functions += sub.recursive_functions
        self.loop_values += sub.loop_values

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
                self.assignment(self.text(node), node)
            elif kind in _EVALUATING:
                self.evaluating(node)
            elif kind == "redirected_statement":
                self.truncation(node)
            stack.extend(reversed(node.children))

    def evaluating(self, node: Node) -> None:
        """Places bash evaluates values as code: arithmetic, indexes, `${!x}`, `${v@P}`."""
        kind = node.type
        evals = self.evals
        if kind == "for_statement":
            name = node.child_by_field_name("variable")
            values = node.children_by_field_name("value")
            if name is not None:
                number = bool(values) and all(v.type == "number" for v in values)
                evals.assign(self.text(name), None, number=number)
                self.loop_values += [(self.text(name), self.unquote(v)) for v in values[:16]]
        elif kind == "unset_command":
            for child in node.named_children:
                evals.name_argument(self.unquote(child), "unset")
                if clears_guard(self.unquote(child)):
                    self.find(Risk.UNKNOWN, "unset gives programs back settings that run code")
        elif kind == "declaration_command":
            words = [c for c in node.named_children if c.type != "variable_assignment"]
            integer = any(self.text(w).startswith("-") and "i" in self.text(w) for w in words)
            for child in node.named_children:
                text = self.unquote(child)
                if child.type == "variable_assignment" and integer:
                    value = child.child_by_field_name("value")
                    if value is not None:
                        evals.evaluate_text(self.text(value), "declare -i")
                elif not text.startswith("-"):
                    evals.name_argument(text.split("=", 1)[0], self.text(node.children[0]))
        elif kind == "test_command":
            for expr in _descendants(node, frozenset({"binary_expression", "unary_expression"})):
                operator = next((c for c in expr.children if c.type == "test_operator"), None)
                if operator is None:
                    continue
                op = self.text(operator)
                operands = [c for c in expr.named_children if c.type != "test_operator"]
                if op in ARITHMETIC_TESTS:
                    for operand in operands:
                        self.arithmetic(operand, f"[[ ... {op} ... ]]")
                elif op == "-v":
                    for operand in operands:
                        evals.name_argument(self.unquote(operand), "[[ -v ]]")
        elif kind == "expansion":
            parts = [self.text(c) for c in node.children]
            name = next((c for c in node.named_children if c.type == "variable_name"), None)
            if name is not None and parts[1:2] == ["!"] and parts[-2:-1] != ["*"]:
                evals.evaluate(self.text(name), f"${{!{self.text(name)}}}")
            if name is not None and "@" in parts and "P" in parts:
                evals.prompt(self.text(name))
        elif kind == "compound_statement":
            if node.children and node.children[0].type == "((":
                self.arithmetic(node, "((...))")
        elif kind == "subscript":
            index = node.child_by_field_name("index")
            if index is not None and self.text(index) not in ("@", "*"):
                self.arithmetic(index, "an array index")
        else:
            self.arithmetic(node, "$((...))" if kind == "arithmetic_expansion" else "((...))")

    def arithmetic(self, node: Node, where: str) -> None:
        """Every variable an arithmetic expression uses, and command output in it."""
        parts = _descendants(node, _ARITHMETIC_PARTS, skip=_SUBSTITUTIONS, include_self=True)
        for child in parts:
            if child.type == "variable_name":
                self.evals.evaluate(self.text(child), where)
            elif child.type == "word":
                self.evals.evaluate_text(self.text(child), where)
            elif child.type == "command_substitution":
                self.evals.evaluate_text("$(", where)

    def truncation(self, node: Node) -> None:
        """`> f`, `: > f`, `sort f > f`: a truncating write that leaves a file emptied."""
        body = node.child_by_field_name("body")
        words: list[str] = []
        if body is not None and body.type == "command":
            words = [t.word.text for t in self.tokens(body)]
        elif body is not None:
            return
        for redirect in node.children:
            if redirect.type != "file_redirect":
                continue
            operator = "".join(self.text(c) for c in redirect.children if not c.is_named)
            dest = redirect.child_by_field_name("destination")
            if dest is None or operator not in (">", ">|", "&>") or dest.type == "number":
                continue
            target = self.word(dest)
            if HARMLESS_DEVICE_RE.match(target.text):
                continue
            prog = program_name(words[0]) if words else ""
            if not words or prog in _NOTHING_WRITTEN or words in _EMPTY_OUTPUT:
                self.find(*clobbers(target, f"> {target.text} empties {target.text}"))
            elif words[0] in ("cat", "cp") and words[1:] == ["/dev/null"]:
                self.find(*clobbers(target, f"> {target.text} empties {target.text}"))
            elif target.text in words[1:] and not target.dynamic and prog not in _PRINTERS:
                self.find(
                    Risk.DESTRUCTIVE,
                    f"{CLOBBERING}: {target.text} is emptied before {prog} reads it",
                )

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
            return ansi_c(raw[2:-1])
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
            substitutes = _has_descendant(part, _SUBSTITUTIONS)
            out.append(Token(self.word(part), self.has_download(part), substitutes))
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
        name = node.child_by_field_name("name")
        spelled = name.named_children[0] if name is not None and name.named_children else None
        if spelled is not None and _disguised(spelled, self.text(spelled)):
            self.find(
                Risk.UNKNOWN,
                f"the program name {self.text(spelled)} is spelled to hide what it runs",
            )
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
        if _NETWORK_DEVICE_RE.match(target.text):
            if redirect.writes:
                self.find(
                    Risk.UNKNOWN, f"{EXFILTRATION}: sends data to the network via {target.text}"
                )
            else:
                self.fetches = True
                self.find(Risk.NETWORK, f"reads from the network via {target.text}")
        elif redirect.writes:
            verb = "appends to" if ">>" in operator else "writes to"
            self.find(*write_target(target, verb, truncates=">>" not in operator))

    def function(self, node: Node) -> None:
        name_node = node.child_by_field_name("name")
        body = node.child_by_field_name("body")
        if name_node is None or body is None:
            return
        name = self.text(name_node)
        self.evals.functions.add(name)
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
        before: list[str] = []
        for stage in node.named_children:
            if stage.type.endswith("_redirect"):
                continue
            programs = [
                [t.word for t in self.tokens(cmd)]
                for cmd in _descendants(
                    stage, frozenset({"command"}), skip=_SUBSTITUTIONS, include_self=True
                )
            ]
            names = [effective_program(words) for words in programs]
            if fetched and any(reads_code_from_stdin(words) for words in programs):
                self.find(Risk.UNKNOWN, DOWNLOAD_EXEC)
            if before and any(name in _NETWORK_PROGRAMS for name in names):
                sent = ", ".join(dict.fromkeys(before)) or "a command"
                self.find(
                    Risk.UNKNOWN, f"{EXFILTRATION}: sends the output of {sent} to the network"
                )
            if any(name in FETCHERS for name in names):
                fetched = True
            before += [name for name in names if name]

    def assignment(self, text: str, node: Node | None = None) -> None:
        name = re.split(r"[\[+=]", text, maxsplit=1)[0]
        value_node = node.child_by_field_name("value") if node is not None else None
        if value_node is not None:
            value: Word | None = self.word(value_node)
        elif "=" in text:  # `env NAME=VALUE cmd`: only the text is at hand
            raw = text.split("=", 1)[1]
            value = Word(raw, "$" in raw or "`" in raw)
        else:
            value = None
        if name in COMMAND_VARIABLES and value is not None:
            first = value.text.lstrip("|").split()[:1]
            if value.dynamic:
                self.find(Risk.UNKNOWN, f"{name} names a program only known at run time")
            elif first and program_name(first[0]) not in PLAIN_VIEWERS:
                self.find(Risk.UNKNOWN, f"{name} makes programs run {value.text}")
            # the program it names is judged like any other (`GIT_PAGER=cat` only reads)
            self.nested(value.text.lstrip("|"), f"{name}=")
        elif name in DANGEROUS_VARIABLES or name.startswith(("LD_", "DYLD_", *GUARD_PREFIXES)):
            self.find(Risk.UNKNOWN, f"setting {name} changes which programs run or how")
        if node is not None:
            target = node.child_by_field_name("name")
            if target is not None and target.type == "subscript":
                self.evaluating(target)
        if value is None:
            self.evals.assign(name, "")
        elif value_node is not None and value_node.type in _NUMBER_VALUES:
            self.evals.assign(name, None, number=True)
        else:
            self.evals.assign(name, None if value.dynamic else value.text)

    def check_sensitive(self, words: Sequence[Word]) -> None:
        for word in words:
            if sensitive_kind(word.text):
                self.sensitive.append(word.text)


_ANSI_C_RE = re.compile(
    r"\\(x[0-9A-Fa-f]{1,2}|u[0-9A-Fa-f]{1,4}|U[0-9A-Fa-f]{1,8}|[0-7]{1,3}|c.|.)", re.S
)
_ANSI_C_TABLE = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "?": "?",
    "e": "\x1b",
    "E": "\x1b",
}


def ansi_c(body: str) -> str:
    """A `$'...'` string as bash reads it: `$'\\x72m'` is `rm`."""

    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        if code[0] in "xuU" and len(code) > 1:
            value = int(code[1:], 16)
            return chr(value) if value < 0x110000 else ""
        if code[0] in "01234567":
            return chr(int(code, 8) & 0xFF)
        if code[0] == "c" and len(code) == 2:
            return chr(ord(code[1]) & 0x1F)
        return _ANSI_C_TABLE.get(code, "\\" + code)

    return _ANSI_C_RE.sub(one, body)


def _disguised(node: Node, raw: str) -> bool:
    """A program name written with escapes or pieces (`$'\\x72m'`, `r''m`, `\\rm`)."""
    if node.type == "ansi_c_string":
        return True
    if node.type == "concatenation":
        return not _has_descendant(node, _EXPANSIONS)  # with an expansion it is dynamic
    return node.type == "word" and "\\" in raw


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
