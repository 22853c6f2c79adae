"""The secret detector on what people type: cards, codes, ids, seed phrases, passwords."""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path

import pytest

from llmos_shell.calls import ToolCall, ToolServices
from llmos_shell.memory.secret_shapes import luhn, tables
from llmos_shell.memory.secrets import secret_reason
from llmos_shell.memory.service import Memory
from llmos_shell.memory.store import LocalStore
from llmos_shell.registry import discover
from llmos_shell.retrieval.embeddings import shared_embedder
from llmos_shell.safety.policy import PolicyOptions
from llmos_shell.session import Session

DEV = Path(__file__).parents[3] / "bench" / "data" / "secrets_dev.jsonl"
_KIND_WORDS = {
    "card": "card number",
    "cvv": "CVV",
    "pin": "PIN",
    "code": "access code",
    "phrase": "recovery (seed) phrase",
    "password": "password",
    "login": "login",
}


def dev_rows() -> list[dict[str, str | None]]:
    return [json.loads(line) for line in DEV.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("row", dev_rows(), ids=lambda row: str(row["text"])[:40])
def test_the_dev_set_is_read_right_and_the_reason_names_the_kind(
    row: dict[str, str | None],
) -> None:
    reason = secret_reason(str(row["text"]))
    kind = row["secret"]
    if kind is None:
        assert reason is None
    elif kind == "id":
        assert reason is not None
        assert any(shape.what in reason for shape in tables().id_shapes)
    else:
        assert reason is not None and _KIND_WORDS[kind] in reason


def test_the_bip39_list_is_the_published_one() -> None:
    text = resources.files("llmos_shell.data").joinpath("bip39-english.txt").read_bytes()
    digest = "2f5eed53a4727b4bf8880d8f3f199efc90e58503646d9ff8eff3a2ed3b24dbda"
    assert hashlib.sha256(text).hexdigest() == digest
    assert len(tables().bip39) == 2048


def test_luhn_tells_a_card_from_a_typo() -> None:
    assert luhn("4111111111111111")
    assert not luhn("4111111111111112")
    assert secret_reason("card 4111 1111 1111 1112") is None


def test_eleven_seed_words_are_not_a_phrase_but_twelve_are() -> None:
    words = "legal winner thank year wave sausage worth useful legal winner thank yellow".split()
    assert secret_reason(" ".join(words[:11])) is None
    assert "seed" in str(secret_reason(" ".join(words)))


@pytest.fixture
def memory(tmp_path: Path) -> Memory:
    store = LocalStore(tmp_path / "memory", shared_embedder())
    yield Memory(store)
    store.close()


def test_the_remember_tool_refuses_a_card_in_one_line_and_keeps_ordinary_notes(
    memory: Memory,
) -> None:
    registry = discover()
    session = Session(
        None,
        registry,
        memory=memory,
        options=PolicyOptions(yes_writes=True),
        services=ToolServices(memory=lambda: memory),
    )
    card = ToolCall("remember", {"text": "my visa is 4111 1111 1111 1111 cvv 123"})
    refused = session.run_call(card, request="remember my visa")
    assert refused.result is not None and not refused.result.ok
    assert refused.result.error is not None
    assert "card number" in refused.result.error and "\n" not in refused.result.error
    note = ToolCall("remember", {"text": "the meeting code word is lunch"})
    kept = session.run_call(note, request="remember the code word")
    assert kept.result is not None and kept.result.ok
    assert [r.text for r in memory.records()] == ["the meeting code word is lunch"]
