"""The prompt's parts: its history file, its completer and the key bindings it adds."""

from __future__ import annotations

import re
from collections.abc import Iterable

from prompt_toolkit.completion import CompleteEvent, Completer, Completion, PathCompleter
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.keys import Keys

from llmos_shell.ui.repl.slash import SLASH_COMMANDS

MAX_REQUEST_CHARS = 4000
# Bytes that are not UTF-8 reach us as lone surrogates (prompt-toolkit decodes input with
# surrogateescape); they cannot be encoded again, so they become U+FFFD before going further.
_SURROGATES = re.compile(r"[\ud800-\udfff]")


class ShellHistory(FileHistory):
    """FileHistory that survives what a terminal can send: undecodable bytes, a full disk,
    and pastes too long to be requests (those are refused, so they are not kept either)."""

    def append_string(self, string: str) -> None:
        """Keep a line for Up-arrow and the file, unless it is refused as too long."""
        if len(string) <= MAX_REQUEST_CHARS:
            super().append_string(string)

    def store_string(self, string: str) -> None:
        """Append one entry; a line that cannot be saved is not worth ending the prompt for."""
        try:
            super().store_string(_SURROGATES.sub("\ufffd", string))
        except OSError:
            pass


def ignore_mouse_events() -> KeyBindings:
    """Mouse reporting is never switched on, so a "mouse event" is typed junk such as ESC[31m.

    prompt-toolkit's own handler fails on such junk with a traceback, and then waits for Enter.
    """
    bindings = KeyBindings()

    @bindings.add(Keys.Vt100MouseEvent)
    def _ignore(event: KeyPressEvent) -> None:
        return None

    return bindings


class ShellCompleter(Completer):
    """Completes slash commands, and paths in the word under the cursor."""

    def __init__(self) -> None:
        self._paths = PathCompleter(expanduser=True)

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterable[Completion]:
        """Slash commands at the start of the line; paths where a word looks like one."""
        text = document.text_before_cursor
        if text.startswith("/") and " " not in text:
            for name, command in SLASH_COMMANDS.items():
                if name.startswith(text):
                    yield Completion(name, start_position=-len(text), display_meta=command.help)
            return
        word = document.get_word_before_cursor(WORD=True)
        if word.startswith(("/", "~", "./", "../")) or "/" in word:
            sub = Document(word, len(word))
            yield from self._paths.get_completions(sub, complete_event)
