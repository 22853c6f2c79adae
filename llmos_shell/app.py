"""Wiring: configuration, registry, backend, planner and session, built once and lazily."""

from __future__ import annotations

import contextlib
import functools
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from llmos_shell.backends.base import Backend
from llmos_shell.calls import SandboxLimits, ToolServices
from llmos_shell.config import LoadedConfig
from llmos_shell.config.clock import person_now
from llmos_shell.planning.planner import Planner
from llmos_shell.registry import Registry, discover
from llmos_shell.safety.approval import Ceiling
from llmos_shell.safety.audit import AuditLog
from llmos_shell.safety.kernel import Guard
from llmos_shell.safety.policy import PolicyOptions
from llmos_shell.safety.rules import RuleStore
from llmos_shell.safety.sandbox import ShellSandbox
from llmos_shell.safety.undo import UndoJournal
from llmos_shell.safety.worker import shared_pool
from llmos_shell.session import Confirmer, Conversation, Session, deny_all

MAX_DRAFTS = 10  # proposed automations kept for the front end to ask about
T = TypeVar("T")

if TYPE_CHECKING:
    from llmos_shell.memory.conversations import ConversationStore
    from llmos_shell.memory.service import Memory
    from llmos_shell.planning.suggest import Suggester


@dataclass
class App:
    """Everything one process needs; the model is loaded only when first asked for."""

    config: LoadedConfig
    debug: bool = False
    _backend: Backend | None = field(default=None, repr=False)
    _loading: BackgroundLoad[Backend] | None = field(default=None, repr=False)
    usage_error: str | None = field(default=None, repr=False)
    memory_error: str | None = field(default=None, repr=False)
    memory_off: str = field(default="", repr=False)

    @functools.cached_property
    def registry(self) -> Registry:
        """The tools: built-ins, installed plugins, the user's plugin folder, then the MCP
        servers of config.toml (started here, on first use, and closed with the app)."""
        registry = discover(
            self.config.plugin_dir,
            import_timeout_s=self.config.settings.plugin_import_timeout_s,
            cache_dir=self.config.paths.cache_dir,
        )
        servers = self.config.settings.mcp_servers
        if servers:
            from llmos_shell.registry.mcp_source import add_servers

            add_servers(  # their sources join the registry's, closed with it
                registry,
                servers,
                log_dir=self.config.paths.state_dir / "mcp",
                config_file=str(self.config.paths.config_file),
            )
        return registry

    @property
    def backend(self) -> Backend:
        """The planning backend, loaded on first use (or waited for, after `preload_backend`)."""
        if self._backend is None:
            loading, self._loading = self._loading, None
            if loading is not None:
                self._backend = loading.result()  # raises what loading raised
            else:
                from llmos_shell.backends import create_backend

                self._backend = create_backend(self.config)
        return self._backend

    def preload_backend(self) -> None:
        """Start loading the model in a background thread; `backend` waits for it.

        A one-shot builds its shortlist meanwhile: the model's library lets go of the GIL
        while it reads the file. Call it after anything meant for stderr is written, since
        loading silences llama.cpp's stderr, which is the process's.
        """
        if self._backend is not None or self._loading is not None:
            return
        import importlib

        from llmos_shell.backends import BACKENDS, create_backend

        spec = BACKENDS.get(self.config.settings.backend)
        if spec is None:
            return
        try:
            # Imported here, not in the thread: numpy's C module fails when two threads
            # import it at once, and the embedding model imports it too.
            for module in (*spec.modules, spec.factory.partition(":")[0]):
                importlib.import_module(module)
        except ImportError:
            return  # loading in the foreground then says what is missing
        config = self.config
        self._loading = BackgroundLoad(lambda: create_backend(config))

    @property
    def loaded_backend(self) -> Backend | None:
        """The backend if it is loaded already; never loads one."""
        return self._backend

    @functools.cached_property
    def planner(self) -> Planner:
        """The planner over the registry, on the backend, its static prompt evaluated."""
        return self.planner_for(self.registry)

    def planner_for(self, registry: Registry) -> Planner:
        """A planner over `registry` (the app's tools, or tools given as specs), warmed up."""
        settings = self.config.settings
        shortlist = None
        if settings.shortlist_size > 0:
            from llmos_shell.planning.shortlist import default_shortlist

            shortlist = default_shortlist(
                registry,
                size=settings.shortlist_size,
                cache_dir=self.config.paths.cache_dir,
            )
        planner = Planner(
            self.backend,
            registry,
            observation_chars=settings.observation_chars,
            max_answer_tokens=settings.max_answer_tokens,
            shortlist=shortlist,
            static_examples=shortlist is None,
        )
        planner.warm_up()  # evaluates the static prefix once, or loads it from the cache
        return planner

    @functools.cached_property
    def suggester(self) -> Suggester:
        """Natural language to one shell command, on the same backend."""
        from llmos_shell.planning.suggest import Suggester

        suggester = Suggester(self.backend)
        suggester.warm_up()
        return suggester

    @functools.cached_property
    def conversations(self) -> ConversationStore:
        """The conversations kept in the state folder, for --continue and /resume."""
        from llmos_shell.memory.conversations import ConversationStore

        return ConversationStore(self.config.paths.conversations_file)

    @functools.cached_property
    def conversation(self) -> Conversation:
        """The recent requests of this conversation, for follow-ups; kept after each one."""
        return Conversation(store=self.conversations)

    def continue_last(self) -> bool:
        """Make the last kept conversation this one; False when none is kept."""
        saved = self.conversations.last()
        if saved is None:
            return False
        self.conversation.resume(saved)
        return True

    @functools.cached_property
    def memory(self) -> Memory | None:
        """The person's memory, or None when it is off or cannot be opened (then said once)."""
        from llmos_shell.errors import LlmosError
        from llmos_shell.memory.service import open_memory

        if not self.config.settings.memory:
            where = self.config.sources.get("memory", "default")
            self.memory_off = f"memory is off ({'--no-memory' if where == 'command line' else 'memory = false in ' + where})"
            return None
        try:
            return open_memory(self.config)
        except LlmosError as exc:
            self.memory_error = f"memory is not available: {exc}"
            self.memory_off = self.memory_error
            return None

    def opened_memory(self) -> Memory:
        """The person's memory, opened on first use; MemoryRefused says why there is none."""
        from llmos_shell.errors import MemoryRefused

        memory = self.memory
        if memory is None:
            raise MemoryRefused(self.memory_off or "memory is turned off")
        return memory

    def now(self) -> datetime:
        """Now, in the person's time zone."""
        return person_now(self.config.settings.timezone)

    @functools.cached_property
    def drafts(self) -> deque[Any]:
        """Automations the schedule tool proposed, waiting for the front end to ask about."""
        return deque(maxlen=MAX_DRAFTS)

    @functools.cached_property
    def services(self) -> ToolServices:
        """What this process lends the tools that run in it, instead of globals."""
        return ToolServices(
            memory=self.opened_memory,
            drafts=self.drafts,
            config=self.config,
            paths=self.config.paths,
            now=self.now,
        )

    @functools.cached_property
    def sandbox(self) -> ShellSandbox:
        """How shell commands are sandboxed; one per process, so its absence is said once."""
        settings = self.config.settings
        limits = SandboxLimits(
            memory_mb=settings.sandbox_memory_mb,
            processes=settings.sandbox_processes,
            file_mb=settings.sandbox_file_mb,
            tmp_mb=settings.sandbox_tmp_mb,
        )
        return ShellSandbox(settings.sandbox, limits)

    @functools.cached_property
    def audit(self) -> AuditLog:
        """The audit log of executed calls."""
        return AuditLog(self.config.paths.audit_log)

    @functools.cached_property
    def undo(self) -> UndoJournal:
        """The undo journal in the state dir."""
        return UndoJournal(self.config.paths.undo_journal)

    def session(
        self,
        confirmer: Confirmer = deny_all,
        options: PolicyOptions | None = None,
        *,
        planning: bool = True,
        ceiling: Ceiling | None = None,
        guards: tuple[Guard, ...] = (),
        rules: bool = False,
    ) -> Session:
        """A request pipeline with the given confirmer; without planning, no model is loaded
        and the session only runs the calls it is given. With `rules`, the person's standing
        rules approve what they cover (their own requests: never an automation's)."""
        settings = self.config.settings
        session = Session(
            self.planner if planning else None,
            self.registry,
            confirmer=confirmer,
            options=options,
            audit=self.audit,
            max_steps=settings.max_steps,
            chain_after_success=settings.chain_after_success,
            tool_timeout_s=settings.tool_timeout_s,
            debug=self.debug,
            conversation=self.conversation,
            undo=self.undo,
            memory=self.memory,
            sandbox=self.sandbox,
            pool=shared_pool(),
            read_only=(str(self.config.plugin_dir),),
            services=self.services,
            ceiling=ceiling,
            guards=guards,
        )
        if rules:
            session.rules = self.rules
        return session

    @functools.cached_property
    def rules(self) -> RuleStore:
        """The person's standing permissions (`[a]lways`, `llmos rules`)."""
        return RuleStore(self.config.paths.config_dir)

    def with_model(self, model: str) -> App:
        """The same app on another model file; tools are not discovered again."""
        from llmos_shell.config import load_config

        # Other command-line overrides (--backend, --device) still hold for the new model.
        overrides = {
            key: getattr(self.config.settings, key)
            for key, source in self.config.sources.items()
            if source == "command line" and key != "model"
        }
        overrides["model"] = model
        overrides["profile"] = self.config.profile
        other = App(config=load_config(self.config.paths, overrides=overrides), debug=self.debug)
        other.__dict__["registry"] = self.registry  # fills the cached property
        if "memory" in self.__dict__:
            other.__dict__["memory"] = self.__dict__["memory"]
        other.__dict__["sandbox"] = self.sandbox  # what was said about it stays said
        return other

    def close(self) -> None:
        """Record this session's model usage, then free the model, if one was loaded; let go
        of the tool sources (MCP servers stop) and the memory."""
        registry = self.__dict__.get("registry")
        if registry is not None:
            registry.close()
        memory = self.__dict__.get("memory")
        if memory is not None:
            memory.close()
        loading, self._loading = self._loading, None
        if loading is not None and self._backend is None:
            with contextlib.suppress(Exception):  # a load that failed was never used
                self._backend = loading.result()
        backend = self._backend
        if backend is None:
            return
        self._record_usage(backend)
        backend.close()
        self._backend = None

    def _record_usage(self, backend: Backend) -> None:
        """Append the backend's totals to the usage log, for `llmos stats`."""
        from llmos_shell.backends.usage import UsageRecord, append_usage, usage_log

        if backend.stats.requests == 0 and backend.stats.load_s == 0:
            return  # nothing was loaded or asked: nothing to report
        path = usage_log(self.config.paths.state_dir)
        try:
            append_usage(path, UsageRecord.from_backend(backend))
        except OSError as exc:
            self.usage_error = f"usage not recorded in {path} ({exc.strerror or exc})"


class BackgroundLoad(Generic[T]):
    """A value built in a daemon thread started now; `result` waits for it."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(build,), daemon=True)
        self._thread.start()

    def _run(self, build: Callable[[], T]) -> None:
        try:
            self._value = build()
        except BaseException as exc:  # handed to the thread that asks for the value
            self._error = exc

    def result(self) -> T:
        """The value, once built; raises what building it raised."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._value is not None
        return self._value
