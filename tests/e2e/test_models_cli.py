"""`llmos models`, `llmos doctor` and `llmos stats` run as a person runs them: separate processes.

Downloads are tested twice for real: against huggingface.co, which this machine cannot reach
(the offline error), and against a hub on loopback (an http.server that speaks the hub's
`resolve` and model API, with ranges), which HF_ENDPOINT points at.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from llmos_shell.models import hub
from llmos_shell.models.locate import hf_hub_cache
from tests.e2e.test_cli import (
    DISK_REQUEST,
    MODEL_TIMEOUT_S,
    assert_one_error_line,
    llmos,
)
from tests.unit.models.test_catalog import (
    cached_repo,
    gguf_bytes,
    hf_config,
    llama_metadata,
    write_gguf,
    write_model_gguf,
)

CONFIG_WITH_COMMENTS = """\
# chosen by hand
model = ""  # empty: the embedded model
threads = 1  # the machine is small
"""


@pytest.fixture(autouse=True)
def isolated_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A hub cache in tmp_path, the real hub endpoint, no token."""
    cache = tmp_path / "hf" / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    for var in ("HF_ENDPOINT", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HOME", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    return cache


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    return tmp_path / "data" / "models"


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text(CONFIG_WITH_COMMENTS)
    return path


# --- llmos models -----------------------------------------------------------------------------


def test_models_lists_the_embedded_model_in_use_and_local_files(
    models_dir: Path, isolated_hub: Path
) -> None:
    write_gguf(models_dir / "tiny-q4_k_m.gguf")
    (models_dir / "broken.gguf").write_bytes(b"GGUF\x03\x00")
    cached_repo(isolated_hub, "Org/Chat", {"config.json": hf_config(), "model.safetensors": b"w"})
    proc = llmos("models")
    assert proc.returncode == 0, proc.stderr
    rows = proc.stdout.splitlines()  # piped: one line per row, however long
    [embedded] = [row for row in rows if re.match(r"^\s*\*\s+embedded\s", row)]
    assert "Q4_1" in embedded and "llama-cpp" in embedded
    assert any("tiny-q4_k_m.gguf" in row and "Q4_K_M" in row for row in rows)
    [broken] = [row for row in rows if re.match(r"^\s+broken.gguf\s", row)]
    assert broken.rstrip().endswith("unusable")
    assert any(row.startswith("broken.gguf: not a usable GGUF") for row in rows)
    assert "Org/Chat" in proc.stdout and "bfloat16" in proc.stdout
    assert "* in use: embedded on llama-cpp" in proc.stdout

    listed = json.loads(llmos("models", "--json").stdout)
    by_name = {row["name"]: row for row in listed}
    assert by_name["embedded"]["in_use"] is True
    assert by_name["tiny-q4_k_m.gguf"]["context_length"] == 4096
    assert by_name["broken.gguf"]["error"]
    assert by_name["Org/Chat"]["backends"] == ["transformers"]


def test_models_use_writes_the_config_file_and_keeps_its_comments(
    models_dir: Path, config_file: Path, isolated_hub: Path
) -> None:
    model = write_gguf(models_dir / "tiny-q4_k_m.gguf")
    proc = llmos("models", "use", "tiny-q4_k_m.gguf")
    assert proc.returncode == 0, proc.stderr
    assert f"written to {config_file}" in proc.stdout
    assert config_file.read_text().splitlines() == [
        "# chosen by hand",
        f'model = "{model}"  # empty: the embedded model',
        "threads = 1  # the machine is small",
    ]
    listed = json.loads(llmos("models", "--json").stdout)
    assert [row["name"] for row in listed if row["in_use"]] == ["tiny-q4_k_m.gguf"]

    # A transformers model brings its backend along; back to the embedded one keeps it.
    cached_repo(isolated_hub, "Org/Chat", {"config.json": hf_config(), "model.safetensors": b"w"})
    assert llmos("models", "use", "Org/Chat").returncode == 0
    settings = json.loads(llmos("config", "--json").stdout)["settings"]
    assert settings["model"]["value"] == "Org/Chat"
    assert settings["backend"] == {"value": "transformers", "source": str(config_file)}
    assert llmos("models", "use", "embedded").returncode == 0
    text = config_file.read_text()
    assert 'model = ""  # empty: the embedded model' in text
    assert 'backend = "transformers"' in text  # the embedded GGUF loads there too
    assert llmos("models", "use", "embedded", "--backend", "llama-cpp").returncode == 0
    assert 'backend = "llama-cpp"' in config_file.read_text()


def test_models_use_an_unknown_name_is_one_sentence_with_close_matches(
    models_dir: Path, config_file: Path
) -> None:
    write_gguf(models_dir / "qwen2.5-0.5b-instruct-q4_k_m.gguf")
    proc = llmos("models", "use", "qwen2.5-0.5b")
    line = assert_one_error_line(proc, "no model called 'qwen2.5-0.5b'", "q4_k_m.gguf")
    assert ". " not in line
    assert config_file.read_text() == CONFIG_WITH_COMMENTS


def test_a_gguf_cut_short_is_listed_unusable_and_use_refuses_it(
    models_dir: Path, config_file: Path
) -> None:
    whole = write_model_gguf(models_dir / "cut-f16.gguf").read_bytes()
    (models_dir / "cut-f16.gguf").write_bytes(whole[:-64])  # the header intact, a tensor short
    listed = {row["name"]: row for row in json.loads(llmos("models", "--json").stdout)}
    assert "cut short" in listed["cut-f16.gguf"]["error"]
    proc = llmos("models", "use", "cut-f16.gguf")
    line = assert_one_error_line(proc, "cut-f16.gguf cannot be used", "cut short")
    assert ". " not in line
    assert config_file.read_text() == CONFIG_WITH_COMMENTS
    proc = llmos("--model", str(models_dir / "cut-f16.gguf"), "doctor")
    assert proc.returncode == 1
    assert any(re.match(r"^fail\s+model.*cut short", line) for line in proc.stdout.splitlines())


# --- llmos doctor -----------------------------------------------------------------------------


def test_doctor_exits_0_when_nothing_fails_and_1_when_something_does(tmp_path: Path) -> None:
    proc = llmos("doctor")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert any(re.match(r"^ok\s+model\s+SmolLM2", line) for line in lines), proc.stdout
    assert not any(line.startswith("fail") for line in lines)

    proc = llmos("--model", str(tmp_path / "nope.gguf"), "doctor")
    assert proc.returncode == 1
    [model] = [line for line in proc.stdout.splitlines() if re.match(r"^fail\s+model", line)]
    assert "does not exist" in model and "fix:" in model
    assert "Traceback" not in proc.stderr

    data = json.loads(llmos("doctor", "--json", "--backend", "openai").stdout)
    levels = {c["check"]: c["level"] for c in data["checks"]}
    assert levels["server"] == "fail"  # nothing serves the default base_url here


# --- llmos stats ------------------------------------------------------------------------------


def test_stats_reports_a_real_one_shot_run(tmp_path: Path) -> None:
    usage = tmp_path / "state" / "usage.jsonl"
    empty = llmos("stats")
    assert empty.returncode == 0 and "No usage recorded yet" in empty.stdout

    plan = llmos(
        "plan", "--json", DISK_REQUEST, env={"LLMOS_THREADS": "1"}, timeout=MODEL_TIMEOUT_S
    )
    assert plan.returncode == 0, plan.stderr
    [record] = [json.loads(line) for line in usage.read_text().splitlines()]
    assert record["backend"] == "llama-cpp" and "SmolLM2" in record["model"]
    assert record["requests"] >= 1 and record["completion_tokens"] > 0
    assert record["load_s"] > 0 and record["peak_rss_bytes"] > 0

    stats = llmos("stats", "--json")
    assert stats.returncode == 0, stats.stderr
    data = json.loads(stats.stdout)
    [today] = data["today"]
    assert today == data["all_time"][0]
    assert (today["backend"], today["sessions"]) == ("llama-cpp", 1)
    assert today["requests"] == record["requests"]
    assert today["generation_tokens_per_s"] > 0 and today["prompt_tokens_per_s"] > 0

    with usage.open("a") as handle:
        handle.write('{"time": "broken\n')
    shown = llmos("stats")
    assert shown.returncode == 0
    assert "llama-cpp" in shown.stdout and "all time" in shown.stdout
    assert "line 2 is not a usage record" in shown.stderr and "Traceback" not in shown.stderr


# --- llmos models pull: offline ---------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["HuggingFaceTB/SmolLM2-135M-Instruct-GGUF", "smollm2-135m-instruct-q8_0.gguf"],
        ["HuggingFaceTB/SmolLM2-135M-Instruct-GGUF"],
    ],
    ids=["one-file", "repository"],
)
def test_pull_without_a_network_is_one_sentence_and_leaves_nothing(
    args: list[str], models_dir: Path, isolated_hub: Path
) -> None:
    proc = llmos("models", "pull", *args)
    line = assert_one_error_line(proc, "not reachable", "huggingface.co")
    assert ". " not in line
    assert not models_dir.exists() or list(models_dir.iterdir()) == []
    assert not isolated_hub.exists() or list(isolated_hub.iterdir()) == []


def test_a_whole_repository_without_a_network_leaves_no_cache_folder(isolated_hub: Path) -> None:
    pytest.importorskip("huggingface_hub")
    with pytest.raises(hub.DownloadError, match="not reachable"):
        hub.pull_repo("HuggingFaceTB/SmolLM2-135M-Instruct", hf_hub_cache())
    assert not isolated_hub.exists() or list(isolated_hub.iterdir()) == []


# --- llmos models pull: a hub on loopback -----------------------------------------------------


@dataclass
class FakeHub:
    """What the loopback hub serves, and what it was asked."""

    url: str = ""
    files: dict[str, bytes] = field(default_factory=dict)  # "ORG/NAME/FILE" -> content
    ranges: list[str | None] = field(default_factory=list)
    cut_after: int | None = None  # send this many bytes of a file, then drop the connection


def hub_handler(state: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            if self.path.startswith("/api/models/"):
                repo = self.path[len("/api/models/") :]
                names = [k[len(repo) + 1 :] for k in state.files if k.startswith(repo + "/")]
                if not names:
                    self._send(404, b'{"error": "Repository not found"}')
                    return
                self._send(
                    200,
                    json.dumps(
                        {"id": repo, "siblings": [{"rfilename": n} for n in names]}
                    ).encode(),
                )
                return
            match = re.match(r"^/([^/]+/[^/]+)/resolve/main/(.+)$", self.path)
            key = f"{match[1]}/{match[2]}" if match else ""
            if key not in state.files:
                self._send(404, b"Entry not found")
                return
            body = state.files[key]
            wanted = self.headers.get("Range")
            state.ranges.append(wanted)
            start = int(wanted[len("bytes=") : -1]) if wanted else 0
            self.send_response(206 if wanted else 200)
            if wanted:
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            self.send_header("Content-Length", str(len(body) - start))
            self.end_headers()
            if state.cut_after is not None:
                self.wfile.write(body[start : start + state.cut_after])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body[start:])

        def _send(self, code: int, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    return Handler


@pytest.fixture
def fake_hub() -> Iterator[FakeHub]:
    state = FakeHub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), hub_handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


MODEL_BYTES = gguf_bytes(llama_metadata(file_type=7, name="Loopback")) + bytes(range(256)) * 12_000


def test_pull_downloads_a_gguf_file_and_it_is_listed(fake_hub: FakeHub, models_dir: Path) -> None:
    fake_hub.files["org/tiny-GGUF/tiny-q8_0.gguf"] = MODEL_BYTES
    env = {"HF_ENDPOINT": fake_hub.url}
    proc = llmos("models", "pull", "org/tiny-GGUF", "tiny-q8_0.gguf", env=env)
    assert proc.returncode == 0, proc.stderr
    saved = models_dir / "tiny-q8_0.gguf"
    assert saved.read_bytes() == MODEL_BYTES
    assert [p.name for p in models_dir.iterdir()] == ["tiny-q8_0.gguf"]  # no .part left
    assert f"downloaded: {saved}" in proc.stdout
    assert "llmos models use tiny-q8_0.gguf" in proc.stdout
    listed = {row["name"]: row for row in json.loads(llmos("models", "--json").stdout)}
    assert listed["tiny-q8_0.gguf"]["quantization"] == "Q8_0"
    again = llmos("models", "pull", "org/tiny-GGUF", "tiny-q8_0.gguf", env=env)
    assert again.returncode == 0 and "already there" in again.stdout
    assert fake_hub.ranges == [None]  # the second pull asked for nothing


def test_pull_of_a_repository_picks_its_only_gguf_and_names_them_when_several(
    fake_hub: FakeHub, models_dir: Path
) -> None:
    fake_hub.files["org/one-GGUF/README.md"] = b"# one"
    fake_hub.files["org/one-GGUF/one-q4_k_m.gguf"] = MODEL_BYTES
    fake_hub.files["org/two-GGUF/two-q4_k_m.gguf"] = MODEL_BYTES
    fake_hub.files["org/two-GGUF/two-q8_0.gguf"] = MODEL_BYTES
    env = {"HF_ENDPOINT": fake_hub.url}
    proc = llmos("models", "pull", "org/one-GGUF", env=env)
    assert proc.returncode == 0, proc.stderr
    assert (models_dir / "one-q4_k_m.gguf").read_bytes() == MODEL_BYTES
    proc = llmos("models", "pull", "org/two-GGUF", env=env)
    assert_one_error_line(proc, "holds 2 GGUF models", "two-q4_k_m.gguf", "two-q8_0.gguf")
    proc = llmos("models", "pull", "org/absent", "x.gguf", env=env)
    assert_one_error_line(proc, "HTTP 404")


def test_an_interrupted_pull_keeps_its_part_and_the_next_one_resumes(
    fake_hub: FakeHub, models_dir: Path
) -> None:
    fake_hub.files["org/tiny-GGUF/tiny.gguf"] = MODEL_BYTES
    fake_hub.cut_after = 1_000_000
    env = {"HF_ENDPOINT": fake_hub.url}
    proc = llmos("models", "pull", "org/tiny-GGUF", "tiny.gguf", env=env)
    assert_one_error_line(proc, "stopped after 1.0 MB", "run the same command again to resume")
    part = models_dir / "tiny.gguf.part"
    assert part.read_bytes() == MODEL_BYTES[:1_000_000]
    assert not (models_dir / "tiny.gguf").exists()

    fake_hub.cut_after = None
    proc = llmos("models", "pull", "org/tiny-GGUF", "tiny.gguf", env=env)
    assert proc.returncode == 0, proc.stderr
    assert (models_dir / "tiny.gguf").read_bytes() == MODEL_BYTES
    assert not part.exists()
    assert fake_hub.ranges == [None, "bytes=1000000-"]


def test_pull_refuses_what_is_not_a_gguf_file(fake_hub: FakeHub, tmp_path: Path) -> None:
    fake_hub.files["org/site/page.gguf"] = b"<html>login</html>"
    with pytest.raises(hub.DownloadError, match="not a GGUF file"):
        hub.pull_file("org/site", "page.gguf", tmp_path / "dl", endpoint=fake_hub.url)
    assert list((tmp_path / "dl").iterdir()) == []


@pytest.mark.parametrize("name", ["../etc/passwd", "/abs.gguf", ""])
def test_pull_refuses_a_file_name_outside_the_repository(name: str, tmp_path: Path) -> None:
    with pytest.raises(hub.DownloadError, match="not a file name inside the repository"):
        hub.pull_file("org/repo", name, tmp_path)


def test_split_models_come_in_all_their_parts() -> None:
    assert hub.split_parts("m-00002-of-00003.gguf") == [
        "m-00001-of-00003.gguf",
        "m-00002-of-00003.gguf",
        "m-00003-of-00003.gguf",
    ]
    assert hub.pick_gguf("o/r", ["a.txt", "m-00001-of-00002.gguf", "m-00002-of-00002.gguf"]) == (
        "m-00001-of-00002.gguf"
    )
    assert hub.pick_gguf("o/r", ["config.json", "model.safetensors"]) is None
