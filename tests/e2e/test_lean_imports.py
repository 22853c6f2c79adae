"""What a one-shot request imports: never chromadb, torch or transformers on the default path.

A request with memory off has no use for the vector store; with memory on and a small store
the records' own vectors are scanned, so chromadb is not imported either. Each run is a
separate process (with the real embedded model), and its `sys.modules` is read at the end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from llmos_shell.memory import records
from llmos_shell.memory.store import LocalStore
from llmos_shell.retrieval.embeddings import shared_embedder

NEVER = ("chromadb", "torch", "transformers", "sentence_transformers")
REQUEST = "how much disk space is free?"


def imported_by(argv: list[str], cache: Path) -> list[str]:
    """The modules of NEVER that `llmos ARGV` imported, run in its own process."""
    snippet = f"""
import json, sys
from llmos_shell.cli import main
code = main({argv!r})
print(json.dumps([code, sorted(n for n in {NEVER!r} if n in sys.modules)]))
"""
    environ = os.environ.copy()  # the autouse fixture points every dir into tmp_path
    environ["LLMOS_CACHE_DIR"] = str(cache)
    proc = subprocess.run(
        [sys.executable, "-c", snippet],
        env=environ,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    code, imported = json.loads(proc.stdout.splitlines()[-1])
    assert code == 0, proc.stderr[-2000:]
    return list(imported)


@pytest.mark.model
def test_a_one_shot_imports_no_vector_store_and_no_torch(tmp_path: Path) -> None:
    cache = tmp_path / "prefix-cache"
    assert imported_by(["--no-memory", "plan", "--json", REQUEST], cache) == []
    store = LocalStore(Path(os.environ["LLMOS_DATA_DIR"]) / "memory", shared_embedder())
    try:
        store.add([records.fact(f"project {i} lives in ~/code/p{i}") for i in range(50)])
    finally:
        store.close()
    assert imported_by(["plan", "--json", REQUEST], cache) == []
