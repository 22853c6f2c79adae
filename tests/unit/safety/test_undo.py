"""The undo journal, with the real file tools on real files in tmp_path.

Each test makes changes with the built-in tools (called as plain functions, or through
`Session.run_call` where the pipeline is what is checked), then undoes them and looks at the
file system and at what the journal says.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from llmos_shell.calls import ToolCall
from llmos_shell.config.settings import Paths
from llmos_shell.errors import ToolError
from llmos_shell.registry import discover
from llmos_shell.safety import undo
from llmos_shell.safety.audit import AuditLog
from llmos_shell.safety.policy import PolicyOptions
from llmos_shell.safety.undo import UndoJournal
from llmos_shell.session import Approval, Session
from llmos_tools.files import copy_path, delete_path, move_path, restore_from_trash, write_file


@pytest.fixture
def journal() -> UndoJournal:
    return UndoJournal.default()


@pytest.fixture
def work(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


def tree(root: Path) -> dict[str, str | None]:
    """Every path under root with its text (None for a folder)."""
    return {
        str(p.relative_to(root)): None if p.is_dir() else p.read_text()
        for p in sorted(root.rglob("*"))
    }


def trash_files(home: Path) -> list[str]:
    folder = home / ".local" / "share" / "Trash" / "files"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_each_kind_of_change_is_undone_newest_first(journal: UndoJournal, work: Path) -> None:
    (work / "keep.txt").write_text("kept\n")
    (work / "target.txt").write_text("old target\n")
    start = tree(work)
    notes = work / "notes.txt"
    write_file(str(notes), "one\n")
    write_file(str(notes), "two\n")
    write_file(str(notes), "three\n", mode="append")
    move_path(str(notes), str(work / "renamed.txt"))
    copy_path(str(work / "renamed.txt"), str(work / "copy.txt"))
    copy_path(str(work / "keep.txt"), str(work / "target.txt"), overwrite=True)
    delete_path(str(work / "keep.txt"))
    assert tree(work) == {
        "copy.txt": "two\nthree\n",
        "renamed.txt": "two\nthree\n",
        "target.txt": "kept\n",
    }

    answer = journal.undo(7)

    assert tree(work) == start
    assert answer["undone"] == 7
    assert [item["detail"].split(" ", 2)[:2] for item in answer["results"]] == [
        ["restored", str(work / "keep.txt")],
        ["put", "back"],
        ["moved", "the"],
        ["moved", str(work / "renamed.txt")],
        ["removed", "what"],
        ["put", "back"],
        ["moved", str(notes) + ","],
    ]
    assert all(row["status"] == "undone" for row in journal.listing())
    assert journal.undo(1) == {"undone": 0, "asked": 1, "results": [], "journal": str(journal.path)}


def test_a_file_changed_since_is_left_alone_and_passed_over(
    journal: UndoJournal, work: Path
) -> None:
    first, second = work / "first.txt", work / "second.txt"
    first.write_text("before\n")
    write_file(str(first), "by llmos\n")
    write_file(str(second), "by llmos\n")
    second.write_text("edited by hand\n")

    [row, *_] = journal.listing()
    assert row["status"] == "cannot be undone"
    assert row["reason"] == f"{second} changed since llmos created it"
    answer = journal.undo(1)

    assert second.read_text() == "edited by hand\n"  # never overwritten nor trashed
    assert first.read_text() == "before\n"  # the one before it was undone instead
    assert [item["undone"] for item in answer["results"]] == [False, True]
    assert journal.undo(1)["results"] == []  # the passed-over one is not reported again


def test_restoring_a_folder_after_a_file_from_it_merges(
    journal: UndoJournal, work: Path, isolated_dirs: Path
) -> None:
    folder = work / "project"
    folder.mkdir()
    for name, text in (("a.txt", "a"), ("b.txt", "b"), ("c.txt", "c")):
        (folder / name).write_text(text)
    delete_path(str(folder / "a.txt"))
    delete_path(str(folder / "c.txt"))
    delete_path(str(folder))
    restore_from_trash(str(folder / "a.txt"))  # recreates project/ holding a.txt alone
    (folder / "c.txt").write_text("a new c")  # takes the name of a file in the trashed folder

    [result] = journal.undo(1)["results"]

    assert result["undone"] is True
    assert "merged into the folder there" in result["detail"]
    assert tree(folder) == {"a.txt": "a", "b.txt": "b", "c.txt": "a new c"}
    # The trashed folder is restored; the older deletion of c.txt is still in the trash
    assert trash_files(isolated_dirs) == ["c.txt"]
    assert journal.listing()[2]["reason"].startswith("it is no longer in the trash")


def test_a_merge_keeps_in_the_trash_what_would_clash(
    journal: UndoJournal, work: Path, isolated_dirs: Path
) -> None:
    folder = work / "docs"
    folder.mkdir()
    (folder / "one.txt").write_text("trashed one")
    (folder / "two.txt").write_text("two")
    delete_path(str(folder))
    folder.mkdir()
    (folder / "one.txt").write_text("new one")

    [result] = journal.undo(1)["results"]

    assert tree(folder) == {"one.txt": "new one", "two.txt": "two"}
    assert "1 item(s) whose name was taken stayed in the trash: one.txt" in result["detail"]
    trashed = isolated_dirs / ".local" / "share" / "Trash" / "files" / "docs"
    assert tree(trashed) == {"one.txt": "trashed one"}


def test_an_emptied_trash_entry_cannot_be_undone(
    journal: UndoJournal, work: Path, isolated_dirs: Path
) -> None:
    doomed = work / "doomed.txt"
    doomed.write_text("x")
    delete_path(str(doomed))
    (isolated_dirs / ".local" / "share" / "Trash" / "files" / "doomed.txt").unlink()

    [result] = journal.undo(1)["results"]

    assert result == {
        "action": f"deleted {doomed} (to the trash)",
        "undone": False,
        "reason": "it is no longer in the trash (restored already, or the trash was emptied)",
    }
    assert not doomed.exists()


def test_a_move_over_a_file_puts_both_back(journal: UndoJournal, work: Path) -> None:
    (work / "new.txt").write_text("new")
    (work / "old.txt").write_text("old")
    move_path(str(work / "new.txt"), str(work / "old.txt"), overwrite=True)
    assert tree(work) == {"old.txt": "new"}

    [result] = journal.undo(1)["results"]

    assert tree(work) == {"new.txt": "new", "old.txt": "old"}
    assert result["detail"].endswith("and put back the file it had replaced")


def test_a_move_back_is_refused_when_the_old_place_is_taken(
    journal: UndoJournal, work: Path
) -> None:
    (work / "a.txt").write_text("a")
    move_path(str(work / "a.txt"), str(work / "b.txt"))
    (work / "a.txt").write_text("a new a")

    [result] = journal.undo(1)["results"]

    assert result["reason"] == f"{work / 'a.txt'} exists again"
    assert tree(work) == {"a.txt": "a new a", "b.txt": "a"}


def test_copying_into_an_existing_folder_cannot_be_undone(journal: UndoJournal, work: Path) -> None:
    (work / "src").mkdir()
    (work / "src" / "f.txt").write_text("new")
    (work / "dst").mkdir()
    (work / "dst" / "f.txt").write_text("old")
    copy_path(str(work / "src"), str(work / "dst"))  # a new dst/src
    copy_path(str(work / "src"), str(work / "dst"), overwrite=True)  # merged into dst/src

    [row, earlier] = journal.listing()

    assert row["status"] == "cannot be undone"
    assert "merging the two" in row["reason"]
    assert earlier["status"] == "can be undone"


def test_a_file_over_the_size_limit_is_overwritten_but_not_kept(
    journal: UndoJournal, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(undo, "KEEP_FILE_BYTES", 100)
    big = work / "big.txt"
    big.write_text("x" * 101)
    write_file(str(big), "small")

    [row] = journal.listing()

    assert big.read_text() == "small"
    assert row["status"] == "cannot be undone"
    assert row["reason"] == f"{big} held 101 B, more than the 100 B kept for undo"
    assert not journal.store.exists() or not any(journal.store.iterdir())


def test_the_oldest_kept_contents_are_dropped_to_stay_under_the_total(
    journal: UndoJournal, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(undo, "KEEP_TOTAL_BYTES", 250)
    for name in ("a", "b", "c"):
        (work / name).write_text(name * 100)
        write_file(str(work / name), "replaced")

    rows = journal.listing()

    assert [row["status"] for row in rows] == ["can be undone", "can be undone", "cannot be undone"]
    assert (
        rows[2]["reason"] == "its previous contents were dropped to keep the undo store under 250 B"
    )
    assert sum(p.stat().st_size for p in journal.store.iterdir()) == 200


def test_the_journal_keeps_the_last_actions_and_their_contents(
    journal: UndoJournal, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(undo, "COMPACT_AT_BYTES", 1)  # compact on every line
    monkeypatch.setattr(undo, "KEEP_ACTIONS", 2)
    for number in range(5):
        (work / f"{number}.txt").write_text("old")
        write_file(str(work / f"{number}.txt"), "new")

    rows = journal.listing()

    assert [row["action"] for row in rows] == [
        f"overwrote {work / '4.txt'}",
        f"overwrote {work / '3.txt'}",
    ]
    assert len(list(journal.store.iterdir())) == 2
    assert journal.undo(5)["undone"] == 2
    assert (work / "3.txt").read_text() == "old" and (work / "2.txt").read_text() == "new"


def test_the_change_is_on_disk_before_the_file_changes(journal: UndoJournal, work: Path) -> None:
    target = work / "t.txt"
    target.write_text("before")
    with undo.writing(target):
        [line] = journal.path.read_text().splitlines()
        record = json.loads(line)
        assert record["event"] == "change" and record["action"] == "write"
        assert (journal.store / record["kept"]).read_text() == "before"
        target.write_text("after")
    assert json.loads(journal.path.read_text().splitlines()[-1])["event"] == "done"


def test_a_crash_in_the_middle_is_never_undone(journal: UndoJournal, work: Path) -> None:
    target = work / "t.txt"
    target.write_text("before")
    crash = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from llmos_shell.safety import undo\n"
        "with undo.writing(Path(sys.argv[1])):\n"
        "    Path(sys.argv[1]).write_text('half')\n"
        "    os._exit(9)\n"
    )
    proc = subprocess.run([sys.executable, "-c", crash, str(target)], check=False, timeout=60)
    assert proc.returncode == 9

    [row] = journal.listing()
    answer = journal.undo(1)

    assert row["status"] == "cannot be undone"
    assert row["reason"].startswith("it never finished (llmos stopped while it ran)")
    kept = row["reason"].split("; the previous contents are kept in ")[1]
    assert Path(kept).read_text() == "before"
    assert answer["undone"] == 0 and target.read_text() == "half"


def test_a_journal_that_cannot_be_written_stops_the_change(
    tmp_path: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("LLMOS_STATE_DIR", str(blocker))
    target = work / "t.txt"
    target.write_text("before")

    with pytest.raises(
        ToolError, match=r"the undo journal .* cannot be written .* nothing was changed"
    ):
        write_file(str(target), "after")
    assert target.read_text() == "before"


# --- through the pipeline ----------------------------------------------------------------------


def yes(call: ToolCall, tool: Any, decision: Any) -> Approval:
    return Approval(True, by="person")


@pytest.fixture
def session(tmp_path: Path) -> Session:
    registry = discover(None)
    return Session(
        None,
        registry,
        confirmer=yes,
        options=PolicyOptions(),
        audit=AuditLog(tmp_path / "audit.jsonl"),
        undo=UndoJournal(Paths.from_env().undo_journal),
    )


def test_a_call_files_its_change_under_it(session: Session, work: Path) -> None:
    assert session.undo is not None
    source, target = work / "draft.txt", work / "final.txt"
    source.write_text("text")
    call = ToolCall("move_path", {"source": str(source), "destination": str(target)})
    step = session.run_call(call, request="rename draft.txt to final.txt")
    assert step.result is not None and step.result.ok

    [row] = session.undo.listing()  # the change ran in the executor's thread, filed under the call

    assert row["request"] == "rename draft.txt to final.txt"
    assert row["action"] == f"renamed {source} to final.txt"
    assert row["status"] == "can be undone"


def test_shell_commands_are_listed_as_not_undoable(session: Session, work: Path) -> None:
    assert session.undo is not None
    for command in (f"ls {work}", f"echo hi > {work / 'out.txt'}"):
        call = ToolCall("run_shell", {"command": command, "cwd": str(work)})
        session.run_call(call, request=command)
    session.run_call(
        ToolCall("write_file", {"path": str(work / "no" / "such" / "dir.txt"), "content": "x"}),
        request="a write that fails before it changes anything",
    )

    [row] = session.undo.listing()  # the read-only ls and the failed write are not there
    answer = session.undo.undo(1)

    assert row["action"] == f"run_shell: echo hi > {work / 'out.txt'}"
    assert row["reason"] == "llmos cannot know what a shell command changed"
    assert answer["results"][0]["undone"] is False
    assert (work / "out.txt").read_text() == "hi\n"


def test_the_undo_runs_through_the_pipeline_and_is_audited(
    session: Session, work: Path, tmp_path: Path
) -> None:
    assert session.undo is not None
    notes = work / "notes.txt"
    session.run_call(
        ToolCall("write_file", {"path": str(notes), "content": "x"}), request="save x to notes.txt"
    )
    undo_call = ToolCall(undo.UNDO_TOOL, {"count": 1})

    step = session.run_call(undo_call, request="/undo", tool=session.undo.tool)

    assert step.result is not None and step.result.ok
    assert step.decision.risk.value == "write" and step.approval == Approval(True, by="person")
    assert not notes.exists()
    records = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [r["call"]["tool"] for r in records] == ["write_file", "undo"]
    assert records[1]["request"] == "/undo" and records[1]["outcome"]["status"] == "ok"
    assert [row["status"] for row in session.undo.listing()] == [
        "undone"
    ]  # the undo is not an action


def test_the_undo_tool_is_never_offered_to_the_model() -> None:
    assert undo.UNDO_TOOL not in discover(None)


def test_damaged_journal_lines_are_skipped(journal: UndoJournal, work: Path) -> None:
    target = work / "t.txt"
    write_file(str(target), "x")
    with journal.path.open("ab") as handle:
        handle.write(b"not json\n\xff\xfe\n[1, 2]\n")
        handle.write(b'{"event": "change", "id": "bad", "action": "move", "path": 3}\n')
        handle.write(b'{"event": "call", "id": "odd", "arguments": [1], "ended": "yes"}\n')
        handle.write(b'{"event": "done", "id": "bad", "after": "not a fingerprint"}\n')

    rows = journal.listing()

    assert [row["action"] for row in rows] == ["()", f"created {target}"]  # "odd" never ended
    assert journal.undo(2)["undone"] == 1 and not target.exists()
