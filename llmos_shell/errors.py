"""The three kinds of error and the exit codes the command line maps them to."""

from __future__ import annotations

import enum


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


class UnknownToolError(LlmosError):
    """A tool name that the registry does not hold."""


class PluginError(LlmosError):
    """A tool plugin could not be loaded; reported as a warning, never fatal."""


class ToolError(Exception):
    """A model-facing error: a tool failed in a way the model can read and react to.

    Raised inside tools (missing path, permission denied); the executor turns it into an
    observation that goes back to the model, never a crash.
    """
