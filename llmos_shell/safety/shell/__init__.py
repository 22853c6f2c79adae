"""Reading bash commands without running them: what they run, what they touch, their risk.

`analysis` parses with tree-sitter-bash and walks the tree, `judge` applies the rules of one
program to one simple command, and `results` holds what is found. `options` (read-only
programs and their allowed options), `programs`, `rules`, `builtins`, `archives`, `network`
and `subcommands` are the tables of what each program does; `evaluation` finds values bash
evaluates later, `targets` what writing a path means, `catastrophes` what no plan may do,
`powers` the options and scripts that do more than they look, `removal` a plain `rm` with its trash equivalent; `words` reads single words, and `sensitive`
names the paths that hold secrets.
"""

from __future__ import annotations

from llmos_shell.safety.shell.analysis import analyse, is_catastrophic, parser_available
from llmos_shell.safety.shell.catastrophes import critical_dir, describe_dir
from llmos_shell.safety.shell.removal import Removal, plain_removal
from llmos_shell.safety.shell.results import (
    DOWNLOAD_EXEC,
    EXFILTRATION,
    PARSE_FAILED,
    ShellAnalysis,
    SimpleCommand,
)
from llmos_shell.safety.shell.sensitive import sensitive_kind
from llmos_shell.safety.shell.targets import PERSISTENCE, persistence_kind

__all__ = [
    "DOWNLOAD_EXEC",
    "EXFILTRATION",
    "PARSE_FAILED",
    "PERSISTENCE",
    "Removal",
    "ShellAnalysis",
    "SimpleCommand",
    "analyse",
    "critical_dir",
    "describe_dir",
    "is_catastrophic",
    "parser_available",
    "persistence_kind",
    "plain_removal",
    "sensitive_kind",
]
