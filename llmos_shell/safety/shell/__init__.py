"""Reading bash commands without running them: what they run, what they touch, their risk.

`analysis` parses with tree-sitter-bash and walks the tree, `judge` applies the rules of one
program to one simple command, and `results` holds what is found. `programs`, `rules` and
`subcommands` are the tables of what each program does; `words` reads single words, and
`sensitive` names the paths that hold secrets.
"""

from __future__ import annotations

from llmos_shell.safety.shell.analysis import analyse, is_catastrophic, parser_available
from llmos_shell.safety.shell.results import (
    DOWNLOAD_EXEC,
    PARSE_FAILED,
    ShellAnalysis,
    SimpleCommand,
)
from llmos_shell.safety.shell.sensitive import sensitive_kind

__all__ = [
    "DOWNLOAD_EXEC",
    "PARSE_FAILED",
    "ShellAnalysis",
    "SimpleCommand",
    "analyse",
    "is_catastrophic",
    "parser_available",
    "sensitive_kind",
]
