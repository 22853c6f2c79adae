"""A job store or memory store that lost its records says so; it never reads as new."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from llmos_shell import cli
from llmos_shell.app import App
from llmos_shell.calls import ToolCall
from llmos_shell.config import load_config
from llmos_shell.config.store_marker import StoreMarkers
from llmos_shell.errors import MemoryStoreError, StoreDamaged
from llmos_shell.memory.service import Memory, memory_folder
from llmos_shell.memory.store import LocalStore
from llmos_shell.retrieval.embeddings import shared_embedder
from llmos_shell.scheduler import store as store_module
from llmos_shell.scheduler.daemon import Daemon
from llmos_shell.scheduler.location import SQLITE_NAME, open_job_store
from tests.unit.scheduler.conftest import job, shell


def let_go_of_the_job_store() -> None:
    """Close this process's connections, as a new llmos process would start without them."""
    for engine in store_module._ENGINES.values():
        engine.dispose()
    store_module._ENGINES.clear()


def truncate(path: Path) -> None:
    for extra in ("-wal", "-shm"):
        Path(f"{path}{extra}").unlink(missing_ok=True)
    path.write_bytes(b"")  # `: > jobs.sqlite`


def test_a_truncated_job_store_is_damaged_everywhere_and_restore_puts_the_jobs_back(
    app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    first = open_job_store(app.config)
    first.add_job(job(shell("df -h"), action="show disk usage"))
    first.add_job(job(shell("uptime"), action="show uptime"))
    let_go_of_the_job_store()
    truncate(app.config.paths.data_dir / SQLITE_NAME)
    with pytest.raises(
        StoreDamaged, match=r"is damaged: it held 2 record\(s\).*llmos jobs restore"
    ):
        open_job_store(app.config)
    assert cli.main(["jobs", "list"]) == 1
    out, err = capsys.readouterr()
    assert "No automations yet" not in out and "is damaged" in err and len(err.splitlines()) == 1
    with pytest.raises(StoreDamaged):
        Daemon(app).run()  # the daemon refuses to start on it
    assert cli.main(["jobs", "restore"]) == 0
    assert "restored 2 automation(s)" in capsys.readouterr().out
    let_go_of_the_job_store()
    restored = open_job_store(load_config())
    assert [r.spec.action for r in restored.jobs() if r.spec] == ["show disk usage", "show uptime"]


def test_a_replaced_job_store_is_damaged_and_an_emptied_one_by_llmos_is_not(
    app: App, tmp_path: Path
) -> None:
    store = open_job_store(app.config)
    number = store.add_job(job(shell("df -h")))
    store.remove_job(number)  # llmos itself emptied it: that is no damage
    let_go_of_the_job_store()
    assert open_job_store(app.config).jobs() == []
    store = open_job_store(app.config)
    store.add_job(job(shell("df -h")))
    let_go_of_the_job_store()
    # Another llmos's store (another identity) copied over this one.
    other_config = load_config()
    other_data = tmp_path / "other-data"
    other_url = f"sqlite:///{other_data / SQLITE_NAME}"
    other_data.mkdir()
    other = store_module.Store(other_url, markers=StoreMarkers(tmp_path / "other-state"))
    other.add_job(job(shell("uptime")))
    let_go_of_the_job_store()
    shutil.copy(other_data / SQLITE_NAME, other_config.paths.data_dir / SQLITE_NAME)
    with pytest.raises(StoreDamaged, match="is another store"):
        open_job_store(other_config)


def test_a_truncated_memory_store_is_damaged_and_a_tool_call_says_so(tmp_path: Path) -> None:
    config = load_config()
    folder = memory_folder(config.paths.data_dir)
    markers = StoreMarkers(config.paths.state_dir)
    store = LocalStore(folder, shared_embedder(), markers)
    memory = Memory(store)
    memory.remember("my projects are in ~/code")
    memory.remember("my editor is nano")
    store.close()
    truncate(folder / "records.sqlite3")
    with pytest.raises(MemoryStoreError, match=r"is damaged: it held 2 record\(s\).*memory import"):
        LocalStore(folder, shared_embedder(), markers)
    app = App(config=config)
    step = app.session(planning=False).run_call(
        ToolCall("recall", {"query": "projects"}), request="what do you know about my projects"
    )
    assert step.result is not None and not step.result.ok
    assert step.result.error is not None and "is damaged" in step.result.error
