"""The hub downloads in this process: the library calls under `llmos models pull`.

The same fake hub on loopback and the same refusing port as tests/e2e/test_models_cli.py,
which runs `llmos models pull` as a separate process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from llmos_shell.models import hub
from tests.e2e import test_models_cli as shared
from tests.e2e.test_models_cli import FakeHub, _left_in

# The fixtures of tests/e2e/test_models_cli.py, used here by name.
fake_hub = shared.fake_hub
isolated_hub = shared.isolated_hub
refusing_port = shared.refusing_port
unreachable_hub = shared.unreachable_hub


def test_a_whole_repository_without_a_network_leaves_no_cache_folder(
    isolated_hub: Path, unreachable_hub: str
) -> None:
    with pytest.raises(hub.DownloadError, match="not reachable"):
        hub.pull_repo("HuggingFaceTB/SmolLM2-135M-Instruct", isolated_hub)
    assert _left_in(isolated_hub) == []


def test_pull_refuses_what_is_not_a_gguf_file(fake_hub: FakeHub, isolated_hub: Path) -> None:
    fake_hub.files["org/site/page.gguf"] = b"<html>login</html>"
    with pytest.raises(hub.DownloadError, match="not a GGUF file"):
        hub.pull_file("org/site", "page.gguf", isolated_hub, endpoint=fake_hub.url)
    assert _left_in(isolated_hub) == []


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
