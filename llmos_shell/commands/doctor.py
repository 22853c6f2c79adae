"""`llmos doctor`: checks of the setup, one line each, with the fix for every problem.

Libraries are looked up with importlib.util.find_spec, not imported: torch is imported only
when the transformers backend is the one selected (the GPU check then needs it).
"""

from __future__ import annotations

import argparse
import enum
import importlib.util
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmos_shell.backends import BACKENDS
from llmos_shell.commands.base import overrides
from llmos_shell.errors import ConfigError, LlmosError
from llmos_shell.ui.console import console

if TYPE_CHECKING:  # the settings (pydantic) load when the checks run, not for --help
    from llmos_shell.config import LoadedConfig

DESCRIPTION = (
    "Check the setup, one line each: the config, the model in effect, the backends' "
    "libraries, the GPU, the openai server (for that backend), the dirs, the plugins, the "
    "sandbox for shell commands. "
    "Exit status 0 when nothing failed, 1 otherwise."
)
SERVER_TIMEOUT_S = 2.0
GPU_PROBE_TIMEOUT_S = 5.0


class Level(str, enum.Enum):
    """How a check went."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Check:
    """One line of the report: what was checked, how it went, and the fix for a problem."""

    name: str
    level: Level
    detail: str
    fix: str = ""

    def to_json(self) -> dict[str, Any]:
        """The check as plain JSON values."""
        return {
            "check": self.name,
            "level": self.level.value,
            "detail": self.detail,
            "fix": self.fix,
        }


def run_checks(overrides: dict[str, Any] | None = None) -> list[Check]:
    """Every check, in order; a failed configuration leaves the others on the defaults."""
    from llmos_shell.config import LoadedConfig, Paths, Settings, load_config

    checks: list[Check] = []
    paths = Paths.from_env()
    try:
        config = load_config(paths, overrides=overrides)
    except ConfigError as exc:
        checks.append(
            Check("config", Level.FAIL, str(exc), "the rest of the checks use the defaults")
        )
        config = LoadedConfig(settings=Settings.model_validate({}), sources={}, paths=paths)
    else:
        checks.append(Check("config", Level.OK, _config_detail(config)))
        checks.extend(
            Check("config", Level.WARN, warning, "unset it or correct its name")
            for warning in config.warnings
        )
    for step in (
        check_model,
        check_backends,
        check_gpu,
        check_server,
        check_dirs,
        check_plugins,
        check_sandbox,
    ):
        try:
            checks.extend(step(config))
        except Exception as exc:  # one broken check must not hide the others
            checks.append(
                Check(
                    step.__name__.removeprefix("check_"),
                    Level.FAIL,
                    f"the check itself failed ({type(exc).__name__}: {exc})",
                    "run `llmos --debug doctor` and report it",
                )
            )
    return checks


def _config_detail(config: LoadedConfig) -> str:
    file = config.paths.config_file
    where = f"{file} is valid" if file.exists() else f"no {file}; defaults in use"
    return f"{where}; backend {config.settings.backend}"


# --- the model --------------------------------------------------------------------------------


def check_model(config: LoadedConfig) -> Iterator[Check]:
    """The model in effect exists and reads as what its backend loads."""
    from llmos_shell.models.catalog import entry_for_path, hf_cache_entries
    from llmos_shell.models.locate import embedded_model_path, hf_hub_cache, resolve_model
    from llmos_shell.models.names import looks_like_hub_id

    settings = config.settings
    model = settings.model
    spec = BACKENDS[settings.backend]
    if spec.remote:
        yield Check("model", Level.OK, f"served by {settings.base_url} ({model or 'its default'})")
        return
    if "hf" not in spec.loads or not model:  # a GGUF file, or the embedded one
        try:
            path = resolve_model(model) if model else embedded_model_path()
        except LlmosError as exc:
            yield Check("model", Level.FAIL, str(exc), "`llmos models` lists the models found")
            return
        yield _gguf_check(path)
        return
    path = Path(model).expanduser()
    if path.exists():
        entry = entry_for_path(path, source="setting")
        if entry is None:
            yield Check(
                "model",
                Level.FAIL,
                f"{path} is neither a GGUF file nor a model folder with a config.json",
                "set `model` to a GGUF file, a model folder, or a cached hub id",
            )
        elif entry.format == "gguf" and entry.path is not None:
            yield _gguf_check(entry.path)
        elif entry.error:
            yield Check("model", Level.FAIL, f"{path}: {entry.error}", "download the model again")
        else:
            yield Check("model", Level.OK, f"{path} (transformers folder, {entry.quantization})")
        return
    if looks_like_hub_id(model):
        cached = [e for e in hf_cache_entries(hf_hub_cache()) if e.hub_id == model]
        if cached and not any(e.error for e in cached):
            yield Check("model", Level.OK, f"{model} is in the hub cache ({hf_hub_cache()})")
            return
        yield Check(
            "model",
            Level.FAIL,
            f"{model} is not in the Hugging Face cache ({hf_hub_cache()})",
            f"run `llmos models pull {model}` while online",
        )
        return
    yield Check(
        "model",
        Level.FAIL,
        f"model {path} does not exist",
        "fix the `model` setting (`llmos config` shows where it was set)",
    )


def _gguf_check(path: Path) -> Check:
    from llmos_shell.errors import GGUFError
    from llmos_shell.models.gguf import read_gguf
    from llmos_shell.vocabulary.units import human_size

    try:
        header = read_gguf(path)
        size = path.stat().st_size
    except (GGUFError, OSError) as exc:
        return Check(
            "model",
            Level.FAIL,
            f"{path} is not readable as GGUF ({exc})",
            "download the file again, or pick another with `llmos models use`",
        )
    return Check(
        "model",
        Level.OK,
        f"{path.name} ({header.quantization or '?'}, context {header.context_length or '?'}, "
        f"{human_size(size)})",
    )


# --- libraries and hardware -------------------------------------------------------------------


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "?"


def check_backends(config: LoadedConfig) -> Iterator[Check]:
    """Each backend's libraries are installed; a missing one fails only for the selected one."""
    selected = config.settings.backend
    for name, spec in BACKENDS.items():
        label = f"backend {name}"
        if not spec.modules:
            yield Check(label, Level.OK, "needs no library (plain HTTP)")
            continue
        missing = [m for m in spec.modules if not _installed(m)]
        if missing:
            level = Level.FAIL if name == selected else Level.WARN
            yield Check(label, level, f"not installed: {', '.join(missing)}", spec.install)
            continue
        detail = ", ".join(f"{_distribution(m)} {_version(_distribution(m))}" for m in spec.modules)
        if "hf" in spec.loads and "gguf" in spec.loads and not _installed("gguf"):
            detail += "; without the gguf package it loads no GGUF file"
        yield Check(label, Level.OK, detail)


def _distribution(module: str) -> str:
    """The package that installs a module, as pip names it."""
    return {"llama_cpp": "llama_cpp_python"}.get(module, module)


def check_gpu(config: LoadedConfig) -> Iterator[Check]:
    """A GPU is visible: through torch when the transformers backend runs, else nvidia-smi."""
    settings = config.settings
    wants_gpu = bool(settings.device) and not str(settings.device).startswith("cpu")
    if "torch" in BACKENDS[settings.backend].modules and _installed("torch"):
        import torch

        if torch.cuda.is_available():
            names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
            yield Check("gpu", Level.OK, f"CUDA: {', '.join(names)} (torch {torch.__version__})")
            return
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            yield Check("gpu", Level.OK, "Apple MPS")
            return
        level = Level.FAIL if wants_gpu else Level.OK
        fix = (
            f"device = {settings.device!r} needs a GPU torch can see: install a CUDA build of "
            'torch, or set device = "cpu"'
            if wants_gpu
            else ""
        )
        yield Check("gpu", level, f"torch {torch.__version__} sees no GPU; the CPU is used", fix)
        return
    smi = shutil.which("nvidia-smi")
    if smi is None:
        yield Check("gpu", Level.OK, "no NVIDIA GPU visible (no nvidia-smi); models run on the CPU")
        return
    try:
        proc = subprocess.run(
            [smi, "-L"],
            capture_output=True,
            text=True,
            timeout=GPU_PROBE_TIMEOUT_S,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        yield Check("gpu", Level.WARN, f"nvidia-smi did not answer ({exc})", "check the driver")
        return
    gpus = [line.split(" (UUID")[0] for line in proc.stdout.splitlines() if line.startswith("GPU")]
    if proc.returncode != 0 or not gpus:
        yield Check(
            "gpu",
            Level.WARN,
            f"nvidia-smi is there but lists no GPU ({(proc.stderr or proc.stdout).strip()[:120]})",
            "check the NVIDIA driver with `nvidia-smi`",
        )
        return
    yield Check("gpu", Level.OK, "; ".join(gpus))


# --- the server -------------------------------------------------------------------------------


def check_server(config: LoadedConfig) -> Iterator[Check]:
    """The OpenAI-compatible server answers GET /models, when the openai backend is selected."""
    settings = config.settings
    if not BACKENDS[settings.backend].remote:
        return
    url = settings.base_url.rstrip("/") + "/models"
    headers = {"User-Agent": "llmos doctor"}
    key = os.environ.get(settings.api_key_env)
    if key:
        headers["Authorization"] = f"Bearer {key}"
    fix = "start the server (e.g. `llama-server -m MODEL.gguf --port 8080`) or set base_url"
    # httpx2 is the client huggingface_hub (and the openai SDK) speak through; like them it
    # honours HTTPS_PROXY and NO_PROXY.
    import httpx2

    try:
        with httpx2.Client(
            timeout=SERVER_TIMEOUT_S, headers=headers, follow_redirects=True
        ) as client:
            with client.stream("GET", url) as response:
                status = response.status_code
                body = b""
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) >= 1 << 20:
                        break
    except (httpx2.HTTPError, httpx2.InvalidURL, OSError, ValueError) as exc:
        yield Check("server", Level.FAIL, f"cannot reach {url} ({exc})", fix)
        return
    if status in (401, 403):
        yield Check(
            "server",
            Level.FAIL,
            f"{url} refused the API key (HTTP {status})",
            f"set ${settings.api_key_env} to a key the server accepts",
        )
        return
    if status >= 400:
        yield Check("server", Level.FAIL, f"{url} answered HTTP {status}", fix)
        return
    try:
        data = json.loads(body)
        served = [str(m.get("id")) for m in data.get("data", []) if isinstance(m, dict)]
    except (ValueError, AttributeError):
        yield Check("server", Level.WARN, f"{url} answered, but not with a model list", fix)
        return
    yield Check("server", Level.OK, f"{url} serves {', '.join(served) or 'no model'}")
    if settings.model and served and settings.model not in served:
        yield Check(
            "server",
            Level.WARN,
            f"the server does not list the model {settings.model!r}",
            f"set `model` to one of: {', '.join(served)}",
        )


# --- files ------------------------------------------------------------------------------------


def _writable(folder: Path) -> tuple[bool, str]:
    """Whether llmos can write there, or create it; and the folder that decides."""
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            return False, str(probe)
        probe = probe.parent
    if not probe.is_dir():
        return False, f"{probe} is not a folder"
    return os.access(probe, os.W_OK | os.X_OK), str(probe)


def check_dirs(config: LoadedConfig) -> Iterator[Check]:
    """The config, data, state and cache dirs can be written (or created)."""
    paths = config.paths
    for label, folder, var in (
        ("config dir", paths.config_dir, "LLMOS_CONFIG_DIR"),
        ("data dir", paths.data_dir, "LLMOS_DATA_DIR"),
        ("state dir", paths.state_dir, "LLMOS_STATE_DIR"),
        ("cache dir", paths.cache_dir, "LLMOS_CACHE_DIR"),
    ):
        ok, decided_by = _writable(folder)
        if ok:
            note = "" if folder.exists() else " (created on first use)"
            yield Check(label, Level.OK, f"{folder}{note}")
        else:
            yield Check(
                label,
                Level.FAIL,
                f"{folder} cannot be written ({decided_by})",
                f"fix its permissions, or point {var} at a folder you own",
            )


def check_plugins(config: LoadedConfig) -> Iterator[Check]:
    """The built-in tools and the plugin folder load without warnings."""
    from llmos_shell.registry import discover

    registry = discover(
        config.plugin_dir,
        import_timeout_s=config.settings.plugin_import_timeout_s,
        cache_dir=config.paths.cache_dir,
    )
    tools = list(registry)
    from_folder = sum(1 for t in tools if str(t.source).startswith("file:"))
    yield Check(
        "plugins",
        Level.OK,
        f"{len(tools)} tools, {from_folder} from {config.plugin_dir}",
    )
    for warning in registry.warnings:
        yield Check("plugins", Level.WARN, warning, "fix or remove that plugin")


def check_sandbox(config: LoadedConfig) -> Iterator[Check]:
    """Shell commands can run in the bubblewrap sandbox, as the sandbox setting asks."""
    from llmos_shell.calls import SandboxLimits
    from llmos_shell.safety.sandbox import INSTALL_HINT, availability
    from llmos_shell.safety.wall import mechanisms

    mode = config.settings.sandbox
    if mode == "off":
        yield Check(
            "sandbox",
            Level.WARN,
            'sandbox = "off": shell commands run without a sandbox',
            'set sandbox = "auto" in the config',
        )
        return
    status = availability()
    if status.usable:
        yield Check(
            "sandbox",
            Level.OK,
            f"shell commands run in bubblewrap ({status.detail}): read-only files except the "
            f"working folder where the wall allows it, own bounded $TMPDIR and pids, no network "
            f'unless allowed (sandbox = "{mode}")',
        )
        settings = config.settings
        limits = SandboxLimits(
            memory_mb=settings.sandbox_memory_mb,
            processes=settings.sandbox_processes,
            file_mb=settings.sandbox_file_mb,
            tmp_mb=settings.sandbox_tmp_mb,
        )
        yield Check("wall", Level.OK, "; ".join(mechanisms(limits)))
    elif mode == "required":
        yield Check(
            "sandbox",
            Level.FAIL,
            f'{status.detail}, and sandbox = "required" refuses every shell command',
            f'{INSTALL_HINT}, or set sandbox = "auto" to be asked instead',
        )
    else:
        yield Check(
            "sandbox",
            Level.WARN,
            f"{status.detail}: shell commands run without a sandbox, and every one that is "
            "not read-only asks first",
            INSTALL_HINT,
        )


def exit_code(checks: list[Check]) -> int:
    """0 when nothing failed, 1 otherwise."""
    return 1 if any(c.level is Level.FAIL for c in checks) else 0


def run(args: argparse.Namespace) -> int:
    """Check the setup, one line per check, with the fix for each problem."""
    from rich.markup import escape

    checks = run_checks(overrides(args))
    if args.json:
        print(json.dumps({"checks": [c.to_json() for c in checks]}, indent=2))
        return exit_code(checks)
    out = console()
    styles = {Level.OK: "green", Level.WARN: "yellow", Level.FAIL: "bold red"}
    for check in checks:
        line = f"[{styles[check.level]}]{check.level.value:<4}[/]  {escape(check.name):<20} "
        line += escape(check.detail)
        if check.fix and check.level is not Level.OK:
            line += f" [dim]→ fix:[/] {escape(check.fix)}"
        out.print(line, soft_wrap=True)
    fails = sum(c.level is Level.FAIL for c in checks)
    warns = sum(c.level is Level.WARN for c in checks)
    out.print(f"{fails} failed, {warns} warnings, {len(checks) - fails - warns} ok")
    return exit_code(checks)
