"""`memory_url`: the memories on a real Chroma server (`chroma run`) on loopback."""

from __future__ import annotations

import io
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmos_shell.config import load_config
from llmos_shell.memory.ledger import MemoryStoreError
from llmos_shell.memory.service import open_memory
from llmos_shell.memory.transfer import export_records, import_records


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A `chroma run` process on a free loopback port, stopped at the end."""
    chroma = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    if not Path(chroma).exists():
        pytest.fail("the chroma command is missing; chromadb installs it")
    port = _free_port()
    folder = tmp_path_factory.mktemp("chroma-server")
    log = open(folder / "server.log", "w")
    process = subprocess.Popen(
        [chroma, "run", "--path", str(folder / "data"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1).read()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        f"chroma run did not start: {(folder / 'server.log').read_text()[-2000:]}"
                    )
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)
        log.close()


def test_memories_live_on_the_server(chroma_server: str, tmp_path: Path) -> None:
    config = load_config(overrides={"memory_url": chroma_server})
    memory = open_memory(config)
    assert memory is not None and memory.location == chroma_server
    try:
        memory.store.clear()
        fact = memory.remember("my projects are in ~/code")
        memory.record_episode(
            "list the files in /tmp", [{"tool": "list_directory", "arguments": {"path": "/tmp"}}]
        )
        assert memory.recall("where are my projects", limit=1)[0].record.id == fact.id
        found = memory.for_plan("find my python projects")
        assert found.grounding == "find my python projects (~/code)"
        assert not (tmp_path / "data" / "memory").exists(), "the local store was used"
        out = io.StringIO()
        assert export_records(memory.store, out) == 2
        assert memory.store.clear() == 2
        report = import_records(memory.store, out.getvalue().splitlines())
        assert (report.added, report.errors) == (2, [])
        assert memory.store.get(fact.id) == fact
        assert [r.kind for r in memory.records()] == ["fact", "episode"]
        assert memory.forget(fact.id) == [fact]
    finally:
        memory.close()


def test_a_server_that_is_not_there_is_one_sentence() -> None:
    config = load_config(overrides={"memory_url": f"http://127.0.0.1:{_free_port()}"})
    with pytest.raises(MemoryStoreError, match="cannot reach the memory server"):
        open_memory(config)
