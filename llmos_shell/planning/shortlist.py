"""Per-request help for a small model: a shortlist of tools and the most similar examples.

Every tool's description and example requests are embedded once. For a request, the tools
whose examples are closest are offered (the grammar allows only those and the answer), and
the closest examples, tool calls and plain answers alike, are shown as earlier turns. All of
it goes after the static prompt, so the cached prefix stays the same for every request.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmos_shell.calls import Risk
from llmos_shell.planning.relevance import (
    RelevanceModel,
    asks_general_knowledge,
    content_words,
    lexical_overlap,
    shipped_model,
)
from llmos_shell.planning.synthesis import synthesized_examples
from llmos_shell.registry import Registry, Tool

if TYPE_CHECKING:
    from llmos_shell.retrieval.embeddings import Embedder


@dataclass(frozen=True)
class PlanExample:
    """A request and what a right first step is: a call (`tool` set) or a plain answer."""

    request: str
    tool: str | None = None
    arguments: dict[str, Any] = field(default_factory=dict)
    answer: str | None = None
    source: str = "tool"
    shown: bool = True  # False: only for matching requests, never shown as a turn

    def reply(self) -> str:
        """The assistant turn this example teaches, as JSON."""
        if self.tool is None:
            return json.dumps({"answer": self.answer or ""})
        return json.dumps({"tool": self.tool, "arguments": self.arguments})


@dataclass(frozen=True)
class Selection:
    """What one request is offered: tools (best first), whether a plain answer is, and
    examples (most similar last)."""

    tools: tuple[Tool, ...]
    examples: tuple[PlanExample, ...]
    scores: dict[str, float] = field(default_factory=dict)
    allow_answer: bool = True
    features: dict[str, float] = field(default_factory=dict)
    fit: float | None = None  # calibrated probability that an offered tool fits
    second_look: bool = False  # below the answer line, yet a tool is as close as to call
    closest: tuple[str, ...] = ()  # tools close enough to name in an "I can't", best first


def examples_from_registry(registry: Registry) -> list[PlanExample]:
    """Every example request the tools declare, as plan examples; a tool that declares none
    gets examples made from its name, purpose and schema, used for matching only."""
    out: list[PlanExample] = []
    for item in registry:
        if item.examples:
            out += [
                PlanExample(example.request, item.name, dict(example.arguments), source="tool")
                for example in item.examples
            ]
            continue
        for request, arguments in synthesized_examples(item):
            # Only for matching: shown as turns, a small model copies their sample values.
            out.append(
                PlanExample(request, item.name, arguments, source="synthesized", shown=False)
            )
    return out


def answer_examples(items: Iterable[dict[str, Any]]) -> list[PlanExample]:
    """Plan examples for requests no tool serves, from `{"request", "answer"}` records."""
    return [
        PlanExample(item["request"], None, {}, answer=item["answer"], source="answer")
        for item in items
    ]


def shipped_examples(text: str) -> list[PlanExample]:
    """Plan examples for the built-in tools from JSON Lines `{"request", "tool", "arguments"}`."""
    return [
        PlanExample(item["request"], item["tool"], dict(item.get("arguments") or {}), source="pool")
        for item in map(json.loads, text.splitlines())
        if item
    ]


_NUMBER = re.compile(r"\d+")
_FILE_NAME = re.compile(r"[\w-]+\.[A-Za-z0-9]{1,5}")
_FILE_END = re.compile(r"\.\w{1,5}$")


def delexicalize(text: str) -> str:
    """The request with its concrete values replaced by their kind ("file", "folder", "5").

    Similar requests then match by what they ask, not by a shared file name: "what's inside
    config.yaml" should look like "show me notes.txt", not like "copy config.yaml".
    """
    words = []
    for word in text.split():
        core = word.strip("'\",.?!()")
        if _NUMBER.fullmatch(core):
            words.append("5")
        elif "/" in core or core.startswith("~"):
            words.append("file" if _FILE_END.search(core) else "folder")
        elif _FILE_NAME.fullmatch(core) and not re.fullmatch(r"\d+\.\d+", core):
            words.append("file")
        else:
            words.append(word)
    return " ".join(words)


STRONG_EXTRA = 0.75  # similarity at which a person's example stands alone


class ToolShortlist:
    """Chooses the tools and examples for a request by embedding similarity."""

    def __init__(
        self,
        registry: Registry,
        embedder: Embedder,
        *,
        pool: Sequence[PlanExample] = (),
        size: int = 5,
        examples: int = 4,
        margin: float = 0.12,
        relevance: RelevanceModel | None = None,
    ) -> None:
        self.registry = registry
        self.embedder = embedder
        self.size = size
        self.examples = examples
        self.margin = margin
        self.relevance = relevance
        known = [e for e in pool if e.tool is None or e.tool in registry]
        self.pool: list[PlanExample] = [*examples_from_registry(registry), *known]
        self._tools = list(registry)
        self._pool_vectors = embedder.embed([delexicalize(e.request) for e in self.pool])
        self._description_vectors = embedder.embed(
            [f"{item.name.replace('_', ' ')}: {item.description}" for item in self._tools]
        )
        self._tool_words = {item.name: content_words(_tool_text(item)) for item in self._tools}

    def select(
        self, request: str, context: str = "", extra_examples: Sequence[PlanExample] = ()
    ) -> Selection:
        """The options and examples for `request`; `context` (an earlier turn) counts less.

        Tools are ranked by the mean similarity of their three closest examples; a plain
        answer by its single closest answer example (those cover unrelated topics). Every
        option within `margin` of the best is offered, up to `size` tools: a clear request
        gets one tool, an unclear one a few, and the model chooses among them.
        `extra_examples` (the person's own episodes and corrections) join the pool ahead of
        the built-in ones: a tool scores at least its closest extra example, and the extras
        of offered tools are shown nearest the request.
        """
        import numpy as np

        query = self.embedder.embed([delexicalize(request)])[0]
        if context:
            # A follow-up ("now the same for downloads") borrows the topic of the turn before.
            query = query + 0.5 * self.embedder.embed([delexicalize(context)])[0]
            query = query / max(float(np.linalg.norm(query)), 1e-12)
        pool_sims = self._pool_vectors @ query
        desc_sims = self._description_vectors @ query
        by_tool: dict[str, list[float]] = {item.name: [] for item in self._tools}
        answer_score = -1.0
        for index, example in enumerate(self.pool):
            if example.tool is None:
                answer_score = max(answer_score, float(pool_sims[index]))
            else:
                by_tool[example.tool].append(float(pool_sims[index]))
        scores: dict[str, float] = {}
        for index, item in enumerate(self._tools):
            closest = sorted(by_tool[item.name], reverse=True)[:3]
            description = float(desc_sims[index]) - 0.1
            mean = sum(closest) / len(closest) if closest else description
            scores[item.name] = max(mean, description)
        # The person's examples (episodes, corrections) add their tools: a tool scores at
        # least its closest such example, and stays on offer whatever the margin says.
        extras = [e for e in extra_examples if e.tool is None or e.tool in self.registry]
        extra_sims: list[float] = []
        theirs: set[str] = set()
        if extras:
            vectors = self.embedder.embed([delexicalize(e.request) for e in extras])
            extra_sims = [float(sim) for sim in vectors @ query]
            for example, sim in zip(extras, extra_sims, strict=False):
                if example.tool is not None:
                    scores[example.tool] = max(scores[example.tool], sim)
                    theirs.add(example.tool)
        ranked = sorted(self._tools, key=lambda item: -scores[item.name])
        features = self._features(request, ranked, scores, answer_score, desc_sims)
        # A close example of the person's own is the one to follow: a small model copies
        # it reliably only when no other example competes with it.
        strong = any(sim >= STRONG_EXTRA for sim in extra_sims)
        room = 0 if strong else max(self.examples - len(extras), 1)
        if self.size <= 0:
            examples = self._examples(pool_sims, request, None, True, room)
            mine_all = _nearest_last(extras, extra_sims)
            return Selection(
                tuple(ranked),
                examples + mine_all,
                scores,
                features=features,
                closest=tuple(item.name for item in ranked),
            )
        best_tool = scores[ranked[0].name] if ranked else -1.0
        model = self.relevance if ranked else None
        second_look = False
        fit = model.probability(features) if model is not None else None
        if model is None or fit is None:
            floor = max(best_tool, answer_score) - self.margin
            on_offer = {name for name, score in scores.items() if score >= floor} | theirs
            offered = tuple(item for item in ranked[: self.size] if item.name in on_offer)
            allow_answer = answer_score >= floor or not offered
        else:
            # Whether to call at all is the calibrated model's; which tools, the margin's.
            floor = best_tool - self.margin
            on_offer = {name for name, score in scores.items() if score >= floor} | theirs
            offered = tuple(item for item in ranked[: self.size] if item.name in on_offer)
            second_look = fit < model.answer_only_below and model.second_look(features, request)
            if fit < model.answer_only_below and not strong and not second_look:
                offered = ()
            allow_answer = not offered or (
                fit < model.call_only_above and not strong and not second_look
            )
        named, exact = _named_tool(request, self._tools)
        if named is not None and named not in offered:
            # "forget where my thesis is": the request opens with the tool's own name.
            offered = (named, *offered[: max(self.size - 1, 0)])
        if named is not None and exact:
            allow_answer = False
        if offered and asks_general_knowledge(request):
            # A question ("what is a pid?") never asks for a change: only tools that read
            # stay on offer, and without one it is answered.
            offered = tuple(item for item in offered if item.risk is Risk.READ_ONLY)
            allow_answer = allow_answer or not offered
        names = {item.name for item in offered}
        # The person's examples speak for their tools; the built-in ones show the others.
        others = names - {e.tool for e in extras} or names
        examples = self._examples(pool_sims, request, others, allow_answer, room)
        fitting = [
            (e, sim)
            for e, sim in zip(extras, extra_sims, strict=False)
            if (e.tool is None and allow_answer) or e.tool in names
        ]
        mine = _nearest_last([e for e, _ in fitting], [sim for _, sim in fitting])
        close = tuple(
            item.name
            for item in ranked
            if model is None or model.closest_worth_naming(scores[item.name])
        )
        return Selection(
            offered,
            examples + mine,
            scores,
            allow_answer,
            features,
            fit,
            bool(second_look),
            close,
        )

    def _features(
        self,
        request: str,
        ranked: list[Tool],
        scores: dict[str, float],
        answer_score: float,
        desc_sims: Any,
    ) -> dict[str, float]:
        """How the request relates to the best tool and to a plain answer (see relevance)."""
        if not ranked:
            return {
                "tool": -1.0,
                "answer": answer_score,
                "gap": -1.0 - answer_score,
                "description": -1.0,
                "lexical": 0.0,
            }
        best = ranked[0]
        tool = scores[best.name]
        return {
            "tool": tool,
            "answer": answer_score,
            "gap": tool - answer_score,
            "description": float(max(desc_sims)),
            "lexical": lexical_overlap(request, self._tool_words[best.name]),
        }

    def _examples(
        self,
        sims: Any,
        request: str,
        names: set[str] | None,
        allow_answer: bool,
        count: int | None = None,
    ) -> tuple[PlanExample, ...]:
        """The closest examples of the offered options: first the closest of each option,
        then the closest of any; most similar last, nearest the request."""
        import numpy as np

        order = [int(i) for i in np.argsort(-sims, kind="stable")]
        usable = [
            i
            for i in order
            if self.pool[i].shown
            and (
                (self.pool[i].tool is None and allow_answer)
                or (self.pool[i].tool is not None and (names is None or self.pool[i].tool in names))
            )
        ]
        usable = [
            i for i in usable if self.pool[i].request.strip().lower() != request.strip().lower()
        ]
        count = self.examples if count is None else count
        if count <= 0:
            return ()
        chosen: list[int] = []
        seen: set[str | None] = set()
        for i in usable:  # the closest example of each option
            option = self.pool[i].tool
            if option not in seen:
                seen.add(option)
                chosen.append(i)
        chosen = chosen[:count]
        for i in usable:
            if len(chosen) >= count:
                break
            if i not in chosen:
                chosen.append(i)
        chosen.sort(key=lambda i: float(sims[i]))
        return tuple(self.pool[i] for i in chosen)


def _tool_text(item: Tool) -> str:
    """Everything a tool says about itself: name, purpose, arguments and their values."""
    parts = [item.name.replace("_", " "), item.description]
    for name, spec in (item.parameters_schema().get("properties") or {}).items():
        parts.append(name.replace("_", " "))
        if isinstance(spec, dict):
            parts.append(str(spec.get("description") or ""))
            parts.extend(str(v) for v in spec.get("enum") or [])
    return " ".join(parts)


def _nearest_last(
    examples: Sequence[PlanExample], sims: Sequence[float]
) -> tuple[PlanExample, ...]:
    """The examples ordered so that the most similar one stands nearest the request."""
    order = sorted(range(len(examples)), key=lambda i: sims[i])
    return tuple(examples[i] for i in order)


def default_shortlist(
    registry: Registry,
    *,
    size: int = 5,
    examples: int = 4,
    cache_dir: Path | None = None,
) -> ToolShortlist:
    """The shortlist llmos uses: MiniLM embeddings, the tools' examples and answer examples."""
    from llmos_shell.prompts import load_prompt
    from llmos_shell.retrieval.embeddings import CachedEmbedder, PreloadingEmbedder

    # The model loads beside the LLM; the cached vectors below do not wait for it.
    embedder = CachedEmbedder(PreloadingEmbedder(), cache_dir)
    pool = [
        *shipped_examples(load_prompt("plan_examples.jsonl")),
        *answer_examples(json.loads(load_prompt("answer_examples.json"))),
    ]
    return ToolShortlist(
        registry, embedder, pool=pool, size=size, examples=examples, relevance=shipped_model()
    )


def _named_tool(request: str, tools: Sequence[Tool]) -> tuple[Tool | None, bool]:
    """The tool a request opens with the name of, and whether the name is the tool's whole
    name ("forget ...": `forget`) rather than its first word ("kill ...": `kill_process`);
    None when the first word names no tool, or more than one ("list ...")."""
    first = request.strip().split(maxsplit=1)[0].lower().strip(",.:;!?") if request.strip() else ""
    if not first:
        return None, False
    for item in tools:
        if item.name == first:
            return item, True
    partial = [item for item in tools if item.name.split("_", 1)[0] == first]
    return (partial[0], False) if len(partial) == 1 else (None, False)
