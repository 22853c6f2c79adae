"""The one rule for model names: what is a Hugging Face hub id, and what is a path.

The catalog, `doctor`, `models pull` and the transformers backend all ask here, so a name
that one of them takes as a hub id is a hub id to all of them. The rule is the hub's own:
an optional owner, a slash, a name of letters, digits, `_`, `-` and `.`, at most 96 long,
no `--` or `..`, and no `-` or `.` at either end of a part.
"""

from __future__ import annotations

import re

_PART = r"[\w.-]{1,96}"
_REPO_ID = re.compile(rf"^(?:{_PART}/)?{_PART}$")


def is_repo_id(text: str) -> bool:
    """Whether `text` is a valid hub repository id, with or without its owner (`gpt2`)."""
    if not _REPO_ID.fullmatch(text) or "--" in text or ".." in text:
        return False
    return all(
        not part.startswith(("-", ".")) and not part.endswith(("-", "."))
        for part in text.split("/")
    )


def looks_like_path(text: str) -> bool:
    """Whether a model setting is written as a file path rather than a hub id."""
    return (
        text.startswith((".", "/", "~", "\\"))
        or text.count("/") > 1
        or "\\" in text
        or text.lower().endswith(".gguf")
    )


def looks_like_hub_id(text: str) -> bool:
    """Whether a model setting names OWNER/NAME on the hub rather than a relative path.

    A bare name (`gpt2`) could be a folder beside you, so here a hub id has its owner.
    """
    return "/" in text and is_repo_id(text) and not looks_like_path(text)
