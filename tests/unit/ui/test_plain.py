"""Output for a pipe: plain lines, one value a line for a list, the rest on stderr."""

from __future__ import annotations

import io

from llmos_shell.calls import Decision, Risk, ToolCall, ToolResult, Verdict
from llmos_shell.ui.plain import PlainEvents, plain_lines


def test_a_search_is_one_path_a_line() -> None:
    data = {
        "root": "/home/me/Documents",
        "matches": [
            {"path": "/home/me/Documents/a b.pdf", "size": 10, "size_human": "10 B"},
            {"path": "/home/me/Documents/c.pdf", "size": 20, "size_human": "20 B"},
        ],
        "count": 2,
        "truncated": False,
    }
    assert plain_lines(data) == ["/home/me/Documents/a b.pdf", "/home/me/Documents/c.pdf"]


def test_rows_without_a_name_are_tab_separated_and_records_are_key_value() -> None:
    assert plain_lines([{"cpu": 3.5, "load": 1}]) == ["3.5\t1"]
    assert plain_lines(["x", 2, True]) == ["x", "2", "yes"]
    record = {"total": 100, "total_human": "100 B", "free_percent": 40.0}
    assert plain_lines(record) == ["total: 100 B", "free_percent: 40.0"]
    assert plain_lines({"path": "/a", "content": "one\ntwo\n"}) == ["one", "two"]
    assert plain_lines("text\nlines\n") == ["text", "lines"]


def test_events_keep_stdout_for_the_values_and_say_the_rest_on_stderr() -> None:
    out, err = io.StringIO(), io.StringIO()
    events = PlainEvents(out, err)
    call = ToolCall("find_files", {"name": "*.pdf"})
    events.planned(call, Decision(Verdict.ALLOW, Risk.READ_ONLY, "only reads"))
    events.result(ToolResult(call, ok=True, data={"matches": [{"path": "/d/a.pdf"}]}))
    events.answer_text("1 match")
    events.finish()
    assert out.getvalue() == "/d/a.pdf\n"
    assert 'find_files(name="*.pdf")' in err.getvalue() and "1 match" in err.getvalue()
    assert "\x1b[" not in out.getvalue() + err.getvalue()


def test_an_answer_with_no_result_goes_to_stdout() -> None:
    out, err = io.StringIO(), io.StringIO()
    events = PlainEvents(out, err)
    events.answer_text("The disk ")
    events.answer_text("filled up.")
    events.finish()
    assert out.getvalue() == "The disk filled up.\n" and err.getvalue() == ""
