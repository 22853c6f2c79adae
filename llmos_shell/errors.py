"""Every error class, by family, and the exit codes the command line maps them to.

- User-facing (`LlmosError` and its subclasses): one sentence saying what went wrong, where,
  and how to fix it. The command line prints it and exits with its status; the shell prints it
  and carries on.
- Model-facing (`ToolError`): a tool failed in a way the model can read and react to; it goes
  back to the model as an observation, never to the top.
- Cancelled (`Cancelled`): the person, or a scheduler shutting down, stopped the work.
- Anything else is a bug: a traceback under `--debug`, one line otherwise.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from typing import Any


class ExitStatus(enum.IntEnum):
    """Process exit codes, one meaning each."""

    OK = 0
    ERROR = 1  # a user-facing error: bad config, missing model, unknown tool
    TOOL_FAILED = 2  # the request ran but a tool call failed
    DECLINED = 3  # the person (or the non-interactive policy) refused a call
    USAGE = 64
    INTERRUPTED = 130


class LlmosError(Exception):
    """A user-facing error: one sentence saying what went wrong, where, and how to fix it."""

    exit_status = ExitStatus.ERROR


class ConfigError(LlmosError):
    """The configuration file or an environment override is invalid."""


class ModelNotFoundError(LlmosError):
    """A model file cannot be found or read."""


class BackendUnavailableError(LlmosError):
    """A backend library is not installed or cannot start."""


class MissingExtraError(BackendUnavailableError):
    """An optional part is used while the extra that installs its library is not installed."""


def import_extra(module: str, extra: str, purpose: str) -> Any:
    """Import an optional library, or say in one sentence which extra of llmos brings it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] != module.split(".")[0]:
            raise  # the library is there but broken: that is its own error
        raise MissingExtraError(
            f"{purpose} needs the {module} package, which is not installed; install it with "
            f"pip install 'llmos-shell[{extra}]'"
        ) from None


class UnknownToolError(LlmosError):
    """A tool name that the registry does not hold."""


class PluginError(LlmosError):
    """A tool plugin could not be loaded; reported as a warning, never fatal."""


class ToolError(Exception):
    """A model-facing error: a tool failed in a way the model can read and react to.

    Raised inside tools (missing path, permission denied); the executor turns it into an
    observation that goes back to the model, never a crash.
    """


class InvalidValueError(ToolError, ValueError):
    """A value the model or the person wrote that cannot be read; the message shows a good one."""


class DownloadError(LlmosError):
    """A model could not be downloaded (offline, not found, disk full)."""


class GGUFError(LlmosError):
    """A file is not a GGUF file, or its header is truncated or malformed."""


class GrammarError(LlmosError):
    """A schema that cannot be turned into a grammar the model is held to."""


class ToolSpecError(LlmosError):
    """A tool spec (OpenAI style, given to `plan --json -`) that cannot be offered to the model."""


class NoCommandError(LlmosError):
    """The model produced no shell command that parses."""


class ContextOverflowError(LlmosError):
    """The conversation no longer fits the model's context window."""

    def __init__(self, used: int, size: int) -> None:
        super().__init__(
            f"the request and its results need {used} tokens but the model's context holds "
            f"{size}; shorten the request, or raise context_size in the config "
            "(`llmos config` shows where it is)"
        )
        self.used = used
        self.size = size


class TruncatedOutputError(LlmosError):
    """The model ran out of tokens in the middle of a tool call."""

    exit_status = ExitStatus.TOOL_FAILED

    def __init__(self, text: str) -> None:
        super().__init__(
            f"the model's tool call was cut off after {len(text)} characters "
            f"({text[:80]!r}...) and nothing was run; rephrase the request more simply, "
            "or use a larger model with --model"
        )
        self.text = text


class LoopedCallError(TruncatedOutputError):
    """The model repeated itself inside a tool call; the call was stopped, not run."""

    def __init__(self, text: str) -> None:
        LlmosError.__init__(
            self,
            f"the model kept repeating itself inside its tool call ({text[:80]!r}...), so it "
            "was stopped and nothing was run; rephrase the request, or use a larger model "
            "with --model",
        )
        self.text = text


class Cancelled(Exception):
    """The work was stopped before it finished: Ctrl-C, or a scheduler shutting down."""


def describe_validation(exc: Any, limit: int = 5) -> str:
    """A pydantic ValidationError as `where: what` for each problem (at most `limit`)."""
    parts = []
    for err in exc.errors()[:limit]:
        loc = ".".join(str(p) for p in err["loc"]) or "arguments"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and every one it was raised from or during, each once, outermost first."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


class ScheduleError(LlmosError):
    """A time phrase that cannot be read for certain; nothing is created."""


class SpecError(LlmosError):
    """A stored job spec that is not what llmos wrote; the job is not run."""


class ProposalError(LlmosError):
    """The action cannot be turned into calls that may run unattended; nothing is created."""


class DaemonError(LlmosError):
    """The daemon cannot start, or is not there to stop."""


class StoreError(LlmosError):
    """The job store cannot be opened or written."""


class StoreDamaged(StoreError):
    """The job store no longer holds the automations llmos knew it held."""


class JournalError(OSError):
    """The journal could not record a change, which therefore was not made.

    An OSError, so a tool reports it as it reports any other reason a file could not change.
    """


class TrashError(LlmosError):
    """A trash operation that could not be done, as one sentence."""


class MemoryRefused(LlmosError):
    """A memory that is not stored: it holds a secret, or it is empty."""


class MemoryStoreError(LlmosError):
    """The memory store cannot be read or written (one sentence: where, and how to fix it)."""
