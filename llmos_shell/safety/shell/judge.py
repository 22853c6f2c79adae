"""Judging one simple command against the rules of its program, its wrappers and its code."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from llmos_shell.calls import Risk
from llmos_shell.safety.shell.programs import (
    CODE_FLAGS,
    DESTRUCTIVE,
    INFO_FLAGS,
    NETWORK,
    PRIVILEGED,
    READ_ONLY,
    SHELLS,
    WRAPPERS,
    WRITES,
    Wrapper,
    is_interpreter,
    shell_arguments,
)
from llmos_shell.safety.shell.results import DOWNLOAD_EXEC, SimpleCommand, Token
from llmos_shell.safety.shell.rules import RULES
from llmos_shell.safety.shell.subcommands import SUBCOMMAND_TABLES, subcommand_rule
from llmos_shell.safety.shell.words import (
    ASSIGNMENT_RE,
    Word,
    is_option,
    long_options,
    option_value,
    program_name,
    short_letters,
    write_target,
)

if TYPE_CHECKING:
    from tree_sitter import Node

    from llmos_shell.safety.shell.analysis import Walker


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
