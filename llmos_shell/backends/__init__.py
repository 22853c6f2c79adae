"""Planning backends: one interface, every tool call constrained to the registry's schema."""

from __future__ import annotations

from llmos_shell.backends.base import Backend, ChatMessage, Generation, GenerationStats

__all__ = ["Backend", "ChatMessage", "Generation", "GenerationStats"]
