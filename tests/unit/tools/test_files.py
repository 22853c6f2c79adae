"""Tests for the file tools, on real files in tmp_path with an isolated home and trash."""

from __future__ import annotations

import json
import os
import time
import urllib.parse
from datetime import datetime, timedelta
from pathlib import Path

import pytest

import llmos_tools.files as files
from llmos_shell.calls import Risk
from llmos_shell.errors import ToolError
from llmos_shell.registry import tools_in_module

DAY = 86400
is_root = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private home and data dir; the working directory is tmp_path/work."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return home


@pytest.fixture
def trash(home: Path, tmp_path: Path) -> Path:
    return tmp_path / "data" / "Trash"


def write(path: Path, content: str | bytes = "", age_days: float = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    if age_days:
        stamp = time.time() - age_days * DAY
        os.utime(path, (stamp, stamp))
    return path


# --- registration -------------------------------------------------------------------------------

EXPECTED = {
    "list_directory": Risk.READ_ONLY,
    "find_files": Risk.READ_ONLY,
    "search_text": Risk.READ_ONLY,
    "read_file": Risk.READ_ONLY,
    "write_file": Risk.WRITE,
    "copy_path": Risk.WRITE,
    "move_path": Risk.WRITE,
    "delete_path": Risk.DESTRUCTIVE,
    "list_trash": Risk.READ_ONLY,
    "restore_from_trash": Risk.WRITE,
    "disk_usage": Risk.READ_ONLY,
}


def test_module_registers_every_file_tool_with_its_risk() -> None:
    found = {t.name: t for t in tools_in_module(files)}
    assert set(found) == set(EXPECTED)
    for name, risk in EXPECTED.items():
        assert found[name].risk is risk, name
    assert found["delete_path"].reversible is True


def test_every_tool_has_valid_examples_and_documented_parameters() -> None:
    for t in tools_in_module(files):
        assert 3 <= len(t.examples) <= 5, t.name
        for example in t.examples:
            t.validate(example.arguments)
        assert "\n" not in t.description and len(t.description) < 120, t.name
        schema = t.parameters_schema()
        for prop, spec in schema["properties"].items():
            assert spec.get("description"), f"{t.name}.{prop} has no description"
        json.dumps(t.definition())


# --- list_directory -----------------------------------------------------------------------------


def test_list_directory_sorts_and_hides(home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "stuff"
    write(folder / "b.txt", "x" * 300, age_days=3)
    write(folder / "A.txt", "x" * 10, age_days=1)
    write(folder / "c.bin", b"\x00" * 5000, age_days=2)
    write(folder / ".secret", "s")
    (folder / "sub").mkdir()

    by_name = files.list_directory(str(folder))
    assert [e["name"] for e in by_name["entries"]] == ["A.txt", "b.txt", "c.bin", "sub"]
    assert by_name["hidden_not_shown"] == 1
    assert by_name["count"] == 4 and by_name["truncated"] is False
    sub = by_name["entries"][-1]
    assert sub["type"] == "dir" and sub["size"] is None
    c_bin = by_name["entries"][2]
    assert c_bin == {**c_bin, "type": "file", "size": 5000, "size_human": "5 KB"}

    by_size = files.list_directory(str(folder), sort_by="size")
    assert [e["name"] for e in by_size["entries"]] == ["c.bin", "b.txt", "A.txt", "sub"]

    by_time = files.list_directory(str(folder), sort_by="modified")
    assert [e["name"] for e in by_time["entries"]][-3:] == ["A.txt", "c.bin", "b.txt"]

    hidden = files.list_directory(str(folder), show_hidden=True, limit=2)
    assert hidden["count"] == 5 and hidden["truncated"] is True
    assert [e["name"] for e in hidden["entries"]] == [".secret", "A.txt"]
    json.dumps(hidden)


def test_list_directory_defaults_to_cwd_and_expands_home(home: Path) -> None:
    write(Path.cwd() / "here.txt", "1")
    write(home / "Downloads" / "movie.mkv", "2")
    assert [e["name"] for e in files.list_directory()["entries"]] == ["here.txt"]
    listed = files.list_directory("~/Downloads")
    assert listed["path"] == str(home / "Downloads")
    assert [e["name"] for e in listed["entries"]] == ["movie.mkv"]


def test_list_directory_errors(home: Path, tmp_path: Path) -> None:
    with pytest.raises(ToolError, match=r"directory .*nowhere does not exist"):
        files.list_directory(str(tmp_path / "nowhere"))
    write(tmp_path / "f.txt", "x")
    with pytest.raises(ToolError, match="is a file, not a directory"):
        files.list_directory(str(tmp_path / "f.txt"))


@pytest.mark.skipif(is_root, reason="root can read any directory")
def test_list_directory_permission_denied(home: Path, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        with pytest.raises(ToolError, match="permission denied"):
            files.list_directory(str(locked))
    finally:
        locked.chmod(0o700)


# --- find_files ---------------------------------------------------------------------------------


@pytest.fixture
def tree(home: Path, tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    write(root / "report.pdf", b"%PDF" + b"x" * 2_000_000, age_days=10)
    write(root / "notes.txt", "small", age_days=0.1)
    write(root / "docs" / "Manual.PDF", b"%PDF" + b"x" * 20_000, age_days=40)
    write(root / "docs" / "deep" / "old.log", "log", age_days=400)
    write(root / ".hidden" / "secret.pdf", b"%PDF")
    write(root / ".dotfile.txt", "dot")
    (root / "empty_dir").mkdir()
    return root


def names(result: dict) -> list[str]:
    return sorted(Path(m["path"]).name for m in result["matches"])


def test_find_files_by_glob_is_case_insensitive_and_skips_hidden(tree: Path) -> None:
    result = files.find_files(str(tree), name="*.pdf")
    assert names(result) == ["Manual.PDF", "report.pdf"]
    with_hidden = files.find_files(str(tree), name="*.pdf", include_hidden=True)
    assert names(with_hidden) == ["Manual.PDF", "report.pdf", "secret.pdf"]


def test_find_files_by_substring_and_path_glob(tree: Path) -> None:
    assert names(files.find_files(str(tree), name="note")) == ["notes.txt"]
    assert names(files.find_files(str(tree), name="docs/*/*.log")) == ["old.log"]


def test_find_files_size_filters(tree: Path) -> None:
    assert names(files.find_files(str(tree), min_size="1MB")) == ["report.pdf"]
    assert names(files.find_files(str(tree), min_size="10k", max_size="1 MiB")) == ["Manual.PDF"]
    assert names(files.find_files(str(tree), max_size="100")) == ["notes.txt", "old.log"]
    with pytest.raises(ToolError, match="'lots'"):
        files.find_files(str(tree), min_size="lots")


def test_find_files_age_filters(tree: Path) -> None:
    assert names(files.find_files(str(tree), modified_within="7d")) == ["notes.txt"]
    assert names(files.find_files(str(tree), modified_within="last month")) == [
        "notes.txt",
        "report.pdf",
    ]
    assert names(files.find_files(str(tree), modified_before="30d")) == ["Manual.PDF", "old.log"]
    cutoff = (datetime.now() - timedelta(days=100)).date().isoformat()
    assert names(files.find_files(str(tree), modified_before=cutoff)) == ["old.log"]
    assert names(files.find_files(str(tree), modified_within="2w", modified_before="1d")) == [
        "report.pdf"
    ]
    with pytest.raises(ToolError, match="'someday'"):
        files.find_files(str(tree), modified_within="someday")


def test_find_files_types_sorting_and_limit(tree: Path) -> None:
    dirs = files.find_files(str(tree), type="dir")
    assert names(dirs) == ["deep", "docs", "empty_dir"]
    assert all(m["type"] == "dir" for m in dirs["matches"])
    everything = files.find_files(str(tree), type="any")
    assert everything["count"] == 7

    by_size = files.find_files(str(tree), sort_by="size", limit=2)
    assert [Path(m["path"]).name for m in by_size["matches"]] == ["report.pdf", "Manual.PDF"]
    assert by_size["count"] == 4 and by_size["truncated"] is True
    assert by_size["matches"][0]["size"] == 2_000_004
    assert by_size["matches"][0]["size_human"] == "2 MB"

    newest = files.find_files(str(tree), sort_by="modified")
    assert [Path(m["path"]).name for m in newest["matches"]] == [
        "notes.txt",
        "report.pdf",
        "Manual.PDF",
        "old.log",
    ]


def test_find_files_breadth_first_and_absolute_paths(tree: Path) -> None:
    result = files.find_files(str(tree), type="any")
    paths = [m["path"] for m in result["matches"]]
    assert all(os.path.isabs(p) for p in paths)
    depths = [p.count(os.sep) for p in paths]
    assert depths == sorted(depths)


def test_find_files_does_not_follow_symlinked_dirs(tree: Path) -> None:
    (tree / "docs" / "loop").symlink_to(tree)
    result = files.find_files(str(tree), name="*.pdf")
    assert names(result) == ["Manual.PDF", "report.pdf"]


def test_find_files_missing_root(home: Path) -> None:
    with pytest.raises(ToolError, match="does not exist"):
        files.find_files("~/no/such/place")


@pytest.mark.skipif(is_root, reason="root can read any directory")
def test_find_files_skips_unreadable_dirs(tree: Path) -> None:
    locked = tree / "locked"
    write(locked / "inside.pdf", b"x")
    locked.chmod(0)
    try:
        result = files.find_files(str(tree), name="*.pdf")
    finally:
        locked.chmod(0o700)
    assert names(result) == ["Manual.PDF", "report.pdf"]
    assert result["unreadable_dirs_skipped"] == 1


def deny_scandir(monkeypatch: pytest.MonkeyPatch, denied: Path) -> None:
    """Make listing one directory fail as it does without read permission (root can read all)."""
    real = os.scandir

    def scandir(path: str | os.PathLike[str] = ".") -> object:
        if Path(path) == denied:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)


def test_find_files_skips_a_directory_it_cannot_list(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tree / "locked" / "inside.pdf", b"x")
    deny_scandir(monkeypatch, tree / "locked")
    result = files.find_files(str(tree), name="*.pdf")
    assert names(result) == ["Manual.PDF", "report.pdf"]
    assert result["unreadable_dirs_skipped"] == 1


def test_list_directory_reports_permission_denied(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deny_scandir(monkeypatch, tmp_path)
    with pytest.raises(ToolError, match=r"cannot list .*: permission denied"):
        files.list_directory(str(tmp_path))


# --- search_text --------------------------------------------------------------------------------


@pytest.fixture
def code(home: Path, tmp_path: Path) -> Path:
    root = tmp_path / "code"
    write(root / "a.py", "import os\n# TODO: fix\nx = 'a.b'\n")
    write(root / "b.txt", "nothing\nTodo later\naxb\n")
    write(root / "pkg" / "c.py", "def f():\n    pass  # TODO\n")
    write(root / "image.png", b"\x89PNG\r\n\x1a\n\x00\x00TODO\x00")
    write(root / ".git" / "config", "TODO hidden\n")
    return root


def test_search_text_literal_with_line_numbers(code: Path) -> None:
    result = files.search_text("TODO", str(code))
    found = {(Path(m["file"]).name, m["line_number"], m["line"]) for m in result["matches"]}
    assert found == {("a.py", 2, "# TODO: fix"), ("c.py", 2, "    pass  # TODO")}
    assert result["binary_skipped"] == 1
    assert result["files_searched"] == 3
    assert result["truncated"] is False


def test_search_text_literal_does_not_treat_dot_as_regex(code: Path) -> None:
    literal = files.search_text("a.b", str(code))
    assert [(Path(m["file"]).name, m["line"]) for m in literal["matches"]] == [
        ("a.py", "x = 'a.b'")
    ]
    regex = files.search_text("a.b", str(code), regex=True)
    assert sorted(m["line"] for m in regex["matches"]) == ["axb", "x = 'a.b'"]


def test_search_text_ignore_case_glob_and_hidden(code: Path) -> None:
    anycase = files.search_text("todo", str(code), ignore_case=True)
    assert len(anycase["matches"]) == 3
    only_txt = files.search_text("todo", str(code), ignore_case=True, glob="*.txt")
    assert [m["line"] for m in only_txt["matches"]] == ["Todo later"]
    hidden = files.search_text("hidden", str(code), include_hidden=True)
    assert [Path(m["file"]).name for m in hidden["matches"]] == ["config"]


def test_search_text_max_matches_truncates(home: Path, tmp_path: Path) -> None:
    target = write(tmp_path / "many.txt", "hit\n" * 10)
    result = files.search_text("hit", str(target), max_matches=4)
    assert [m["line_number"] for m in result["matches"]] == [1, 2, 3, 4]
    assert result["truncated"] is True
    exact = files.search_text("hit", str(target), max_matches=10)
    assert exact["count"] == 10 and exact["truncated"] is False


def test_search_text_clips_long_lines_around_the_match(home: Path, tmp_path: Path) -> None:
    target = write(tmp_path / "long.txt", "a" * 5000 + "NEEDLE" + "b" * 5000 + "\n")
    line = files.search_text("NEEDLE", str(target))["matches"][0]["line"]
    assert "NEEDLE" in line and len(line) < 400
    assert line.startswith("…") and line.endswith("…")


def test_search_text_errors(code: Path) -> None:
    with pytest.raises(ToolError, match="not a valid regular expression"):
        files.search_text("(unclosed", str(code), regex=True)
    with pytest.raises(ToolError, match="binary file"):
        files.search_text("TODO", str(code / "image.png"))
    with pytest.raises(ToolError, match="does not exist"):
        files.search_text("x", str(code / "nope"))
    with pytest.raises(ToolError, match="empty"):
        files.search_text("", str(code))


# --- read_file ----------------------------------------------------------------------------------


def test_read_file_whole_head_and_tail(home: Path, tmp_path: Path) -> None:
    text = "".join(f"line {n}\n" for n in range(1, 1001))
    target = write(tmp_path / "lines.txt", text)
    whole = files.read_file(str(target))
    assert whole["content"] == text and whole["truncated"] is False
    assert whole["lines_shown"] == 1000 and whole["size"] == len(text)

    head = files.read_file(str(target), head=3)
    assert head["content"] == "line 1\nline 2\nline 3\n"
    assert head["truncated"] is True and head["lines_shown"] == 3

    tail = files.read_file(str(target), tail=2)
    assert tail["content"] == "line 999\nline 1000\n"
    assert tail["truncated"] is True

    everything = files.read_file(str(target), tail=5000)
    assert everything["content"] == text and everything["truncated"] is False


def test_read_file_tail_of_a_big_file_without_final_newline(home: Path, tmp_path: Path) -> None:
    text = "\n".join(f"row {n:07d}" for n in range(200_000))
    target = write(tmp_path / "big.log", text)
    tail = files.read_file(str(target), tail=3)
    assert tail["content"] == "row 0199997\nrow 0199998\nrow 0199999"
    assert tail["lines_shown"] == 3


def test_read_file_caps_bytes(home: Path, tmp_path: Path) -> None:
    target = write(tmp_path / "big.txt", "x" * 10_000)
    capped = files.read_file(str(target), max_bytes=100)
    assert capped["content"] == "x" * 100 and capped["truncated"] is True
    assert capped["size"] == 10_000
    tail = files.read_file(str(target), tail=1, max_bytes=50)
    assert tail["content"] == "x" * 50 and tail["truncated"] is True


def test_read_file_head_stops_inside_one_huge_line(home: Path, tmp_path: Path) -> None:
    target = write(tmp_path / "minified.js", "x" * 1_000_000 + "\nsecond\n")
    head = files.read_file(str(target), head=2, max_bytes=100)
    assert head["content"] == "x" * 100 and head["truncated"] is True
    exact = files.read_file(str(write(tmp_path / "two.txt", "a\nb\n")), head=2)
    assert exact["content"] == "a\nb\n" and exact["truncated"] is False


def test_read_file_decodes_utf8(home: Path, tmp_path: Path) -> None:
    target = write(tmp_path / "u.txt", "héllo wörld ✓\n")
    assert files.read_file(str(target))["content"] == "héllo wörld ✓\n"


def test_read_file_refuses_binary_and_directories(home: Path, tmp_path: Path) -> None:
    binary = write(tmp_path / "prog", b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256)))
    with pytest.raises(ToolError, match=r"binary file \(.*\); it cannot be shown as text"):
        files.read_file(str(binary))
    with pytest.raises(ToolError, match="is a directory; use list_directory"):
        files.read_file(str(tmp_path))
    with pytest.raises(ToolError, match=r"file .*missing.txt does not exist"):
        files.read_file("missing.txt")
    with pytest.raises(ToolError, match="head or tail, not both"):
        files.read_file(str(binary), head=1, tail=1)
    with pytest.raises(ToolError, match="at least 1"):
        files.read_file(str(binary), head=0)


def test_read_file_reports_broken_symlink(home: Path, tmp_path: Path) -> None:
    link = tmp_path / "dangling"
    link.symlink_to(tmp_path / "gone")
    with pytest.raises(ToolError, match="broken symbolic link"):
        files.read_file(str(link))


# --- write_file ---------------------------------------------------------------------------------


def test_write_file_creates_overwrites_and_appends(home: Path) -> None:
    created = files.write_file("~/todo.txt", "buy milk\n")
    target = home / "todo.txt"
    assert created == {**created, "path": str(target), "created": True, "bytes_written": 9}
    assert target.read_text() == "buy milk\n"
    appended = files.write_file("~/todo.txt", "call mom ✓\n", mode="append")
    assert appended["created"] is False and appended["bytes_written"] == len(
        "call mom ✓\n".encode()
    )
    assert target.read_text() == "buy milk\ncall mom ✓\n"
    files.write_file("~/todo.txt", "fresh\n")
    assert target.read_text() == "fresh\n"


def test_write_file_keeps_newlines_verbatim(home: Path) -> None:
    files.write_file("crlf.txt", "a\r\nb\n")
    assert (Path.cwd() / "crlf.txt").read_bytes() == b"a\r\nb\n"


def test_write_file_parents_and_directories(home: Path, tmp_path: Path) -> None:
    with pytest.raises(ToolError, match="does not exist; set create_parents"):
        files.write_file("notes/ideas.md", "# Ideas\n")
    assert not (Path.cwd() / "notes").exists()
    files.write_file("notes/ideas.md", "# Ideas\n", create_parents=True)
    assert (Path.cwd() / "notes" / "ideas.md").read_text() == "# Ideas\n"
    with pytest.raises(ToolError, match="is a directory"):
        files.write_file(str(tmp_path), "x")
    write(tmp_path / "plain", "x")
    with pytest.raises(ToolError, match="is a file, so it cannot hold"):
        files.write_file(str(tmp_path / "plain" / "child.txt"), "x")


# --- copy_path and move_path --------------------------------------------------------------------


def test_copy_file_into_folder_and_refuse_clobber(home: Path, tmp_path: Path) -> None:
    source = write(tmp_path / "report.pdf", b"%PDF-1.7 data")
    desktop = home / "Desktop"
    desktop.mkdir()
    result = files.copy_path(str(source), "~/Desktop")
    assert result["destination"] == str(desktop / "report.pdf")
    assert (desktop / "report.pdf").read_bytes() == b"%PDF-1.7 data"
    assert source.exists()
    with pytest.raises(ToolError, match="already exists; set overwrite"):
        files.copy_path(str(source), "~/Desktop")
    source.write_bytes(b"new")
    files.copy_path(str(source), "~/Desktop", overwrite=True)
    assert (desktop / "report.pdf").read_bytes() == b"new"


def test_copy_folder_tree(home: Path, tmp_path: Path) -> None:
    write(tmp_path / "thesis" / "ch1.tex", "one")
    write(tmp_path / "thesis" / "fig" / "a.png", b"\x00png")
    (tmp_path / "thesis" / "link").symlink_to("ch1.tex")
    result = files.copy_path(str(tmp_path / "thesis"), str(tmp_path / "backup"))
    assert result["type"] == "dir" and result["size"] == 3 + 4 + len("ch1.tex")
    assert (tmp_path / "backup" / "ch1.tex").read_text() == "one"
    assert (tmp_path / "backup" / "fig" / "a.png").read_bytes() == b"\x00png"
    assert os.readlink(tmp_path / "backup" / "link") == "ch1.tex"
    with pytest.raises(ToolError, match="into itself"):
        files.copy_path(str(tmp_path / "thesis"), str(tmp_path / "thesis" / "fig"))
    with pytest.raises(ToolError, match=r"cannot replace .* with a folder: it is a file"):
        write(tmp_path / "clash", "x")
        files.copy_path(str(tmp_path / "thesis"), str(tmp_path / "clash"), overwrite=True)


def test_copy_to_trailing_slash_creates_folder(home: Path, tmp_path: Path) -> None:
    source = write(tmp_path / "a.txt", "a")
    files.copy_path(str(source), str(tmp_path / "new" / "dir") + "/")
    assert (tmp_path / "new" / "dir" / "a.txt").read_text() == "a"


def test_copy_and_move_missing_source(home: Path) -> None:
    with pytest.raises(ToolError, match=r"ghost.txt does not exist"):
        files.copy_path("ghost.txt", "x.txt")
    with pytest.raises(ToolError, match=r"ghost.txt does not exist"):
        files.move_path("ghost.txt", "x.txt")


def test_move_renames_and_moves_into_folder(home: Path, tmp_path: Path) -> None:
    write(Path.cwd() / "draft.txt", "v1")
    result = files.move_path("draft.txt", "final.txt")
    assert result["destination"] == str(Path.cwd() / "final.txt")
    assert not (Path.cwd() / "draft.txt").exists()
    assert (Path.cwd() / "final.txt").read_text() == "v1"
    (home / "Documents").mkdir()
    files.move_path("final.txt", "~/Documents")
    assert (home / "Documents" / "final.txt").read_text() == "v1"


def test_move_refuses_clobber_unless_overwrite(home: Path, tmp_path: Path) -> None:
    a = write(tmp_path / "a.txt", "A")
    b = write(tmp_path / "b.txt", "B")
    with pytest.raises(ToolError, match="already exists"):
        files.move_path(str(a), str(b))
    assert b.read_text() == "B"
    files.move_path(str(a), str(b), overwrite=True)
    assert b.read_text() == "A" and not a.exists()
    folder = tmp_path / "folder"
    write(folder / "inner" / "x", "x")
    with pytest.raises(ToolError, match="into itself"):
        files.move_path(str(folder), str(folder / "inner" / "deeper"))
    with pytest.raises(ToolError, match="refusing to move"):
        files.move_path("~", str(tmp_path / "elsewhere"))


# --- trash --------------------------------------------------------------------------------------


def info_fields(trash: Path, name: str) -> dict[str, str]:
    lines = (trash / "info" / f"{name}.trashinfo").read_text().splitlines()
    assert lines[0] == "[Trash Info]"
    return dict(line.split("=", 1) for line in lines[1:])


def test_delete_and_restore_round_trip(home: Path, trash: Path, tmp_path: Path) -> None:
    content = os.urandom(3000)
    target = write(tmp_path / "old_notes.txt", content)
    before = datetime.now().replace(microsecond=0)
    result = files.delete_path(str(target))
    assert not target.exists()
    assert result["trashed_as"] == "old_notes.txt"
    assert result["trash_dir"] == str(trash)
    assert (trash / "files" / "old_notes.txt").read_bytes() == content
    fields = info_fields(trash, "old_notes.txt")
    assert fields["Path"] == str(target)
    deleted = datetime.strptime(fields["DeletionDate"], "%Y-%m-%dT%H:%M:%S")
    assert before <= deleted <= datetime.now()

    listing = files.list_trash()
    assert listing["count"] == 1
    assert listing["items"][0] == {
        "name": "old_notes.txt",
        "original_path": str(target),
        "deleted": fields["DeletionDate"],
        "type": "file",
        "size": 3000,
        "size_human": "3 KB",
    }

    restored = files.restore_from_trash(str(target))
    assert restored["restored_to"] == str(target)
    assert target.read_bytes() == content
    assert list((trash / "files").iterdir()) == []
    assert list((trash / "info").iterdir()) == []
    assert files.list_trash()["count"] == 0


def test_trash_defaults_to_local_share_under_home(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XDG_DATA_HOME")
    write(home / "x.txt", "x")
    result = files.delete_path("~/x.txt")
    assert result["trash_dir"] == str(home / ".local" / "share" / "Trash")
    assert (home / ".local" / "share" / "Trash" / "files" / "x.txt").read_text() == "x"


def test_trash_info_percent_encodes_the_path(home: Path, trash: Path, tmp_path: Path) -> None:
    target = write(tmp_path / "my notes é%.txt", "n")
    files.delete_path(str(target))
    raw = info_fields(trash, "my notes é%.txt")["Path"]
    assert raw.endswith("/my%20notes%20%C3%A9%25.txt")
    assert urllib.parse.unquote(raw) == str(target)
    files.restore_from_trash(str(target))
    assert target.read_text() == "n"


def test_delete_folder_round_trip(home: Path, trash: Path, tmp_path: Path) -> None:
    write(tmp_path / "junk" / "a.txt", "a")
    write(tmp_path / "junk" / "sub" / "b.bin", b"\x00\x01")
    result = files.delete_path(str(tmp_path / "junk"))
    assert result["type"] == "dir"
    assert not (tmp_path / "junk").exists()
    assert (trash / "files" / "junk" / "sub" / "b.bin").read_bytes() == b"\x00\x01"
    files.restore_from_trash("junk")
    assert (tmp_path / "junk" / "a.txt").read_text() == "a"
    assert (tmp_path / "junk" / "sub" / "b.bin").read_bytes() == b"\x00\x01"


def test_name_collisions_get_unique_trash_names(home: Path, trash: Path, tmp_path: Path) -> None:
    first = write(tmp_path / "one" / "a.txt", "first")
    second = write(tmp_path / "two" / "a.txt", "second")
    third = write(tmp_path / "three" / "a.txt", "third")
    names_used = [files.delete_path(str(p))["trashed_as"] for p in (first, second, third)]
    assert names_used == ["a.txt", "a.2.txt", "a.3.txt"]
    assert info_fields(trash, "a.2.txt")["Path"] == str(second)
    assert (trash / "files" / "a.2.txt").read_text() == "second"

    files.restore_from_trash("a.txt")  # the trash name wins over the bare file name
    assert first.read_text() == "first"
    assert not second.exists() and not third.exists()
    # a.2.txt and a.3.txt both came from a file called a.txt, in different folders
    with pytest.raises(ToolError, match=r"several deleted items are called 'a\.txt'"):
        files.restore_from_trash("a.txt")
    files.restore_from_trash(str(third))
    assert third.read_text() == "third"
    files.restore_from_trash("a.txt")  # only one candidate left: no ambiguity
    assert second.read_text() == "second"


def test_restore_picks_most_recent_version(home: Path, trash: Path, tmp_path: Path) -> None:
    target = tmp_path / "config.yaml"
    for version in ("v1", "v2", "v3"):
        write(target, version)
        files.delete_path(str(target))
    # all three were deleted within the same second; the info files' mtimes order them
    for index, name in enumerate(("config.yaml", "config.2.yaml", "config.3.yaml")):
        stamp = time.time() - 100 + index
        os.utime(trash / "info" / f"{name}.trashinfo", (stamp, stamp))
    listing = files.list_trash()
    assert [i["name"] for i in listing["items"]] == [
        "config.3.yaml",
        "config.2.yaml",
        "config.yaml",
    ]
    restored = files.restore_from_trash(str(target))
    assert target.read_text() == "v3"
    assert restored["other_versions_in_trash"] == 2
    with pytest.raises(ToolError, match="already exists"):
        files.restore_from_trash(str(target))
    target.unlink()
    files.restore_from_trash("config.yaml")
    assert target.read_text() == "v2"


def test_restore_to_a_destination_folder(home: Path, trash: Path, tmp_path: Path) -> None:
    target = write(tmp_path / "report.pdf", "pdf")
    files.delete_path(str(target))
    (home / "Desktop").mkdir()
    result = files.restore_from_trash("report.pdf", destination="~/Desktop")
    assert result["restored_to"] == str(home / "Desktop" / "report.pdf")
    assert (home / "Desktop" / "report.pdf").read_text() == "pdf"
    assert not target.exists()


def test_restore_recreates_missing_parent(home: Path, trash: Path, tmp_path: Path) -> None:
    target = write(tmp_path / "project" / "src" / "main.py", "print()")
    files.delete_path(str(tmp_path / "project" / "src" / "main.py"))
    (tmp_path / "project" / "src").rmdir()
    files.restore_from_trash(str(target))
    assert target.read_text() == "print()"


def test_restore_unknown_item(home: Path, trash: Path) -> None:
    with pytest.raises(ToolError, match=r"nothing in the trash matches 'nothing\.txt'"):
        files.restore_from_trash("nothing.txt")


def test_delete_symlink_trashes_the_link_only(home: Path, trash: Path, tmp_path: Path) -> None:
    real = write(tmp_path / "real.txt", "keep me")
    link = tmp_path / "shortcut"
    link.symlink_to(real)
    files.delete_path(str(link))
    assert real.read_text() == "keep me"
    assert not os.path.lexists(link)
    assert (trash / "files" / "shortcut").is_symlink()


def test_delete_refuses_dangerous_and_missing_paths(
    home: Path, trash: Path, tmp_path: Path
) -> None:
    with pytest.raises(ToolError, match="does not exist, so there is nothing to delete"):
        files.delete_path("~/ghost")
    with pytest.raises(ToolError, match="refusing to delete"):
        files.delete_path("~")
    with pytest.raises(ToolError, match="refusing to delete"):
        files.delete_path("/")
    write(tmp_path / "x", "x")
    files.delete_path(str(tmp_path / "x"))
    with pytest.raises(ToolError, match="holds the trash"):
        files.delete_path(str(trash))
    with pytest.raises(ToolError, match="already in the trash"):
        files.delete_path(str(trash / "files" / "x"))
    assert home.exists()


def test_list_trash_filter_limit_and_orphans(home: Path, trash: Path, tmp_path: Path) -> None:
    for name in ("a.pdf", "b.txt", "c.pdf"):
        files.delete_path(str(write(tmp_path / name, name)))
    (trash / "info" / "orphan.trashinfo").write_text("[Trash Info]\nPath=/x/orphan\n")
    assert files.list_trash()["count"] == 3
    pdfs = files.list_trash(name=".PDF")
    assert sorted(i["name"] for i in pdfs["items"]) == ["a.pdf", "c.pdf"]
    limited = files.list_trash(limit=1)
    assert len(limited["items"]) == 1 and limited["truncated"] is True


# --- disk_usage ---------------------------------------------------------------------------------


def test_disk_usage_of_a_folder(home: Path, tmp_path: Path) -> None:
    root = tmp_path / "measure"
    write(root / "big.bin", b"x" * 50_000)
    write(root / "videos" / "a.mp4", b"x" * 30_000)
    write(root / "videos" / "sub" / "b.mp4", b"x" * 10_000)
    write(root / "small.txt", b"x" * 1_000)
    os.link(root / "videos" / "a.mp4", root / "videos" / "hardlink.mp4")
    (root / "empty").mkdir()
    result = files.disk_usage(str(root), top=2)
    assert result["size"] == 91_000
    assert result["files"] == 5 and result["dirs"] == 3
    assert result["items"] == 4
    assert [c["name"] for c in result["largest"]] == ["big.bin", "videos"]
    assert result["largest"][1] == {
        "name": "videos",
        "type": "dir",
        "size": 40_000,
        "size_human": "40 KB",
        "percent": round(100 * 40_000 / 91_000, 1),
    }
    single = files.disk_usage(str(root / "small.txt"))
    assert single == {**single, "type": "file", "size": 1000}


def test_disk_usage_of_mounts() -> None:
    result = files.disk_usage()
    assert result["mounts"], "expected at least one mounted disk"
    for mount in result["mounts"]:
        assert mount["total"] > 0 and 0 <= mount["used"] <= mount["total"]
        assert mount["free"] <= mount["total"]
        assert mount["total_human"].split()[-1] in ("B", "KB", "MB", "GB", "TB", "PB")
        assert not mount["mountpoint"].startswith(("/proc", "/sys"))
    json.dumps(result)


def test_disk_usage_missing_path(home: Path) -> None:
    with pytest.raises(ToolError, match="does not exist"):
        files.disk_usage("~/nothing-here")
