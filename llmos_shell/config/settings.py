"""Configuration: defaults, then the TOML file in the config dir, then `LLMOS_*` variables.

Every value remembers where it came from, so `llmos config` can show it, and every mistake
is one sentence naming the file or variable, the key, and the fix.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict

from llmos_shell.calls import Risk, SandboxMode
from llmos_shell.config.backends import BACKENDS, DEFAULT_BACKEND
from llmos_shell.errors import ConfigError
from llmos_shell.vocabulary.filetypes import file_type_words, not_a_regular_file
from llmos_shell.vocabulary.units import human_size

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

APP_NAME = "llmos"
ENV_PREFIX = "LLMOS_"
DEFAULT_BASE_URL = "http://127.0.0.1:8080/v1"
DEFAULT_KEY_ENV = "OPENAI_API_KEY"
# The OpenAI SDK's variable for the server, read when no setting names one.
BASE_URL_ENV = "OPENAI_BASE_URL"


class McpServer(pydantic.BaseModel):
    """One `[mcp_servers.NAME]` table: an MCP server whose tools llmos may call (Codex's fields)."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    command: str | None = pydantic.Field(None, description="the program that serves over stdio")
    args: list[str] = pydantic.Field(default_factory=list, description="its arguments")
    env: dict[str, str] = pydantic.Field(
        default_factory=dict, description="variables for its process (~ is expanded)"
    )
    url: str | None = pydantic.Field(None, description="a streamable HTTP server's URL")
    enabled: bool = True
    startup_timeout_sec: float = pydantic.Field(
        10.0, gt=0, le=300, description="seconds it may take to start and list its tools"
    )
    tool_timeout_sec: float = pydantic.Field(
        60.0, gt=0, le=3600, description="seconds one of its tools may take to answer"
    )
    tool_risk: dict[str, Risk] = pydantic.Field(
        default_factory=dict,
        description="a risk per tool name, replacing what the server's annotations say",
    )

    @pydantic.field_validator("command", "url", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @pydantic.model_validator(mode="after")
    def _one_transport(self) -> McpServer:
        if (self.command is None) == (self.url is None):
            raise ValueError(
                "give either command (a stdio server) or url (a streamable HTTP server)"
            )
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url {self.url!r} must start with http:// or https://")
        return self


class Settings(BaseSettings):
    """Everything a person can configure, with its default."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    model: str | None = pydantic.Field(
        None,
        description="a GGUF file (llama-cpp); a GGUF file, model folder or cached hub id "
        "(transformers); the served model's name (openai); empty means the embedded default",
    )
    backend: str = pydantic.Field(
        DEFAULT_BACKEND, description=f"planning backend: {' or '.join(BACKENDS)}"
    )
    device: str | None = pydantic.Field(
        None,
        description="device for the transformers backend (cuda, cuda:1, mps, cpu); "
        "empty means CUDA, then MPS, then the CPU",
    )
    base_url: str = pydantic.Field(
        DEFAULT_BASE_URL,
        description="the OpenAI-compatible server's base URL, for the openai backend; "
        f"unset or empty means ${BASE_URL_ENV}, else {DEFAULT_BASE_URL}",
    )
    api_key_env: str = pydantic.Field(
        DEFAULT_KEY_ENV,
        description="name of the environment variable holding the openai backend's API key; "
        f"empty means {DEFAULT_KEY_ENV}",
    )
    model_dirs: list[Path] = pydantic.Field(
        default_factory=list,
        description="extra folders searched for GGUF models by `llmos models`",
    )
    shortlist_size: int = pydantic.Field(
        5,
        ge=0,
        le=100,
        description="tools offered to the model per request, the most similar first; "
        "0 offers every tool",
    )
    context_size: int = pydantic.Field(4096, ge=512, le=131072, description="context tokens")
    threads: int | None = pydantic.Field(
        None,
        ge=1,
        le=512,
        description="CPU threads for the model; empty means the idle physical cores",
    )
    max_steps: int = pydantic.Field(
        4, ge=1, le=20, description="tool calls the planner may make for one request"
    )
    chain_after_success: bool = pydantic.Field(
        False,
        description="true or false: after a call succeeds, may the model call another tool "
        "instead of answering (worth it with models of 1B parameters and more)",
    )
    max_answer_tokens: int = pydantic.Field(
        160, ge=16, le=8192, description="longest answer the model may write, in tokens"
    )
    temperature: float = pydantic.Field(0.0, ge=0.0, le=2.0, description="sampling temperature")
    observation_chars: int = pydantic.Field(
        1500, ge=100, le=100000, description="tool output shown to the model, in characters"
    )
    tool_timeout_s: float = pydantic.Field(
        60.0, gt=0, le=3600, description="seconds a tool call may run"
    )
    plugin_import_timeout_s: float = pydantic.Field(
        5.0,
        gt=0,
        le=600,
        description="seconds a plugin may take to import (tried apart first); slower ones "
        "are skipped",
    )
    plugin_dir: Path | None = pydantic.Field(
        None, description="folder of *.py tool plugins; empty means <config dir>/plugins"
    )
    memory: bool = pydantic.Field(
        True,
        description="true or false: remember facts, what worked and your corrections, and "
        "plan with them (false turns memory off entirely)",
    )
    memory_url: str = pydantic.Field(
        "",
        description="a Chroma server (http://HOST:PORT) that keeps the memories instead of "
        "<data dir>/memory, for sharing them between machines; empty means this machine",
    )
    jobs_database_url: str = pydantic.Field(
        "",
        description="the automations' job store: a PostgreSQL URL such as "
        "postgresql://me@dbhost/llmos; empty means SQLite in the data dir (jobs.sqlite)",
    )
    timezone: str = pydantic.Field(
        "",
        description="the IANA time zone automations run in, such as Europe/Paris; empty means "
        "this machine's",
    )
    sandbox: SandboxMode = pydantic.Field(
        "auto",
        description="how shell commands run: auto (in a bubblewrap sandbox where it runs; "
        "without one, every command that is not read-only asks first), required (refuse "
        "commands when no sandbox can run) or off (never sandbox; not recommended)",
    )
    sandbox_memory_mb: int = pydantic.Field(
        1024, ge=16, description="the most memory one sandboxed shell command may use, in MiB"
    )
    sandbox_processes: int = pydantic.Field(
        512, ge=8, description="how many more processes one sandboxed shell command may start"
    )
    sandbox_file_mb: int = pydantic.Field(
        1024, ge=1, description="the largest file one sandboxed shell command may write, in MiB"
    )
    sandbox_tmp_mb: int = pydantic.Field(
        512, ge=1, description="the size of a sandboxed shell command's $TMPDIR, in MiB"
    )

    mcp_servers: dict[str, McpServer] = pydantic.Field(
        default_factory=dict,
        description="MCP servers whose tools llmos may call, one [mcp_servers.NAME] table "
        "each: command, args and env (stdio) or url (streamable HTTP), enabled, tool_risk",
    )

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: Any, *args: Any, **kwargs: Any
    ) -> tuple[Any, ...]:
        """Validate only what `load_config` passes in; it reads the file and env itself."""
        return (init_settings,)

    @pydantic.field_validator("backend")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if value not in BACKENDS:
            raise ValueError(
                f"there is no backend {value!r}; the backends are {', '.join(BACKENDS)}"
            )
        return value

    @pydantic.field_validator("model", "device", "threads", "plugin_dir", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @pydantic.field_validator("base_url", "api_key_env", mode="before")
    @classmethod
    def _empty_is_the_default(cls, value: Any, info: pydantic.ValidationInfo) -> Any:
        if isinstance(value, str) and not value.strip():
            return DEFAULT_BASE_URL if info.field_name == "base_url" else DEFAULT_KEY_ENV
        return value


@dataclass(frozen=True)
class Paths:
    """Where llmos keeps its files; every one can be moved with an environment variable."""

    config_dir: Path
    data_dir: Path
    state_dir: Path
    cache_dir: Path

    @classmethod
    def from_env(cls) -> Paths:
        """The platform's directories, or the LLMOS_{CONFIG,DATA,STATE,CACHE}_DIR variables."""
        import platformdirs

        env = os.environ

        def pick(var: str, default: str) -> Path:
            return Path(env[var]).expanduser() if env.get(var) else Path(default)

        return cls(
            config_dir=pick("LLMOS_CONFIG_DIR", platformdirs.user_config_dir(APP_NAME)),
            data_dir=pick("LLMOS_DATA_DIR", platformdirs.user_data_dir(APP_NAME)),
            state_dir=pick("LLMOS_STATE_DIR", platformdirs.user_state_dir(APP_NAME)),
            cache_dir=pick("LLMOS_CACHE_DIR", platformdirs.user_cache_dir(APP_NAME)),
        )

    @property
    def config_file(self) -> Path:
        """The TOML configuration file."""
        return self.config_dir / "config.toml"

    @property
    def history_file(self) -> Path:
        """The interactive shell's input history."""
        return self.state_dir / "history"

    @property
    def audit_log(self) -> Path:
        """Every executed call, one JSON object a line."""
        return self.state_dir / "audit.jsonl"

    @property
    def conversations_file(self) -> Path:
        """The last few conversations, for `llmos --continue` and `/resume`."""
        return self.state_dir / "conversations.json"

    @property
    def undo_journal(self) -> Path:
        """What llmos changed and how to reverse it; previous contents in the folder beside it."""
        return self.state_dir / "undo.jsonl"

    @property
    def default_plugin_dir(self) -> Path:
        """The user's own tool plugins."""
        return self.config_dir / "plugins"


# Variables that configure where files live rather than a setting.
_PATH_VARS = {"LLMOS_CONFIG_DIR", "LLMOS_DATA_DIR", "LLMOS_STATE_DIR", "LLMOS_CACHE_DIR"}
# The variable that picks a profile, a `[profiles.NAME]` table of config.toml.
PROFILE_ENV = "LLMOS_PROFILE"
PROFILES_TABLE = "profiles"


@dataclass(frozen=True)
class LoadedConfig:
    """The effective settings, where each came from, and the paths in use."""

    settings: Settings
    sources: dict[str, str]
    paths: Paths
    warnings: tuple[str, ...] = ()
    profile: str | None = None  # the `[profiles.NAME]` in effect

    @property
    def plugin_dir(self) -> Path:
        """The plugin folder in effect."""
        return self.settings.plugin_dir or self.paths.default_plugin_dir


def load_config(
    paths: Paths | None = None, overrides: dict[str, Any] | None = None
) -> LoadedConfig:
    """Merge defaults, the TOML file, a profile of it, `LLMOS_*` variables and command-line
    overrides (`profile` among them names the profile, before LLMOS_PROFILE)."""
    paths = paths or Paths.from_env()
    env = dict(os.environ)
    overrides = dict(overrides or {})
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    warnings: list[str] = []
    fields = Settings.model_fields

    file_values = _read_toml(paths.config_file)
    profiles = file_values.pop(PROFILES_TABLE, {})
    for key, value in file_values.items():
        if key not in fields:
            raise ConfigError(
                f"{paths.config_file}: unknown key {key!r}; "
                f"known keys are {', '.join(sorted(fields))} (fix or remove that line)"
            )
        values[key] = value
        sources[key] = str(paths.config_file)
    profile = overrides.pop("profile", None) or env.get(PROFILE_ENV, "").strip() or None
    if profile is not None:
        table = _profile_table(paths.config_file, profiles, profile)
        for key, value in table.items():
            values[key] = value
            sources[key] = f"{paths.config_file} [{PROFILES_TABLE}.{profile}]"

    for var in sorted(env):
        if not var.startswith(ENV_PREFIX) or var in _PATH_VARS or var == PROFILE_ENV:
            continue
        key = var[len(ENV_PREFIX) :].lower()
        if key not in fields:
            warnings.append(
                f"environment variable {var} is not a setting and is ignored "
                f"(settings: {', '.join(ENV_PREFIX + k.upper() for k in sorted(fields))})"
            )
    try:
        env_values = EnvSettingsSource(Settings, case_sensitive=False)()
    except Exception as exc:  # pydantic-settings raises SettingsError for unparsable values
        raise ConfigError(f"an LLMOS_* environment variable is malformed: {exc}") from None
    for key, value in env_values.items():
        values[key] = value
        sources[key] = f"environment ({ENV_PREFIX}{key.upper()})"

    for key, value in overrides.items():
        if value is not None:
            values[key] = value
            sources[key] = "command line"

    if not str(values.get("base_url") or "").strip() and env.get(BASE_URL_ENV, "").strip():
        # As the OpenAI SDK and the tools built on it do, when no setting names the server.
        values["base_url"] = env[BASE_URL_ENV].strip()
        sources["base_url"] = f"environment ({BASE_URL_ENV})"

    try:
        settings = Settings(**values)
    except pydantic.ValidationError as exc:
        err = exc.errors()[0]
        key = str(err["loc"][0]) if err["loc"] else "?"
        where = sources.get(key, "defaults")
        shown = repr(values.get(key))
        if len(shown) > 80:  # a value nested hundreds deep is not worth printing whole
            shown = shown[:77] + "..."
        hint = fields[key].description if key in fields else ""
        raise ConfigError(
            f"{where}: {key} = {shown} is invalid ({err['msg']}); "
            f"set it to {hint or 'a valid value'}"
        ) from None
    for key in fields:
        sources.setdefault(key, "default")
    return LoadedConfig(
        settings=settings,
        sources=sources,
        paths=paths,
        warnings=tuple(warnings),
        profile=profile,
    )


def _profile_table(path: Path, profiles: Any, name: str) -> dict[str, Any]:
    """The settings of `[profiles.NAME]`, each key checked; one sentence when it is not there."""
    named = sorted(profiles) if isinstance(profiles, dict) else []
    table = profiles.get(name) if isinstance(profiles, dict) else None
    if not isinstance(table, dict):
        there = f"the profiles there: {', '.join(named)}" if named else "it has no profiles"
        raise ConfigError(
            f"{path}: no profile {name!r} ({there}); add a [{PROFILES_TABLE}.{name}] table of "
            f"settings or pick another with --profile or {PROFILE_ENV}"
        )
    for key in table:
        if key not in Settings.model_fields:
            raise ConfigError(
                f"{path}: [{PROFILES_TABLE}.{name}] has an unknown key {key!r}; known keys are "
                f"{', '.join(sorted(Settings.model_fields))} (fix or remove that line)"
            )
    return dict(table)


MAX_CONFIG_BYTES = 1_000_000  # a configuration file is a few lines; more is a mistake


def read_config_text(path: Path) -> str | None:
    """The text of the configuration file, or None when there is none.

    What the path is gets checked before a byte is read, so a FIFO or a device in its place
    is one ConfigError instead of a read that never returns; so is text that is not UTF-8.
    """
    kind = not_a_regular_file(path)
    if kind is not None:
        raise ConfigError(
            f"{path} is {kind}, not a file; replace it with a TOML file or remove it to use "
            "the defaults"
        )
    try:
        # Non-blocking, should a FIFO take the file's place after the check.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration file ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise ConfigError(f"{path} is {file_type_words(mode)}, not a file; remove it")
        data = handle.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"{path} is over {human_size(MAX_CONFIG_BYTES)}, far more than a configuration "
            "file holds; fix it or delete it to use the defaults"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at position {exc.start}); "
            "save it as UTF-8 or delete it to use the defaults"
        ) from None


def _read_toml(path: Path) -> dict[str, Any]:
    text = read_config_text(path)
    if text is None:
        return {}
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path}: not valid TOML ({exc}); fix that line or delete the file to use defaults"
        ) from None
    except RecursionError:
        raise ConfigError(
            f"{path}: not valid TOML (values nested too deeply to read); fix it or delete the "
            "file to use defaults"
        ) from None
    return data


def render_toml_value(value: Any) -> str:
    """A value written as TOML writes it, so `llmos config` can be pasted into config.toml."""
    if value is None:
        return '""'  # empty means unset for every setting that may be unset
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(render_toml_value(item) for item in value) + "]"
    if isinstance(value, dict):  # an inline table; unset (None) entries are left out
        items = [
            f"{_toml_key(str(key))} = {render_toml_value(item)}"
            for key, item in value.items()
            if item is not None
        ]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    return json.dumps(str(value), ensure_ascii=False)  # JSON's escapes are valid TOML


def _toml_key(key: str) -> str:
    """A key bare where TOML allows it, quoted otherwise."""
    if key and all((c.isalnum() and c.isascii()) or c in "_-" for c in key):
        return key
    return json.dumps(key, ensure_ascii=False)
