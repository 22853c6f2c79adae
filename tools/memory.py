"""Memory tools: remember what the person tells, recall it, forget it.

They reach the memory of the running llmos through the context the call is given (its
`services`), as any plugin could; with memory off they say so.
"""

from __future__ import annotations

from typing import Any

from llmos_shell.calls import ExecutionContext, Risk
from llmos_shell.errors import LlmosError, ToolError
from llmos_shell.registry import tool


def _memory(context: ExecutionContext) -> Any:
    services = context.services
    if services is None or services.memory is None:
        raise ToolError("memory is not available here: this call runs outside a llmos shell")
    try:
        return services.memory()
    except LlmosError as exc:
        raise ToolError(str(exc)) from None


@tool(
    headline=[
        ("", "remembered: {remembered}"),
    ],
    in_process=True,  # the memory this shell has open: a worker would open a second writer
    risk=Risk.WRITE,
    examples=[
        ("remember that my projects are in ~/code", {"text": "my projects are in ~/code"}),
        ("note that I prefer nano as my editor", {"text": "I prefer nano as my editor"}),
        ("i like dates written as 2024-12-31", {"text": "i like dates written as 2024-12-31"}),
        ("keep in mind that backups go to /mnt/backup", {"text": "backups go to /mnt/backup"}),
    ],
)
def remember(text: str, context: ExecutionContext) -> dict[str, Any]:
    """Remember a fact or preference the person states, for later requests.

    Args:
        text: the fact in the person's words, e.g. "my projects are in ~/code"
    """
    try:
        record = _memory(context).remember(text)
    except LlmosError as exc:
        raise ToolError(str(exc)) from None
    return {"remembered": record.text, "id": record.id}


@tool(
    headline=[
        ("", "What I know about you: {about_you}"),
        ("", "{memories.count} memories found; the closest: {first.text}"),
        ("", "nothing remembered about {args.query}"),
    ],
    in_process=True,  # the memory this shell has open: a worker would open a second writer
    risk=Risk.READ_ONLY,
    examples=[
        ("what do you know about my projects?", {"query": "my projects"}),
        ("what do you remember about me", {"query": "me"}),
        ("did I tell you which editor I use", {"query": "editor"}),
    ],
)
def recall(query: str, context: ExecutionContext, limit: int = 5) -> dict[str, Any]:
    """Look up what the person asked to be remembered, and what worked before.

    Args:
        query: what to look for, in plain words
        limit: how many memories to show
    """
    if limit < 1:
        raise ToolError(f"limit must be at least 1, not {limit}")
    try:
        memory = _memory(context)
        hits = memory.recall(query, limit=limit)
    except LlmosError as exc:
        raise ToolError(str(exc)) from None
    out: dict[str, Any] = {}
    about = memory.about_you(query, hits)  # "what do you know about me?": the facts, in words
    if about:
        out["about_you"] = about
    return {
        **out,
        "memories": [
            {
                "id": h.record.id,
                "kind": h.record.kind,
                "text": h.record.text,
                "score": round(h.score, 2),
            }
            for h in hits
        ],
    }


@tool(
    headline=[
        ("", "forgot: {first.text}"),
        ("", "nothing to forget for {args.what}"),
    ],
    in_process=True,  # the memory this shell has open: a worker would open a second writer
    risk=Risk.DESTRUCTIVE,
    reversible=False,
    examples=[
        ("forget that", {"what": "that"}),
        ("forget that my editor is vim", {"what": "my editor is vim"}),
        ("forget where my photos are kept", {"what": "where my photos are kept"}),
        ("forget memory m-1a2b3c4d", {"what": "m-1a2b3c4d"}),
    ],
)
def forget(context: ExecutionContext, what: str = "that") -> dict[str, Any]:
    """Forget a memory: the latest one ("that"), one by its id, or the one closest to the words.

    Args:
        what: "that" for the latest memory, a memory id, or words of the memory
    """
    try:
        gone = _memory(context).forget(what)
    except LlmosError as exc:
        raise ToolError(str(exc)) from None
    if not gone:
        raise ToolError(f"no memory matches {what!r}; `llmos memory list` shows them")
    return {"forgotten": [{"id": r.id, "kind": r.kind, "text": r.text} for r in gone]}
