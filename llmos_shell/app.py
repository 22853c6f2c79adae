"""Wiring: configuration, registry, backend, planner and session, built once and lazily."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from llmos_shell.audit import AuditLog
from llmos_shell.backends.base import Backend
from llmos_shell.config import LoadedConfig
from llmos_shell.planner import Planner
from llmos_shell.policy import PolicyOptions
from llmos_shell.registry import Registry, discover
from llmos_shell.session import Confirmer, Session, deny_all

if TYPE_CHECKING:
    from llmos_shell.suggest import Suggester


@dataclass
class App:
    """Everything one process needs; the model is loaded only when first asked for."""

    config: LoadedConfig
    debug: bool = False
    _backend: Backend | None = field(default=None, repr=False)

    @functools.cached_property
    def registry(self) -> Registry:
        """The tools: built-ins, installed plugins, then the user's plugin folder."""
        return discover(self.config.plugin_dir)

    @property
    def model_path(self) -> Path:
        """The model file in effect (raises a clear error when it is missing)."""
        from llmos_shell.models import resolve_model

        return resolve_model(self.config.settings.model)

    @property
    def backend(self) -> Backend:
        """The planning backend, loaded on first use."""
        if self._backend is None:
            from llmos_shell.backends import create_backend

            self._backend = create_backend(self.config)
        return self._backend

    @functools.cached_property
    def planner(self) -> Planner:
        """The planner over the registry, on the backend, its static prompt evaluated."""
        settings = self.config.settings
        planner = Planner(
            self.backend,
            self.registry,
            observation_chars=settings.observation_chars,
            max_answer_tokens=settings.max_answer_tokens,
        )
        planner.warm_up()  # evaluates the static prefix once, or loads it from the cache
        return planner

    @functools.cached_property
    def suggester(self) -> Suggester:
        """Natural language to one shell command, on the same backend."""
        from llmos_shell.suggest import Suggester

        suggester = Suggester(self.backend)
        suggester.warm_up()
        return suggester

    @functools.cached_property
    def audit(self) -> AuditLog:
        """The audit log of executed calls."""
        return AuditLog(self.config.paths.audit_log)

    def session(
        self, confirmer: Confirmer = deny_all, options: PolicyOptions | None = None
    ) -> Session:
        """A request pipeline with the given confirmer."""
        settings = self.config.settings
        return Session(
            self.planner,
            self.registry,
            confirmer=confirmer,
            options=options,
            audit=self.audit,
            max_steps=settings.max_steps,
            chain_after_success=settings.chain_after_success,
            tool_timeout_s=settings.tool_timeout_s,
            debug=self.debug,
        )

    def with_model(self, model: str) -> App:
        """The same app on another model file; tools are not discovered again."""
        from llmos_shell.config import load_config

        other = App(
            config=load_config(self.config.paths, overrides={"model": model}), debug=self.debug
        )
        other.__dict__["registry"] = self.registry  # fills the cached property
        return other

    def close(self) -> None:
        """Free the model, if one was loaded."""
        close = getattr(self._backend, "close", None)
        if close is not None:
            close()
        self._backend = None
