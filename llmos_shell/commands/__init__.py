"""The subcommands of `llmos`: one table that builds the parser, the help and the dispatch.

Each row names the module that runs it; the module is imported only when its subcommand
runs, so `llmos --help` imports nothing heavy.
"""

from __future__ import annotations

from llmos_shell.commands.base import Command

COMMANDS: tuple[Command, ...] = (
    Command(
        "plan",
        "llmos_shell.commands.plan",
        (
            ('plan --json "request"', "print the planned calls, run nothing"),
            ("plan --json -", "JSON Lines in on stdin, one JSON object out per line"),
        ),
        run="run_plan",
        arguments="add_plan_arguments",
        description="PLAN_DESCRIPTION",
    ),
    Command(
        "suggest",
        "llmos_shell.commands.plan",
        (
            ('suggest "request"', "write one shell command, then run/edit/describe/copy it"),
            ("suggest --json -", "  (the same for commands)"),
        ),
        run="run_suggest",
        arguments="add_suggest_arguments",
        description="SUGGEST_DESCRIPTION",
    ),
    Command("tools", "llmos_shell.commands.tools", (("tools", "list the tools and their risk"),)),
    Command(
        "undo",
        "llmos_shell.commands.undo",
        (
            ("undo [N]", "reverse the last N changes llmos made, newest first"),
            ("undo --list", "show what was recorded and whether it can be undone"),
        ),
        arguments="add_arguments",
    ),
    Command(
        "config",
        "llmos_shell.commands.config",
        (("config", "show the settings and where each came from"),),
    ),
    Command(
        "models",
        "llmos_shell.commands.models",
        (
            ("models", "list the models on this machine and which one is in use"),
            ("models use NAME", "make a listed model (or a path) the default"),
            ("models pull REPO [FILE]", "download a model from the Hugging Face hub"),
        ),
        arguments="add_arguments",
    ),
    Command(
        "doctor",
        "llmos_shell.commands.doctor",
        (("doctor", "check the setup: config, model, backends, GPU, server, dirs"),),
    ),
    Command(
        "memory",
        "llmos_shell.commands.memory",
        (
            ("memory add TEXT", "remember a fact or preference"),
            ("memory list|search|forget", "see, search and forget what llmos remembers"),
            ("memory export|import FILE", "JSON Lines, one memory a line"),
        ),
        arguments="add_arguments",
    ),
    Command(
        "jobs",
        "llmos_shell.commands.jobs",
        (
            ('jobs add "WHEN WHAT"', "an automation, e.g. every weekday at 9 show disk usage"),
            ("jobs list|show|history", "also pause, resume, remove, run-now an automation"),
        ),
        arguments="add_arguments",
    ),
    Command(
        "daemon",
        "llmos_shell.commands.daemon",
        (("daemon start|stop|status", "the scheduler of automations (install: at login)"),),
        arguments="add_arguments",
    ),
    Command(
        "inbox",
        "llmos_shell.commands.inbox",
        (("inbox", "what automations did and said while you were away"),),
        arguments="add_arguments",
    ),
    Command(
        "mcp",
        "llmos_shell.commands.mcp",
        (("mcp serve [--http PORT]", "serve llmos's tools to other agents over MCP"),),
        arguments="add_arguments",
    ),
    Command(
        "rules",
        "llmos_shell.commands.rules",
        (("rules list|remove N", "the rules [a]lways kept: calls approved without asking"),),
        arguments="add_arguments",
    ),
    Command(
        "init",
        "llmos_shell.commands.init",
        (("init bash|zsh|fish", "startup lines: Ctrl-G writes a command in place, completion"),),
        arguments="add_arguments",
    ),
    Command(
        "completion",
        "llmos_shell.commands.completion",
        (("completion bash|zsh|fish", "the completion script for a shell"),),
        arguments="add_arguments",
    ),
    Command(
        "stats",
        "llmos_shell.commands.stats",
        (("stats", "tokens per second, time and memory per backend and model"),),
    ),
)
BY_NAME = {command.name: command for command in COMMANDS}


def overview() -> str:
    """The lines of `llmos --help` that list what llmos does, from the table."""
    lines = [
        ("", "start the interactive shell"),
        ('"which processes use the most memory?"', "plan and run one request, then exit"),
        ('-c "now the same in Downloads"', "continue the last conversation, in a new process"),
        ('"what went wrong?" < app.log', "piped text is the context of the request"),
        *(line for command in COMMANDS for line in command.overview),
    ]
    width = 34  # a usage longer than this gets its own line
    out = []
    for usage, summary in lines:
        text = f"  llmos {usage}".rstrip()
        if len(text) < width:
            out.append(f"{text:<{width}} {summary}")
        else:
            out.append(f"{text}\n{'':<{width}} {summary}")
    return "\n".join(out)
