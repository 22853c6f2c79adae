"""Call a tool or answer: a calibrated probability that one of the offered tools fits.

A small model shown tools without examples leans to answering; shown examples, it leans to
calling. So the choice is not left to it alone. Five numbers describe how a request relates
to the tools (`FEATURES`): the best tool's example similarity, the best plain-answer
example's, their difference, the best description similarity, and how many of the
request's words the best tool's own text uses. A logistic model over them, fitted by
`bench/calibrate_relevance.py` on labelled requests (built-in tools and tools never seen in
tuning) and stored in `prompts/relevance.json`, gives the probability that some offered tool
fits. Below the low threshold only an answer is offered; above the high one only tools;
between them the model chooses. (Calibrated with one threshold, as now, the band is empty:
a small model left to choose mostly answers.)

A request the model would be left to answer can still be one a tool serves in words its
examples do not use ("add a line 'call mom' to todo.txt"): answered, a small model refuses
("I can't make phone calls"). So there is a second look: where the best tool's own example
similarity reaches `second_look_above` (above every calibration request that no tool fits
and that is not a question of general knowledge), that tool is planned after all, as a call.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

FEATURES = ("tool", "answer", "gap", "description", "lexical")
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "a an the of in on at to for from by with and or is are be it its this that these those "
    "my me i you your we our us what whats which who how when where can could would should "
    "please do does did there here all any some get show tell give me now just about".split()
)


def content_words(text: str) -> set[str]:
    """The words of a text that carry meaning, cut to five letters (a light stem)."""
    return {w[:5] for w in _WORD.findall(text.lower()) if len(w) > 2 and w not in _STOP}


def lexical_overlap(request: str, tool_words: set[str]) -> float:
    """The share of the request's content words that the tool's own text uses."""
    words = content_words(request)
    return len(words & tool_words) / len(words) if words else 0.0


CLOSE_MARGIN = 0.12  # the shortlist's margin: a tool this near the line is "the closest"


def asks_general_knowledge(request: str) -> bool:
    """Whether a request is a question of general knowledge ("what is a symlink?"), not one
    about this machine ("what is in my downloads") or a file or folder it names."""
    from llmos_shell.vocabulary.naming import ABOUT_THIS_MACHINE, KNOWLEDGE_OPENERS

    asked = " ".join(re.findall(r"[a-z0-9']+", request.lower()))
    if not asked.startswith(KNOWLEDGE_OPENERS) or set(asked.split()) & ABOUT_THIS_MACHINE:
        return False
    return not re.search(r"[/~]|\.\w{1,5}\b", request)


@dataclass(frozen=True)
class RelevanceModel:
    """P(an offered tool fits) from the features, and the thresholds of the decision."""

    weights: Mapping[str, float]
    bias: float
    answer_only_below: float
    call_only_above: float
    second_look_above: float | None = None  # on the best tool's similarity ("tool")

    def second_look(self, features: Mapping[str, float], request: str) -> bool:
        """Whether a request the answer line would leave to an answer is a tool's after all:
        its best tool is as close as no request without a tool came, and it asks no question
        of general knowledge."""
        if self.second_look_above is None or features["tool"] < self.second_look_above:
            return False
        return not asks_general_knowledge(request)

    def closest_worth_naming(self, score: float) -> bool:
        """Whether a tool with this similarity is close enough to name in an honest "I
        can't": within the shortlist's margin of the second-look line."""
        line = self.second_look_above
        return line is not None and score >= line - CLOSE_MARGIN

    def probability(self, features: Mapping[str, float]) -> float:
        """The calibrated probability that one of the offered tools fits the request."""
        z = self.bias + sum(self.weights[name] * features[name] for name in FEATURES)
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))

    def to_json(self) -> dict[str, object]:
        """The model as `prompts/relevance.json` stores it."""
        return {
            "features": list(FEATURES),
            "weights": dict(self.weights),
            "bias": self.bias,
            "answer_only_below": self.answer_only_below,
            "call_only_above": self.call_only_above,
            "second_look_above": self.second_look_above,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> RelevanceModel:
        """Read the stored model; it must use exactly these features."""
        weights = data["weights"]
        if not isinstance(weights, dict) or set(weights) != set(FEATURES):
            raise ValueError("the relevance model was fitted on other features; calibrate again")
        return cls(
            weights={k: float(v) for k, v in weights.items()},
            bias=float(data["bias"]),  # type: ignore[arg-type]
            answer_only_below=float(data["answer_only_below"]),  # type: ignore[arg-type]
            call_only_above=float(data["call_only_above"]),  # type: ignore[arg-type]
            second_look_above=(
                None if data.get("second_look_above") is None else float(data["second_look_above"])  # type: ignore[arg-type]
            ),
        )


@functools.lru_cache(maxsize=1)
def shipped_model() -> RelevanceModel | None:
    """The calibrated model shipped in prompts/relevance.json, or None before calibration."""
    from llmos_shell.prompts import load_prompt

    try:
        data = json.loads(load_prompt("relevance.json"))
    except FileNotFoundError:
        return None
    return RelevanceModel.from_json(data)


def fit(
    rows: Iterable[tuple[Mapping[str, float], bool]], *, l2: float = 0.01, steps: int = 50
) -> tuple[dict[str, float], float]:
    """Logistic regression by Newton's method: weights by feature, and the bias."""
    import numpy as np

    data = list(rows)
    x = np.array([[1.0, *(f[name] for name in FEATURES)] for f, _ in data])
    y = np.array([1.0 if fits else 0.0 for _, fits in data])
    w = np.zeros(x.shape[1])
    penalty = l2 * np.eye(x.shape[1])
    penalty[0, 0] = 0.0  # the bias is not shrunk
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -50, 50)))
        gradient = x.T @ (p - y) + penalty @ w
        hessian = (x.T * (p * (1 - p))) @ x + penalty
        w = w - np.linalg.solve(hessian, gradient)
    return {name: float(w[i + 1]) for i, name in enumerate(FEATURES)}, float(w[0])
