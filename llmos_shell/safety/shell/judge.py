"""Judging one simple command against the rules of its program, its wrappers and its code.

Whatever cannot be known before the command runs is rated unknown: a program named by a
variable, a file run as a program, code given to an interpreter or read from a pipe or a file,
a wrapper option that could hide what runs, a program llmos has no rule for.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from llmos_shell.calls import Risk
from llmos_shell.safety.shell.evaluation import Evaluations
from llmos_shell.safety.shell.network import NETWORK_RULES, sends_local_data
from llmos_shell.safety.shell.options import check_options
from llmos_shell.safety.shell.programs import (
    CODE_FLAGS,
    DESTRUCTIVE,
    FETCHERS,
    INFO_FLAGS,
    INFO_ONLY_ARGS,
    INFO_ONLY_PROGRAMS,
    NETWORK,
    PRIVILEGED,
    PYTHON_MODULES,
    SHELLS,
    SYSTEM_PROGRAM_DIRS,
    UNKNOWN_PROGRAMS,
    WRAPPERS,
    WRITES,
    Wrapper,
    clears_guard,
    is_interpreter,
    shell_arguments,
)
from llmos_shell.safety.shell.readonly import READ_ONLY_OPTIONS
from llmos_shell.safety.shell.results import DOWNLOAD_EXEC, SimpleCommand, Token
from llmos_shell.safety.shell.rules import RULES
from llmos_shell.safety.shell.subcommands import SUBCOMMAND_TABLES, subcommand_rule
from llmos_shell.safety.shell.targets import write_target
from llmos_shell.safety.shell.words import (
    ASSIGNMENT_RE,
    Word,
    is_option,
    long_options,
    option_value,
    program_name,
    short_letters,
)

if TYPE_CHECKING:
    from tree_sitter import Node

    from llmos_shell.safety.shell.analysis import Walker

_VARIABLE_WORD_RE = re.compile(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$")
_MAX_WRAPPERS = 16
_MAX_VALUES = 4  # values of one variable judged in its place


class CommandJudge:
    """Applies the rules of one program to one simple command."""

    def __init__(
        self,
        walker: Walker,
        tokens: Sequence[Token],
        assignments: tuple[str, ...],
        redirects: Sequence[Node],
        via: tuple[str, ...],
    ) -> None:
        self.walker = walker
        self.tokens = list(tokens)
        self.words = [t.word for t in self.tokens]
        self.assignments = assignments
        self.redirects = redirects
        self.via = via
        self.prog = program_name(self.words[0].text)
        self.args = self.words[1:]

    def find(self, risk: Risk, reason: str) -> None:
        self.walker.find(risk, reason)

    @property
    def evals(self) -> Evaluations:
        return self.walker.evals

    def stdin_source(self) -> str | None:
        """What a redirect feeds the program on its input (a file, a here-document), or None."""
        for node in self.redirects:
            if node.type == "heredoc_redirect":
                return "a here-document"
            if node.type == "herestring_redirect":
                return "a here-string"
            if node.type == "file_redirect" and "<" in self.walker.text(node).split()[0]:
                dest = node.child_by_field_name("destination")
                name = self.walker.text(dest) if dest is not None else "a file"
                if name != "/dev/null":
                    return f"the file {name}"
        return None

    def judge(self) -> None:
        walker = self.walker
        walker.commands.append(SimpleCommand(tuple(self.words), self.assignments, self.via))
        walker.check_sensitive(self.args)
        first = self.tokens[0]
        if len(self.via) > _MAX_WRAPPERS:
            self.find(Risk.UNKNOWN, "the command nests too many wrappers to check")
            return
        if first.word.dynamic:
            self.dynamic_program(first)
            return
        prog = self.prog
        if not prog:
            self.find(Risk.WRITE, "the command has an empty program name")
            return
        if "/" in first.word.text.rstrip("/"):
            folder = posixpath.dirname(posixpath.normpath(first.word.text))
            if folder not in SYSTEM_PROGRAM_DIRS:
                walker.runs_file_code = True
                self.find(
                    Risk.UNKNOWN, f"runs the file {first.word.text}, whose code is not checked"
                )
                return
        if first.word.text in walker.evals.functions:
            return  # a function the command defines: its body is judged where it is defined
        if prog in FETCHERS or (prog == "git" and {"clone", "pull", "fetch"} & set(self.texts)):
            walker.fetches = True
        if prog in INFO_ONLY_PROGRAMS and tuple(self.texts) in INFO_ONLY_ARGS:
            return  # `gcc --version`, `go version`: prints and exits
        if prog in WRAPPERS:
            self.wrapper(WRAPPERS[prog])
            return
        if is_interpreter(prog) or prog in ("eval", "source", "."):
            self.interpreter()
        else:
            self.by_name(prog)
        self.judge_resolved()

    def judge_resolved(self) -> None:
        """Judge again with each value the command gives a variable used as an argument.

        So an option hidden in a variable (`x=-K; ss $x`) is checked like any other. The
        command as written was judged too, so this only adds findings.
        """
        if "$variables" in self.via:
            return
        for index, token in enumerate(self.tokens[1:], 1):
            for value in resolved_values(self.walker, token.word)[:_MAX_VALUES]:
                tokens = list(self.tokens)
                tokens[index] = Token(Word(value), token.downloads, token.substitutes)
                via = (*self.via, "$variables")
                CommandJudge(self.walker, tokens, (), self.redirects, via).judge()

    @property
    def texts(self) -> list[str]:
        return [a.text for a in self.args]

    def by_name(self, prog: str) -> None:
        spec = READ_ONLY_OPTIONS.get(prog)
        if spec is not None:
            checked = check_options(prog, spec, self.args)
            for risk, reason in checked.findings:
                self.find(risk, reason)
            if checked.runs_at is not None:
                self.run_inner(checked.runs_at, prog)
        rule = RULES.get(prog) or NETWORK_RULES.get(prog)
        if rule is not None:
            rule(self)
        elif spec is not None:
            pass
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
        elif prog in UNKNOWN_PROGRAMS:
            self.walker.runs_file_code = True
            self.find(Risk.UNKNOWN, UNKNOWN_PROGRAMS[prog].format(prog=prog))
        else:
            self.walker.runs_file_code = True
            self.find(
                Risk.UNKNOWN, f"{prog} is not a program llmos knows, so what it does is unknown"
            )
        if prog in NETWORK or prog in NETWORK_RULES:
            for reason in sends_local_data(self):
                self.find(Risk.UNKNOWN, reason)

    def dynamic_program(self, first: Token) -> None:
        if first.downloads:
            self.find(Risk.UNKNOWN, DOWNLOAD_EXEC)
        else:
            self.find(
                Risk.UNKNOWN, f"the program to run is only known at run time ({first.word.text})"
            )
        if "$variables" in self.via:
            return
        for value in resolved_values(self.walker, first.word)[:_MAX_VALUES]:
            # also judge what it may run, so `x=rm; $x -rf ~` is refused outright
            words = [Word(part) for part in value.split()]
            if words:
                tokens = [Token(w, False) for w in words] + self.tokens[1:]
                via = (*self.via, "$variables")
                CommandJudge(self.walker, tokens, (), self.redirects, via).judge()

    def run_inner(self, start: int, wrapper: str) -> None:
        """Judge the command that starts at `args[start]` as one run by `wrapper`."""
        tokens = self.tokens[1 + start :]
        if tokens:
            CommandJudge(self.walker, tokens, (), self.redirects, (*self.via, wrapper)).judge()

    def nested(self, text: str, wrapper: str) -> None:
        """Analyse a command string that this program runs (`su -c "..."`)."""
        self.walker.nested(text, wrapper)

    def judge_inner(self, start: int, end: int, wrapper: str) -> None:
        """Judge `args[start:end]` as a command that `wrapper` runs (`find -exec CMD ;`)."""
        CommandJudge(
            self.walker, self.tokens[1 + start : 1 + end], (), (), (*self.via, wrapper)
        ).judge()

    def wrapper(self, spec: Wrapper) -> None:
        prog, args = self.prog, self.args
        wrapped = spec.parse(args)
        start = wrapped.start
        if wrapped.unknown is not None:
            self.find(
                Risk.UNKNOWN,
                f"{prog} {wrapped.unknown} is an option that could hide which program runs",
            )
        inner = program_name(args[start].text) if start is not None else ""
        if spec.risk is Risk.PRIVILEGED:
            doing = f"runs {inner} as root" if inner else "gives root rights"
            if prog == "chroot":
                doing = "runs a command inside another root folder"
            self.find(Risk.PRIVILEGED, f"{prog} {doing}")
        options = args[: start if start is not None else len(args)]
        if spec.assignments:
            for arg in options:
                if ASSIGNMENT_RE.match(arg.text):
                    self.walker.assignment(arg.text)
        for code in wrapped.code:
            self.string_code([code], f"{prog} -c", downloads=False)
        if prog == "xargs" and start is not None:
            replaces = set(short_letters(options, "IEdaLnPs")) & {"I", "i"}
            if (replaces or "--replace" in long_options(options)) and is_interpreter(inner):
                self.find(Risk.UNKNOWN, f"xargs puts its input into the code {inner} runs")
        if prog == "env":
            cleared = [
                args[i + 1].text
                if arg.text in ("-u", "--unset") and i + 1 < len(args)
                else arg.text.split("=", 1)[-1].removeprefix("-u")
                for i, arg in enumerate(options)
                if arg.text.startswith(("-u", "--unset"))
            ]
            if (
                any(clears_guard(name) for name in cleared)
                or set(short_letters(options)) & {"i"}
                or "--ignore-environment" in long_options(options)
                or any(a.text == "-" for a in options)
            ):
                self.find(Risk.UNKNOWN, "env clears variables that keep programs from running code")
            for i, arg in enumerate(options):
                if arg.text in ("-S", "--split-string") and i + 1 < len(args):
                    self.walker.nested(args[i + 1].text, "env -S")
                elif arg.text.startswith(("-S", "--split-string=")) and len(arg.text) > 2:
                    self.walker.nested(arg.text.split("=", 1)[-1].removeprefix("-S"), "env -S")
        if prog in ("time", "strace"):
            out = option_value(options, "o", "--output")
            if out is not None:
                self.find(*write_target(out, "writes to", truncates=True))
        if prog == "watch" and start is not None:
            if "x" in short_letters(options) or "--exec" in long_options(options):
                self.run_inner(start, prog)
            else:
                self.string_code(args[start:], prog, downloads=False)
            return
        if start is not None:
            self.run_inner(start, prog)

    def interpreter(self) -> None:
        prog, args = self.prog, self.args
        if prog == "eval":
            self.string_code(args, "eval", any(t.downloads for t in self.tokens[1:]))
            return
        if prog in ("source", "."):
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
            if arg.text in CODE_FLAGS or _bundled_code_flag(arg):
                if self.downloads(i + 1):
                    self.find(Risk.UNKNOWN, DOWNLOAD_EXEC)
                self.find(Risk.UNKNOWN, f"{prog} runs code given on the command line")
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
            self.find(Risk.UNKNOWN, DOWNLOAD_EXEC)
        if not code:
            return
        if any(word.dynamic for word in code):
            self.find(Risk.UNKNOWN, f"{wrapper} runs a command built at run time")
        self.walker.nested(" ".join(word.text for word in code), wrapper)

    def script(self, script: Word | None, downloads: bool) -> None:
        self.walker.runs_file_code = True
        if downloads:
            self.find(Risk.UNKNOWN, DOWNLOAD_EXEC)
        if script is None:
            self.find(Risk.UNKNOWN, f"{self.prog} runs commands from another file")
        else:
            self.find(
                Risk.UNKNOWN,
                f"{self.prog} runs the script {script.text}, whose code is not checked",
            )

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
                        self.find(Risk.UNKNOWN, DOWNLOAD_EXEC)
                    if walker.word(value).dynamic:
                        self.find(Risk.UNKNOWN, f"{self.prog} runs a command built at run time")
                    walker.nested(walker.unquote(value), self.prog)
                return
            if node.type == "file_redirect" and "<" in walker.text(node).split()[0]:
                if walker.has_download(node):
                    self.find(Risk.UNKNOWN, DOWNLOAD_EXEC)
                walker.runs_file_code = True
        self.find(Risk.UNKNOWN, f"{self.prog} runs code from its input, which is not checked")

    def python_module(self, module: str, rest: Sequence[Word]) -> None:
        if module in ("pip", "pip3"):
            subcommand_rule("pip", SUBCOMMAND_TABLES["pip"], self, rest)
        elif module in PYTHON_MODULES:
            risk, reason = PYTHON_MODULES[module]
            if risk is not Risk.READ_ONLY:
                self.find(risk, reason)
        else:
            self.walker.runs_file_code = True
            self.find(Risk.UNKNOWN, f"{self.prog} runs the module {module}, which is not checked")


def _bundled_code_flag(arg: Word) -> bool:
    """`perl -ne '...'`, `ruby -pe`: a code flag at the end of a cluster of short options."""
    text = arg.text
    return (
        is_option(arg)
        and not text.startswith("--")
        and len(text) > 2
        and text[-1] in "ecE"
        and text[1:].isalpha()
    )


def resolved_values(walker: Walker, word: Word) -> list[str]:
    """The values the command gives a word that is only a variable (`$x`, `${x}`), as written."""
    match = _VARIABLE_WORD_RE.match(word.text) if word.dynamic else None
    if match is None:
        return []
    return walker.evals.values.get(match.group(1), [])


__all__ = ["CommandJudge", "resolved_values"]
