"""`llmos doctor`'s checks on real files, a real server on loopback, and a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from llmos_shell.commands.doctor import Check, Level, exit_code, run_checks
from tests.unit.models.test_catalog import write_gguf, write_model_gguf


def by_name(checks: list[Check]) -> dict[str, list[Check]]:
    out: dict[str, list[Check]] = {}
    for check in checks:
        out.setdefault(check.name, []).append(check)
    return out


def failed(checks: list[Check]) -> list[str]:
    return [c.name for c in checks if c.level is Level.FAIL]


def test_a_fresh_setup_has_no_failure() -> None:
    checks = run_checks()
    assert failed(checks) == [], checks
    assert exit_code(checks) == 0
    names = by_name(checks)
    for name in ("config", "model", "backend llama-cpp", "gpu", "state dir", "plugins"):
        assert name in names
    assert "Q4_1" in names["model"][0].detail
    assert "server" not in names  # only checked for the openai backend


def test_a_bad_config_fails_and_the_other_checks_still_run(tmp_path: Path) -> None:
    config = tmp_path / "config" / "config.toml"
    config.parent.mkdir()
    config.write_text("max_stepz = 3\n")
    checks = run_checks()
    assert failed(checks) == ["config"]
    assert "max_stepz" in checks[0].detail and str(config) in checks[0].detail
    assert "plugins" in by_name(checks)
    assert exit_code(checks) == 1


def test_a_missing_model_fails_with_its_fix(tmp_path: Path) -> None:
    checks = run_checks({"model": str(tmp_path / "nope.gguf")})
    [model] = by_name(checks)["model"]
    assert model.level is Level.FAIL
    assert "does not exist" in model.detail and model.fix


def test_a_truncated_gguf_fails(tmp_path: Path) -> None:
    good = write_gguf(tmp_path / "m.gguf")
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(good.read_bytes()[:40])  # the magic is there, the header is cut short
    [model] = by_name(run_checks({"model": str(broken)}))["model"]
    assert model.level is Level.FAIL and "not readable as GGUF" in model.detail
    [model] = by_name(run_checks({"model": str(good)}))["model"]
    assert model.level is Level.OK and "Q4_K_M" in model.detail


def test_a_gguf_whose_tensor_data_is_cut_short_fails(tmp_path: Path) -> None:
    whole = write_model_gguf(tmp_path / "whole.gguf")
    [model] = by_name(run_checks({"model": str(whole)}))["model"]
    assert model.level is Level.OK and "F16" in model.detail
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(whole.read_bytes()[:-64])  # the header intact, the last tensor short
    [model] = by_name(run_checks({"model": str(cut)}))["model"]
    assert model.level is Level.FAIL and "cut short" in model.detail
    assert "download the file again" in model.fix


def test_a_hub_id_not_in_the_cache_fails_for_transformers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    [model] = by_name(run_checks({"model": "Org/Absent", "backend": "transformers"}))["model"]
    assert model.level is Level.FAIL and "llmos models pull Org/Absent" in model.fix


def test_a_dir_that_cannot_be_written_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("LLMOS_STATE_DIR", str(blocker / "state"))
    [state] = by_name(run_checks())["state dir"]
    assert state.level is Level.FAIL and "LLMOS_STATE_DIR" in state.fix


def test_a_broken_plugin_is_a_warning(tmp_path: Path) -> None:
    plugins = tmp_path / "config" / "plugins"
    plugins.mkdir(parents=True)
    (plugins / "broken.py").write_text("import no_such_module_anywhere\n")
    checks = run_checks()
    warnings = [c for c in by_name(checks)["plugins"] if c.level is Level.WARN]
    assert len(warnings) == 1 and "broken.py" in warnings[0].detail
    assert exit_code(checks) == 0


# --- the openai server -------------------------------------------------------------------------


class ModelsHandler(BaseHTTPRequestHandler):
    """GET /v1/models as an OpenAI-compatible server answers it; a key is wanted when set."""

    key: str | None = None

    def do_GET(self) -> None:
        if self.path != "/v1/models":
            self.send_error(404)
            return
        if self.key and self.headers.get("Authorization") != f"Bearer {self.key}":
            self.send_error(401)
            return
        body = json.dumps({"object": "list", "data": [{"id": "served-model"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), ModelsHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        httpd.shutdown()
        httpd.server_close()
        ModelsHandler.key = None


def openai_checks(base_url: str, model: str | None = None) -> list[Check]:
    return run_checks({"backend": "openai", "base_url": base_url, "model": model})


def test_a_reachable_server_is_ok_and_an_unknown_model_a_warning(server: str) -> None:
    checks = openai_checks(server)
    [served] = by_name(checks)["server"]
    assert served.level is Level.OK and "served-model" in served.detail
    levels = [c.level for c in by_name(openai_checks(server, "other"))["server"]]
    assert levels == [Level.OK, Level.WARN]


def test_a_server_that_wants_a_key_says_which_variable(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ModelsHandler.key = "secret"
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    [refused] = by_name(openai_checks(server))["server"]
    assert refused.level is Level.FAIL and "$OPENAI_API_KEY" in refused.fix
    monkeypatch.setenv("OPENAI_API_KEY", "secret")
    [accepted] = by_name(openai_checks(server))["server"]
    assert accepted.level is Level.OK


def test_an_unreachable_server_fails() -> None:
    import socket

    # A port nothing listens on: bound for a moment to pick it, then let go.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    checks = openai_checks(f"http://127.0.0.1:{port}/v1")
    [down] = by_name(checks)["server"]
    assert down.level is Level.FAIL and "cannot reach" in down.detail and "llama-server" in down.fix
    assert exit_code(checks) == 1


# --- the GPU ---------------------------------------------------------------------------------


def test_asking_for_cuda_without_a_gpu_fails_on_the_transformers_backend() -> None:
    pytest.importorskip("torch")
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    [gpu] = by_name(run_checks({"backend": "transformers", "device": "cuda"}))["gpu"]
    assert gpu.level is Level.FAIL and 'device = "cpu"' in gpu.fix
    [gpu] = by_name(run_checks({"backend": "transformers"}))["gpu"]
    assert gpu.level is Level.OK and "CPU" in gpu.detail


# --- imports -----------------------------------------------------------------------------------


def test_doctor_imports_no_torch_unless_the_transformers_backend_is_selected() -> None:
    snippet = """
import json, sys
from llmos_shell.commands.doctor import run_checks
run_checks()
print(json.dumps([m for m in ("torch", "transformers", "llama_cpp") if m in sys.modules]))
"""
    proc = subprocess.run(
        [sys.executable, "-c", snippet],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1]) == []


def _path_without_bwrap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "bin-without-bwrap"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))


@pytest.mark.parametrize(
    ("mode", "level", "said"),
    [
        ("auto", Level.WARN, "every one that is not read-only asks first"),
        ("required", Level.FAIL, 'sandbox = "required" refuses every shell command'),
        ("off", Level.WARN, 'sandbox = "off"'),
    ],
)
def test_the_sandbox_check_without_bubblewrap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str, level: Level, said: str
) -> None:
    _path_without_bwrap(tmp_path, monkeypatch)
    [sandbox] = by_name(run_checks({"sandbox": mode}))["sandbox"]
    assert sandbox.level is level
    assert said in sandbox.detail and sandbox.fix


@pytest.mark.sandbox
def test_the_sandbox_check_where_bubblewrap_runs() -> None:
    [sandbox] = by_name(run_checks({"sandbox": "required"}))["sandbox"]
    assert sandbox.level is Level.OK
    assert "shell commands run in bubblewrap" in sandbox.detail
