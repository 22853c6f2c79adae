"""Secrets are never remembered: keys, tokens, passwords, PINs, cards, ids, seed phrases.

A memory is shown to the model in every similar request and exported in plain text, so a
text that holds a secret is refused with one line saying what was found.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from llmos_shell.memory.secret_shapes import (
    card_number,
    id_number,
    labelled_secret,
    recovery_phrase,
)
from llmos_shell.safety.shell import sensitive_kind

_PATTERNS = tuple(
    (re.compile(pattern, flags), what)
    for pattern, flags, what in (
        (r"-----BEGIN [A-Z ]*PRIVATE KEY( BLOCK)?-----", 0, "a private key block"),
        (r"\b(?:sk|rk|pk)-(?:live-|test-|proj-|ant-)?[A-Za-z0-9_-]{16,}", 0, "an API key"),
        (r"\bAKIA[0-9A-Z]{16}\b", 0, "an AWS access key"),
        (r"\bgh[pousr]_[A-Za-z0-9]{30,}\b", 0, "a GitHub token"),
        (r"\bgithub_pat_[A-Za-z0-9_]{40,}\b", 0, "a GitHub token"),
        (r"\bglpat-[A-Za-z0-9_-]{20,}\b", 0, "a GitLab token"),
        (r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b", 0, "a Slack token"),
        (r"\bAIza[0-9A-Za-z_-]{35}\b", 0, "a Google API key"),
        (r"\bhf_[A-Za-z0-9]{30,}\b", 0, "a Hugging Face token"),
        (r"\bnpm_[A-Za-z0-9]{36}\b", 0, "an npm token"),
        (r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}", 0, "a JSON web token"),
        (r"\b(?:bearer|basic)\s+[A-Za-z0-9+/._~-]{16,}=*", re.I, "an authorization token"),
        (r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.I, "a password in a URL"),
    )
)
_LONG_TOKEN = re.compile(r"[A-Za-z0-9+/_=-]{32,}")
_SEPARATORS = re.compile(r"[\s\"'(),;=`]+")


def secret_reason(text: str) -> str | None:
    """Why `text` must not be remembered ("it holds an API key"), or None when it may be."""
    for pattern, what in _PATTERNS:
        if pattern.search(text):
            return f"it holds {what}"
    for finder in (card_number, recovery_phrase, id_number, labelled_secret):
        found = finder(text)
        if found is not None:
            return f"it looks like it holds {found}"
    for token in _LONG_TOKEN.findall(text):
        if _looks_random(token):
            return "it holds what looks like a key or token"
    for word in _SEPARATORS.split(text):
        if ("/" in word or word.startswith(".")) and (kind := sensitive_kind(word)):
            return f"it names {kind} ({word})"
    return None


def _looks_random(token: str) -> bool:
    """A long run of mixed letters and digits with high entropy: a key, not a word or path."""
    if "/" in token.strip("/") and token.count("/") > 2:
        return False  # a path
    classes = sum(bool(re.search(pattern, token)) for pattern in (r"[a-z]", r"[A-Z]", r"[0-9]"))
    if classes < 2:
        return False
    counts = Counter(token)
    entropy = -sum(n / len(token) * math.log2(n / len(token)) for n in counts.values())
    return entropy >= 4.0
