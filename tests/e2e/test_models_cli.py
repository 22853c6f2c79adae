"""`llmos models`, `llmos doctor` and `llmos stats` run as a person runs them: separate processes.

Downloads are tested twice for real, never against the real hub: against an address the test
owns that refuses connections (a loopback port bound and never listened on: the offline
error), and against a hub on loopback (an http.server that speaks the parts of the hub's API
huggingface_hub downloads with: model info, `resolve` with its headers, ranges), which
HF_ENDPOINT points at.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

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


@pytest.fixture
def isolated_hub(tmp_path: Path) -> Path:
    """The hub cache conftest points HF_HUB_CACHE at (with the real hub, and no token)."""
    cache = tmp_path / "hf" / "hub"
    assert os.environ["HF_HUB_CACHE"] == str(cache)
    return cache


@pytest.fixture
def refusing_port() -> Iterator[int]:
    """A loopback port this test holds and never listens on: every connection is refused."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


@pytest.fixture
def unreachable_hub(refusing_port: int, monkeypatch: pytest.MonkeyPatch) -> str:
    """HF_ENDPOINT (for child processes and this one) at a port that refuses connections."""
    from huggingface_hub import constants

    url = f"http://127.0.0.1:{refusing_port}"
    monkeypatch.setenv("HF_ENDPOINT", url)
    monkeypatch.setattr(constants, "ENDPOINT", url)
    return url


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


def test_doctor_exits_0_when_nothing_fails_and_1_when_something_does(
    tmp_path: Path, refusing_port: int
) -> None:
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

    base_url = f"http://127.0.0.1:{refusing_port}/v1"  # held by the test, never listened on
    proc = llmos("doctor", "--json", "--backend", "openai", env={"LLMOS_BASE_URL": base_url})
    data = json.loads(proc.stdout)
    levels = {c["check"]: c["level"] for c in data["checks"]}
    assert levels["server"] == "fail"


# --- llmos stats ------------------------------------------------------------------------------


@pytest.mark.model
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


def _left_in(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


@pytest.mark.parametrize(
    "args",
    [
        ["HuggingFaceTB/SmolLM2-135M-Instruct-GGUF", "smollm2-135m-instruct-q8_0.gguf"],
        ["HuggingFaceTB/SmolLM2-135M-Instruct-GGUF"],
    ],
    ids=["one-file", "repository"],
)
def test_pull_without_a_network_is_one_sentence_and_leaves_nothing(
    args: list[str], models_dir: Path, isolated_hub: Path, unreachable_hub: str
) -> None:
    proc = llmos("models", "pull", *args)
    line = assert_one_error_line(proc, "not reachable", unreachable_hub.removeprefix("http://"))
    assert ". " not in line
    assert _left_in(models_dir) == []
    assert _left_in(isolated_hub) == []


def test_pull_in_offline_mode_says_so(fake_hub: FakeHub, isolated_hub: Path) -> None:
    fake_hub.files["org/tiny-GGUF/tiny-q8_0.gguf"] = MODEL_BYTES
    env = {"HF_ENDPOINT": fake_hub.url, "HF_HUB_OFFLINE": "1"}
    proc = llmos("models", "pull", "org/tiny-GGUF", "tiny-q8_0.gguf", env=env)
    assert_one_error_line(proc, "HF_HUB_OFFLINE is set")
    assert fake_hub.requests == []
    assert _left_in(isolated_hub) == []


# --- llmos models pull: a hub on loopback -----------------------------------------------------

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class FakeHub:
    """What the loopback hub serves, and what it was asked."""

    url: str = ""
    files: dict[str, bytes] = field(default_factory=dict)  # "ORG/NAME/FILE" -> content
    requests: list[str] = field(default_factory=list)  # "METHOD PATH"
    ranges: list[str | None] = field(default_factory=list)  # the Range of each file GET
    cut_after: int | None = None  # the first GET of a file sends this many bytes, then drops
    failing_gets: bool = False  # every GET of a file is answered 503


def hub_handler(state: FakeHub) -> type[BaseHTTPRequestHandler]:
    """The parts of the hub's API that huggingface_hub uses to download, with its headers."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_HEAD(self) -> None:
            self._file(send_body=False)

        def do_GET(self) -> None:
            info = re.match(r"^/api/models/([^/]+/[^/]+)(?:/revision/[^/]+)?$", self._path())
            if info:
                names = self._names(info[1])
                if not names:
                    self._error(404, "RepoNotFound", "Repository not found")
                    return
                siblings = [{"rfilename": n} for n in names]
                body = {"id": info[1], "sha": COMMIT, "siblings": siblings}
                self._send(200, json.dumps(body).encode(), {"Content-Type": "application/json"})
                return
            tree = re.match(r"^/api/models/([^/]+/[^/]+)/tree/[^/]+$", self._path(log=False))
            if tree:
                entries = []
                for name in self._names(tree[1]):
                    data = state.files[f"{tree[1]}/{name}"]
                    oid = hashlib.sha1(data).hexdigest()
                    entries.append({"type": "file", "path": name, "size": len(data), "oid": oid})
                self._send(200, json.dumps(entries).encode(), {"Content-Type": "application/json"})
                return
            self._file(send_body=True)

        def _path(self, *, log: bool = True) -> str:
            if log:
                state.requests.append(f"{self.command} {self.path}")
            return self.path.split("?")[0]

        def _names(self, repo: str) -> list[str]:
            return [k[len(repo) + 1 :] for k in state.files if k.startswith(repo + "/")]

        def _file(self, *, send_body: bool) -> None:
            match = re.match(r"^/([^/]+/[^/]+)/resolve/[^/]+/(.+)$", self._path())
            if not match or not self._names(match[1]):
                self._error(404, "RepoNotFound", "Repository not found")
                return
            body = state.files.get(f"{match[1]}/{match[2]}")
            if body is None:
                self._error(404, "EntryNotFound", "Entry not found")
                return
            headers = {
                "X-Repo-Commit": COMMIT,
                "ETag": f'"{hashlib.sha256(body).hexdigest()}"',
                "Accept-Ranges": "bytes",
            }
            if not send_body:
                self._send(200, b"", {**headers, "Content-Length": str(len(body))}, body=False)
                return
            wanted = self.headers.get("Range")
            state.ranges.append(wanted)
            if state.failing_gets:
                self._error(503, "", "Service unavailable")
                return
            start = int(wanted[len("bytes=") : -1]) if wanted else 0
            self.send_response(206 if wanted else 200)
            if wanted:
                headers["Content-Range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
            for key, value in {**headers, "Content-Length": str(len(body) - start)}.items():
                self.send_header(key, value)
            self.end_headers()
            if state.cut_after is not None and len(state.ranges) == 1:
                self.wfile.write(body[start : start + state.cut_after])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body[start:])

        def _error(self, code: int, kind: str, message: str) -> None:
            headers = {"Content-Type": "application/json"}
            if kind:
                headers["X-Error-Code"] = kind
            self._send(code, json.dumps({"error": message}).encode(), headers)

        def _send(
            self, code: int, data: bytes, headers: dict[str, str], *, body: bool = True
        ) -> None:
            self.send_response(code)
            headers.setdefault("Content-Length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            if body:
                self.wfile.write(data)

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


def test_pull_downloads_into_the_hub_cache_and_it_is_listed(
    fake_hub: FakeHub, models_dir: Path, isolated_hub: Path
) -> None:
    fake_hub.files["org/tiny-GGUF/tiny-q8_0.gguf"] = MODEL_BYTES
    env = {"HF_ENDPOINT": fake_hub.url}
    proc = llmos("models", "pull", "org/tiny-GGUF", "tiny-q8_0.gguf", env=env)
    assert proc.returncode == 0, proc.stderr
    saved = isolated_hub / "models--org--tiny-GGUF" / "snapshots" / COMMIT / "tiny-q8_0.gguf"
    assert saved.read_bytes() == MODEL_BYTES
    assert f"downloaded: {saved}" in proc.stdout
    assert "llmos models use org/tiny-GGUF/tiny-q8_0.gguf" in proc.stdout
    assert not models_dir.exists()  # pulls no longer go to <data dir>/models
    assert not list(isolated_hub.rglob("*.incomplete"))
    listed = {row["name"]: row for row in json.loads(llmos("models", "--json").stdout)}
    row = listed["org/tiny-GGUF/tiny-q8_0.gguf"]
    assert (row["quantization"], row["source"], row["error"]) == ("Q8_0", "hf cache", None)
    assert llmos("models", "use", "org/tiny-GGUF/tiny-q8_0.gguf").returncode == 0
    used = llmos("models", "use", "tiny-q8_0.gguf")  # its file name, listed once, will do
    assert used.returncode == 0 and "now using org/tiny-GGUF/tiny-q8_0.gguf" in used.stdout

    asked = len(fake_hub.requests)
    again = llmos("models", "pull", "org/tiny-GGUF", "tiny-q8_0.gguf", env=env)
    assert again.returncode == 0 and "already there" in again.stdout
    assert len(fake_hub.requests) == asked  # the second pull asked the hub nothing


def test_the_hub_cache_is_shared_with_huggingface_hub_itself(
    fake_hub: FakeHub, isolated_hub: Path
) -> None:
    from huggingface_hub import hf_hub_download, try_to_load_from_cache

    fake_hub.files["org/tiny-GGUF/tiny-q8_0.gguf"] = MODEL_BYTES
    fake_hub.files["org/tiny-GGUF/other-q4_0.gguf"] = MODEL_BYTES
    env = {"HF_ENDPOINT": fake_hub.url}
    assert llmos("models", "pull", "org/tiny-GGUF", "tiny-q8_0.gguf", env=env).returncode == 0
    # What llmos pulled is where transformers and llama-cpp-python look for it ...
    found = try_to_load_from_cache("org/tiny-GGUF", "tiny-q8_0.gguf", cache_dir=isolated_hub)
    assert isinstance(found, str) and Path(found).read_bytes() == MODEL_BYTES
    # ... and what they pull is listed by llmos.
    hf_hub_download(
        "org/tiny-GGUF", "other-q4_0.gguf", cache_dir=isolated_hub, endpoint=fake_hub.url
    )
    listed = {row["name"] for row in json.loads(llmos("models", "--json").stdout)}
    assert {"org/tiny-GGUF/tiny-q8_0.gguf", "org/tiny-GGUF/other-q4_0.gguf"} <= listed


def test_a_model_pulled_into_the_data_dir_before_is_still_found(
    fake_hub: FakeHub, models_dir: Path, isolated_hub: Path
) -> None:
    earlier = write_gguf(models_dir / "tiny-q8_0.gguf")
    fake_hub.files["org/tiny-GGUF/tiny-q8_0.gguf"] = MODEL_BYTES
    listed = {row["name"]: row for row in json.loads(llmos("models", "--json").stdout)}
    assert listed["tiny-q8_0.gguf"]["source"] == "data dir"
    proc = llmos(
        "models", "pull", "org/tiny-GGUF", "tiny-q8_0.gguf", env={"HF_ENDPOINT": fake_hub.url}
    )
    assert proc.returncode == 0 and f"already there: {earlier}" in proc.stdout
    assert fake_hub.requests == [] and _left_in(isolated_hub) == []


def test_pull_of_a_repository_picks_its_only_gguf_and_names_them_when_several(
    fake_hub: FakeHub, isolated_hub: Path
) -> None:
    fake_hub.files["org/one-GGUF/README.md"] = b"# one"
    fake_hub.files["org/one-GGUF/one-q4_k_m.gguf"] = MODEL_BYTES
    fake_hub.files["org/two-GGUF/two-q4_k_m.gguf"] = MODEL_BYTES
    fake_hub.files["org/two-GGUF/two-q8_0.gguf"] = MODEL_BYTES
    env = {"HF_ENDPOINT": fake_hub.url}
    proc = llmos("models", "pull", "org/one-GGUF", env=env)
    assert proc.returncode == 0, proc.stderr
    snapshot = isolated_hub / "models--org--one-GGUF" / "snapshots" / COMMIT
    assert [p.name for p in snapshot.iterdir()] == ["one-q4_k_m.gguf"]  # not the README
    proc = llmos("models", "pull", "org/two-GGUF", env=env)
    assert_one_error_line(proc, "holds 2 GGUF models", "two-q4_k_m.gguf", "two-q8_0.gguf")
    proc = llmos("models", "pull", "org/one-GGUF", "absent.gguf", env=env)
    assert_one_error_line(proc, "HTTP 404", "absent.gguf")
    proc = llmos("models", "pull", "org/absent", "x.gguf", env=env)
    assert_one_error_line(proc, "no repository", "org/absent")
    assert not (isolated_hub / "models--org--absent").exists()


def test_a_whole_repository_is_pulled_into_the_hub_cache(
    fake_hub: FakeHub, isolated_hub: Path
) -> None:
    fake_hub.files["org/Chat/config.json"] = hf_config()
    fake_hub.files["org/Chat/model.safetensors"] = b"\0" * 100
    proc = llmos("models", "pull", "org/Chat", env={"HF_ENDPOINT": fake_hub.url})
    assert proc.returncode == 0, proc.stderr
    assert "llmos models use org/Chat" in proc.stdout
    listed = {row["name"]: row for row in json.loads(llmos("models", "--json").stdout)}
    assert listed["org/Chat"]["format"] == "hf" and listed["org/Chat"]["error"] is None


def test_a_dropped_download_resumes_where_it_stopped(fake_hub: FakeHub, isolated_hub: Path) -> None:
    from huggingface_hub import constants

    # Big enough that the library has written some of it (it writes in chunks of this size).
    chunk = constants.DOWNLOAD_CHUNK_SIZE
    body = MODEL_BYTES + bytes(range(256)) * ((5 * chunk // 2 - len(MODEL_BYTES)) // 256)
    fake_hub.files["org/big-GGUF/big.gguf"] = body
    fake_hub.cut_after = 2 * chunk + 1000  # the connection drops part-way through
    proc = llmos("models", "pull", "org/big-GGUF", "big.gguf", env={"HF_ENDPOINT": fake_hub.url})
    assert proc.returncode == 0, proc.stderr
    saved = isolated_hub / "models--org--big-GGUF" / "snapshots" / COMMIT / "big.gguf"
    assert saved.read_bytes() == body
    first, again = fake_hub.ranges
    assert first is None and again is not None
    start = int(again.removeprefix("bytes=").removesuffix("-"))
    assert 0 < start <= fake_hub.cut_after  # only the bytes it did not have were sent again
    assert not list(isolated_hub.rglob("*.incomplete"))


def test_a_failed_download_leaves_nothing_behind(fake_hub: FakeHub, isolated_hub: Path) -> None:
    fake_hub.files["org/tiny-GGUF/tiny.gguf"] = MODEL_BYTES
    fake_hub.failing_gets = True  # metadata answers, the file itself does not come
    proc = llmos("models", "pull", "org/tiny-GGUF", "tiny.gguf", env={"HF_ENDPOINT": fake_hub.url})
    assert_one_error_line(proc, "HTTP 503", "tiny.gguf from org/tiny-GGUF", "try again later")
    assert _left_in(isolated_hub) == []
