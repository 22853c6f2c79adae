"""How well requests are planned on tools the planner was never tuned on.

    python bench/unseen_accuracy.py [--model PATH] [--limit N] [--variants bare,llmos]
                                    [--threads N] [--via inline|mcp] [--out FILE]

Each item of `bench/data/unseen_dev.jsonl` offers 1 to 5 tools from `unseen_tools.json`
(OpenAI-style specs) and says what the right first step is: a call of one of them, or a
plain answer where none fits. Both variants run on the same loaded model, in this process:

  bare   grammar only: the tools' names and descriptions, the action schema of the tools
         as given, the model's arguments as written
  llmos  what `llmos plan --json -` does with the same tools

`--via mcp` serves the same specs from a real MCP server process (bench/mcp_spec_server.py)
and plans on the tools llmos reads from it, as it reads any `[mcp_servers.NAME]` table; the
figures should be those of `--via inline`, where the specs are given as on `plan --json -`.

Scores (see bench/unseen_scoring.py): right step (the right tool, or no call where none
fits), right call (tool and arguments), no call where none fits, and seconds per item.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from unseen_scoring import score  # noqa: E402

from llmos_shell.errors import LlmosError  # noqa: E402
from llmos_shell.planning.planner import Planner, Transcript  # noqa: E402
from llmos_shell.registry import Registry  # noqa: E402
from llmos_shell.registry.specs import tools_from_specs  # noqa: E402


def load(data_dir: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The specs by name and the items."""
    specs = {
        s["function"]["name"]: s for s in json.loads((data_dir / "unseen_tools.json").read_text())
    }
    items = [
        json.loads(line)
        for line in (data_dir / "unseen_dev.jsonl").read_text().splitlines()
        if line.strip()
    ]
    return specs, items


class McpTools:
    """The specs as a real MCP server serves them, read through llmos's MCP tool source."""

    def __init__(self, data_dir: Path) -> None:
        from llmos_shell.config.settings import McpServer
        from llmos_shell.registry.mcp_source import McpSource

        server = McpServer(
            command=sys.executable,
            args=[str(HERE / "mcp_spec_server.py"), str(data_dir / "unseen_tools.json")],
            startup_timeout_sec=60,
        )
        self.source = McpSource("bench", server)
        self.tools = {t.name: t for t in self.source.list_tools()}

    def registry(self, specs: list[dict[str, Any]]) -> Registry:
        """A registry of the served tools named in `specs`, in their order."""
        registry = Registry()
        for spec in specs:
            registry.add(self.tools[spec["function"]["name"]], self.source.name)
        return registry


def make_planner(
    variant: str, app: Any, specs: list[dict[str, Any]], via: McpTools | None = None
) -> Planner:
    """The planner of one variant for one item's tools (given inline, or served over MCP)."""
    registry = tools_from_specs(specs) if via is None else via.registry(specs)
    if variant == "bare":
        planner = Planner(
            app.backend, registry, static_examples=False, conversations=False, tidy_arguments=False
        )
        planner.warm_up()
        return planner
    if variant == "llmos":
        return app.planner_for(registry)
    raise SystemExit(f"unknown variant {variant!r}; use bare or llmos")


def run(
    variant: str,
    app: Any,
    specs: dict[str, Any],
    items: list[dict[str, Any]],
    via: McpTools | None = None,
) -> dict[str, Any]:
    """Plan every item's first step under one variant; nothing is executed."""
    outcomes = []
    for item in items:
        offered = [specs[name] for name in item["tools"]]
        started = time.perf_counter()
        try:
            planner = make_planner(variant, app, offered, via)
            action = planner.next_action(Transcript(item["request"]))
            call = action.call.to_json() if action.call else None
            got: dict[str, Any] = call or {"answer": action.answer}
        except LlmosError as exc:
            call, got = {"tool": "<error>", "arguments": {}}, {"error": str(exc)}
        seconds = time.perf_counter() - started
        expected = item["expect"]
        spec_map = {name: specs[name] for name in item["tools"]}
        right_tool, right_call = score(call, expected, spec_map)
        outcomes.append(
            {
                "id": item["id"],
                "right_tool": right_tool,
                "right_call": right_call,
                "got": got,
                "seconds": seconds,
                "tags": item.get("tags", []),
            }
        )
        print("+" if right_call else ("~" if right_tool else "-"), end="", flush=True)
    print(flush=True)
    return summarize(items, outcomes)


def _share(flags: list[bool]) -> float:
    return sum(flags) / len(flags) if flags else 0.0


def summarize(items: list[dict[str, Any]], outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    """The scores of one variant, overall and by kind of item."""
    fit = [o for i, o in zip(items, outcomes, strict=True) if i["expect"]["tool"]]
    no_fit = [o for i, o in zip(items, outcomes, strict=True) if not i["expect"]["tool"]]
    single = [
        o
        for i, o in zip(items, outcomes, strict=True)
        if i["expect"]["tool"] and len(i["tools"]) == 1
    ]
    multi = [
        o
        for i, o in zip(items, outcomes, strict=True)
        if i["expect"]["tool"] and len(i["tools"]) > 1
    ]
    return {
        "items": len(items),
        "right_tool": _share([o["right_tool"] for o in outcomes]),
        "right_call": _share([o["right_call"] for o in outcomes]),
        "no_call_where_none_fits": _share([o["right_tool"] for o in no_fit]),
        "right_call_single": _share([o["right_call"] for o in single]),
        "right_call_multi": _share([o["right_call"] for o in multi]),
        "right_tool_where_one_fits": _share([o["right_tool"] for o in fit]),
        "seconds_per_item": sum(o["seconds"] for o in outcomes) / max(len(outcomes), 1),
        "outcomes": outcomes,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the variants and print one line each."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="GGUF file (default: the embedded model)")
    parser.add_argument("--data", type=Path, default=HERE / "data")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument(
        "--split",
        choices=("all", "held-out", "calibration"),
        default="all",
        help="held-out: the even-numbered items, which calibrate_relevance.py does not fit on",
    )
    parser.add_argument("--variants", default="bare,llmos")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--via",
        choices=("inline", "mcp"),
        default="inline",
        help="mcp: serve the specs from a real MCP server process and plan on what llmos reads",
    )
    parser.add_argument("--out", type=Path, help="write per-item results as JSON here")
    args = parser.parse_args(argv)

    from llmos_shell.app import App
    from llmos_shell.config import Paths, load_config

    specs, items = load(args.data)
    if args.split != "all":
        parity = 0 if args.split == "held-out" else 1
        items = [i for i in items if int(i["id"][1:]) % 2 == parity]
    if args.limit:
        items = items[: args.limit]
    results: dict[str, Any] = {"items": len(items), "variants": {}}
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        paths = Paths(root / "config", root / "data", root / "state", root / "cache")
        overrides: dict[str, Any] = {"model": args.model, "threads": args.threads}
        app = App(config=load_config(paths, overrides=overrides))
        results["model"] = app.backend.describe()
        results["via"] = args.via
        via = McpTools(args.data) if args.via == "mcp" else None
        for variant in args.variants.split(","):
            summary = run(variant, app, specs, items, via)
            results["variants"][variant] = summary
            print(
                f"{variant:6} ({args.via}) right step {summary['right_tool']:6.1%}  "
                f"right call {summary['right_call']:6.1%}  "
                f"(one tool {summary['right_call_single']:.1%}, several {summary['right_call_multi']:.1%}, "
                f"no call where none fits {summary['no_call_where_none_fits']:.1%})  "
                f"{summary['seconds_per_item']:.2f} s/item",
                flush=True,
            )
        app.close()
        if via is not None:
            via.source.close()
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
