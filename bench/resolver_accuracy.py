"""Whether the planner acts on what the person named: the right target, no over-reach.

    python bench/resolver_accuracy.py [--model PATH] [--limit N] [--threads 1] [--out FILE]

Each item of `bench/data/resolver_dev.jsonl` is planned in a fresh home holding the files
of `bench/data/resolver_home.json` (with their sizes and ages), the processes it spawns
running, and the turn before it run for real (a listing, a search, a delete the undo
journal records). Two variants plan on the same loaded model in the same process:

  today     the planner as it was before the resolver (`resolve_names=False`), no undo route
  resolver  the planner with the resolver and the session's undo route

Scores per class: right call (the tool expected on the path or pid expected, the undo, or
no call that takes the whole folder), right target (the path or pid, whatever the tool),
asked which (the expected thing among the candidates offered), and
over-reach (a moving or removing call on a folder that holds what was named, a re-planned
delete for an undo, a kill by name that hits more than the process named). Nothing planned
is run.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from llmos_shell.calls import ToolCall  # noqa: E402
from llmos_shell.planning.planner import Planner, Turn  # noqa: E402
from llmos_shell.registry import Registry  # noqa: E402
from llmos_shell.registry.kinds import Kind  # noqa: E402
from llmos_shell.safety.footprint import moves_or_removes  # noqa: E402
from llmos_shell.safety.undo import UndoJournal  # noqa: E402
from llmos_shell.session import Approval, Conversation, Session  # noqa: E402


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _make_home(root: Path, files: dict[str, list[int]]) -> Path:
    home = root / "home"
    now = time.time()
    for rel, (size, age_days) in sorted(files.items()):
        path = home / rel
        if rel.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as handle:
                handle.truncate(size)
        os.utime(path, (now - age_days * 86400, now - age_days * 86400))
    return home


def _spawn(spec: list[list[str]], port: int) -> list[subprocess.Popen[bytes]]:
    procs = []
    for argv in spec:
        argv = [sys.executable if a == "@python" else a.replace("{port}", str(port)) for a in argv]
        procs.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    if any("http.server" in a for argv in spec for a in argv):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
    return procs


def _yes(call: ToolCall, tool: Any, decision: Any) -> Approval:
    return Approval(True, by="bench")


def _history(item: dict[str, Any], registry: Registry, journal: UndoJournal) -> Turn | None:
    """The turn before, run for real so its rows (and the undo journal) are real."""
    spec = item.get("history")
    if not spec:
        return None
    call = ToolCall(spec["call"]["tool"], spec["call"]["arguments"])
    runner = Session(None, registry, confirmer=_yes, undo=journal)
    step = runner.run_call(call, request=spec["request"])
    data = step.result.data if step.result is not None and step.result.ok else None
    return Turn(spec["request"], call, None, (data,) if data is not None else (), "ok")


def _target(call: ToolCall, registry: Registry, home: Path) -> tuple[Any, str | None]:
    """(the value of the call's first path or pid argument, that kind)."""
    tool = registry.get(call.tool)
    for name, kind in tool.kinds.items():
        if kind is Kind.PATH and isinstance(call.arguments.get(name), str):
            value = os.path.expanduser(call.arguments[name])
            if not os.path.isabs(value):
                value = os.path.join(str(home), value)
            return os.path.normpath(value), "path"
        if kind is Kind.PID and call.arguments.get(name) is not None:
            return call.arguments[name], "pid"
    return None, None


def score_item(
    item: dict[str, Any], action: Any, registry: Registry, home: Path, pids: list[int]
) -> dict[str, Any]:
    """right / asked / over-reach for one planned action."""
    expect = item["expect"]
    expand = lambda p: os.path.normpath(p.replace("~", str(home), 1))  # noqa: E731
    call = action.call
    wanted = {expand(p) for p in [expect.get("target"), *expect.get("also", ())] if p}
    candidates = {
        (expand(c.value) if isinstance(c.value, str) else c.value)
        for found in getattr(action, "candidates", {}).values()
        for c in found
    }
    known = call is not None and call.tool in registry
    value, kind = _target(call, registry, home) if known else (None, None)
    right = asked = over = False
    tool_ok = "tool" not in expect or (call is not None and call.tool == expect["tool"])
    removing = (
        call is not None and call.tool in registry and moves_or_removes(registry.get(call.tool))
    )
    if "target" in expect:
        right = value in wanted and not candidates
        asked = bool(wanted & candidates)
        if removing and isinstance(value, str) and os.path.isdir(value) and not candidates:
            over = any(w != value and w.startswith(value + os.sep) for w in wanted)
    elif "pid_of" in expect:
        pid = pids[expect["pid_of"]]
        right = value == pid and not candidates
        asked = pid in candidates
        tool = registry.get(call.tool) if known else None
        if tool is not None and tool.risk.value == "destructive" and kind != "pid":
            over = any(call.arguments.get(n) for n, k in tool.kinds.items() if k is Kind.PROCESS)
    elif "undo" in expect:
        right = call is not None and call.tool == "undo"
        over = removing
    elif "refuse" in expect:
        folder = expand(expect["refuse"])
        over = removing and value == folder and not candidates  # candidates: the shell asks
        right = not over
        asked = bool(candidates)
    return {
        "id": item["id"],
        "class": item["class"],
        "right": right and tool_ok,
        "target": right,
        "asked": asked,
        "over_reach": over,
        "call": call.to_json() if call is not None else None,
        "answer": action.answer,
        "notes": list(getattr(action, "notes", ())),
    }


def run_item(
    item: dict[str, Any], planners: dict[str, Planner], registry: Registry, files: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Plan one item with each variant in its own fresh home."""
    out = {}
    for variant, planner in planners.items():
        with tempfile.TemporaryDirectory() as scratch:
            home = _make_home(Path(scratch), {**files, **item.get("files_extra", {})})
            os.environ["HOME"] = str(home)
            os.chdir(home)
            port = _free_port()
            procs = _spawn(item.get("spawn", []), port)
            try:
                journal = UndoJournal(Path(scratch) / "undo.jsonl")
                conversation = Conversation()
                turn = _history(item, registry, journal)
                if turn is not None:
                    conversation.turns = [turn]
                session = Session(
                    planner,
                    registry,
                    conversation=conversation,
                    undo=journal if variant == "resolver" else None,
                )
                session.folder = str(home)
                request = item["request"].replace("{port}", str(port))
                started = time.monotonic()
                action = session.plan(request)
                result = score_item(item, action, registry, home, [p.pid for p in procs])
                result["seconds"] = round(time.monotonic() - started, 2)
                out[variant] = result
            finally:
                for proc in procs:
                    proc.kill()
                    proc.wait()
    return out


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Shares of right, asked and over-reach, over all items and per class."""

    def shares(subset: list[dict[str, Any]]) -> dict[str, Any]:
        n = len(subset) or 1
        return {
            "items": len(subset),
            "right": round(sum(r["right"] for r in subset) / n, 3),
            "target": round(sum(r["target"] for r in subset) / n, 3),
            "asked": sum(r["asked"] for r in subset),
            "over_reach": sum(r["over_reach"] for r in subset),
        }

    classes = Counter(r["class"] for r in rows)
    return {
        "all": shares(rows),
        **{c: shares([r for r in rows if r["class"] == c]) for c in classes},
    }


def main(argv: list[str] | None = None) -> int:
    """Run both variants and print a table per class."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="GGUF file (default: the embedded model)")
    parser.add_argument("--data", default=str(HERE / "data" / "resolver_dev.jsonl"))
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--only", help="run only items whose id starts with one of these (a,b)")
    parser.add_argument("--combine", nargs="+", help="print the table of earlier --out files")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--shortlist", type=int, default=5)
    parser.add_argument("--out", help="write per-item results as JSON here")
    args = parser.parse_args(argv)
    if args.combine:
        saved: dict[str, list[dict[str, Any]]] = {"today": [], "resolver": []}
        for name in args.combine:
            for variant, found in json.loads(Path(name).read_text())["rows"].items():
                saved[variant] += found
        print_table({variant: summarize(r) for variant, r in saved.items()})
        return 0
    from llmos_shell.backends.llama_cpp import LlamaCppBackend
    from llmos_shell.models.locate import resolve_model
    from llmos_shell.planning.shortlist import default_shortlist
    from llmos_shell.registry import discover

    items = [json.loads(line) for line in Path(args.data).read_text().splitlines() if line.strip()]
    if args.only:
        items = [i for i in items if i["id"].startswith(tuple(args.only.split(",")))]
    if args.limit:
        items = items[: args.limit]
    files = json.loads((HERE / "data" / "resolver_home.json").read_text())
    scratch = tempfile.mkdtemp()
    registry = discover(Path(scratch) / "no-plugins")
    backend = LlamaCppBackend(
        resolve_model(args.model), threads=args.threads, cache_dir=Path(scratch)
    )
    shortlist = default_shortlist(registry, size=args.shortlist)
    planners = {
        variant: Planner(
            backend,
            registry,
            shortlist=shortlist,
            static_examples=False,
            resolve_names=variant == "resolver",
        )
        for variant in ("today", "resolver")
    }
    for planner in planners.values():
        planner.warm_up()  # the backend evaluates the static prefix before any request
    rows: dict[str, list[dict[str, Any]]] = {"today": [], "resolver": []}
    for item in items:
        for variant, row in run_item(item, planners, registry, files).items():
            rows[variant].append(row)
            mark = (
                "ok"
                if row["right"]
                else "asked"
                if row["asked"]
                else "OVER"
                if row["over_reach"]
                else "--"
            )
            print(
                f"{variant:8} {item['id']:14} {mark:5} {json.dumps(row['call'])[:110]}", flush=True
            )
        if args.out:  # after every item, so a run cut short keeps what it measured
            Path(args.out).write_text(json.dumps({"rows": rows}, indent=1))
    summary = {variant: summarize(r) for variant, r in rows.items()}
    print_table(summary)
    if args.out:
        Path(args.out).write_text(json.dumps({"summary": summary, "rows": rows}, indent=1))
    return 0


def print_table(summary: dict[str, Any]) -> None:
    """One line per class: today's planner, then the resolver's."""
    head = "call target asked over"
    print(f"\n{'class':10} {'items':>5}  today: {head}  resolver: {head}")
    for cls in summary["today"]:
        t, r = summary["today"][cls], summary["resolver"][cls]
        print(
            f"{cls:10} {t['items']:5}  {t['right']:11.0%} {t['target']:6.0%} {t['asked']:5} {t['over_reach']:4}"
            f"  {r['right']:14.0%} {r['target']:6.0%} {r['asked']:5} {r['over_reach']:4}"
        )


if __name__ == "__main__":
    raise SystemExit(main())
