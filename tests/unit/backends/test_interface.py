"""Every backend, the scripted one too, implements the whole `Backend` interface."""

from __future__ import annotations

import importlib
import inspect

import pytest

from llmos_shell.backends import BACKENDS
from llmos_shell.backends.base import Backend
from llmos_shell.backends.scripted import ScriptedBackend
from llmos_shell.config import Settings


def _backend_classes() -> list[type]:
    """The scripted backend, and the class each row of the table builds."""
    classes: list[type] = [ScriptedBackend]
    for spec in BACKENDS.values():
        module = importlib.import_module(spec.factory.partition(":")[0])
        returned = inspect.signature(module.from_config).return_annotation  # a name, as text
        classes.append(getattr(module, str(returned)))
    return classes


INTERFACE = {
    name: inspect.signature(member)
    for name, member in vars(Backend).items()
    if callable(member) and not name.startswith("_")
}


@pytest.mark.parametrize("cls", _backend_classes(), ids=lambda c: c.__name__)
def test_the_backend_has_every_method_with_the_same_parameters(cls: type) -> None:
    for name, wanted in INTERFACE.items():
        method = getattr(cls, name, None)
        assert method is not None, f"{cls.__name__} has no {name}()"
        got = inspect.signature(method)
        assert list(got.parameters) == list(wanted.parameters), f"{cls.__name__}.{name}{got}"
        for param, spec in wanted.parameters.items():
            assert got.parameters[param].kind == spec.kind, f"{cls.__name__}.{name}: {param}"


def test_every_table_row_names_a_real_factory() -> None:
    for name, spec in BACKENDS.items():
        module_name, _, function = spec.factory.partition(":")
        assert callable(getattr(importlib.import_module(module_name), function)), name
        assert set(spec.settings) <= set(Settings.model_fields), name
