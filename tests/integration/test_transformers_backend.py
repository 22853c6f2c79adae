"""The transformers backend on the real embedded model: constrained JSON, plans, prefix reuse.

The embedded GGUF is loaded through transformers' GGUF loader and run by torch on the CPU
(one thread); the GPU tests run the same checks on CUDA where a GPU is present.
"""

from __future__ import annotations

import importlib.util
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llmos_shell.backends.base import ChatMessage
from llmos_shell.backends.transformers_backend import IncrementalDecoder, TransformersBackend
from llmos_shell.errors import (
    BackendUnavailableError,
    Cancelled,
    ConfigError,
    LlmosError,
    ModelNotFoundError,
)
from llmos_shell.models.locate import embedded_model_path, resolve_source
from llmos_shell.planning.planner import Planner, Transcript
from llmos_shell.registry import Registry, discover

_MISSING = [
    name
    for name in ("torch", "transformers", "llguidance", "gguf")
    if importlib.util.find_spec(name) is None
]
pytestmark = pytest.mark.skipif(
    bool(_MISSING),
    reason=f"the transformers backend needs {', '.join(_MISSING)}: pip install -e '.[gpu]'",
)
# The fixtures that load a transformers model (conftest.py marks their tests `model`).
MODEL_FIXTURES = frozenset({"backend", "planner", "cuda_backend"})

# A nested object, an enum and bounded integers and strings: every output is finite.
WEATHER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "maxLength": 30},
        "unit": {"enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 14},
        "place": {
            "type": "object",
            "properties": {
                "country": {"type": "string", "maxLength": 30},
                "coastal": {"type": "boolean"},
            },
            "required": ["country", "coastal"],
            "additionalProperties": False,
        },
    },
    "required": ["city", "unit", "days", "place"],
    "additionalProperties": False,
}
WEATHER_REQUEST = [
    ChatMessage("system", "Reply with JSON only."),
    ChatMessage("user", "The weather in Paris, France for the next 3 days, in celsius."),
]


def conforms(value: Any, schema: dict[str, Any]) -> list[str]:
    """What in `value` breaks `schema` (the keywords WEATHER_SCHEMA uses); empty if nothing."""
    problems: list[str] = []
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{value!r} is not one of {schema['enum']}")
    kind = schema.get("type")
    checks = {
        "object": lambda v: isinstance(v, dict),
        "string": lambda v: isinstance(v, str),
        "boolean": lambda v: isinstance(v, bool),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    }
    if kind is not None and not checks[kind](value):
        return [*problems, f"{value!r} is not of type {kind}"]
    if kind == "integer":
        if value < schema.get("minimum", value) or value > schema.get("maximum", value):
            problems.append(f"{value} is out of range")
    if kind == "string" and len(value) > schema.get("maxLength", len(value)):
        problems.append(f"{value!r} is too long")
    if kind == "object":
        for key in schema.get("required", []):
            if key not in value:
                problems.append(f"{key!r} is missing")
        for key, item in value.items():
            if key not in schema["properties"]:
                problems.append(f"{key!r} is not allowed")
            else:
                problems.extend(conforms(item, schema["properties"][key]))
    return problems


@pytest.fixture(scope="module")
def backend() -> Iterator[TransformersBackend]:
    """The embedded GGUF through transformers, on the CPU with one thread, loaded once."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        loaded = TransformersBackend(None, device="cpu", threads=1)
    yield loaded
    loaded.close()


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    return discover(tmp_path_factory.mktemp("plugins"))


@pytest.fixture(scope="module")
def planner(backend: TransformersBackend, registry: Registry) -> Planner:
    planner = Planner(backend, registry)
    planner.warm_up()
    return planner


# -- loading ---------------------------------------------------------------------------------


def test_embedded_gguf_loads_on_the_cpu_in_fp32(backend: TransformersBackend) -> None:
    assert backend.name == "transformers"
    assert str(backend.device) == "cpu"
    assert str(backend.dtype) == "torch.float32"
    assert backend.has_chat_template  # the GGUF carries SmolLM2's template
    assert backend.stats.load_s > 0
    assert "transformers" in backend.describe() and "cpu" in backend.describe()


def test_schema_output_is_valid_json(backend: TransformersBackend) -> None:
    generation = backend.generate(WEATHER_REQUEST, schema=WEATHER_SCHEMA, max_tokens=120)
    data = json.loads(generation.text)
    assert conforms(data, WEATHER_SCHEMA) == []
    assert generation.completion_tokens > 0
    assert generation.prompt_tokens == backend.count_tokens(WEATHER_REQUEST)


# -- through the planner -----------------------------------------------------------------------


def test_planner_plans_disk_usage_for_free_space(planner: Planner, registry: Registry) -> None:
    action = planner.next_action(Transcript("how much disk space is free?"))
    assert action.call is not None, f"answered instead of calling: {action.answer!r}"
    assert action.call.tool == "disk_usage"
    registry.get("disk_usage").validate(action.call.arguments)
    assert action.generation is not None
    assert action.generation.cached_tokens > 0


def test_prefix_reuse_gives_the_same_output(backend: TransformersBackend) -> None:
    prefix = [
        *WEATHER_REQUEST,
        ChatMessage("assistant", '{"city": "Paris", "unit": "celsius", "days": 3}'),
    ]
    messages = [*prefix, ChatMessage("user", "And for Oslo, Norway, for a week?")]
    requests_before = backend.stats.requests
    backend.prepare(prefix)
    prefix_tokens = len(backend.tokenize(backend.render(prefix, add_generation_prompt=False)))
    cached = backend.generate(messages, schema=WEATHER_SCHEMA, max_tokens=120)
    assert cached.cached_tokens == prefix_tokens
    assert cached.prompt_tokens - cached.cached_tokens < 30  # only the new turn was evaluated
    backend.prepare([])  # drop the kept prefix: everything is evaluated
    fresh = backend.generate(messages, schema=WEATHER_SCHEMA, max_tokens=120)
    assert fresh.cached_tokens == 0
    assert fresh.text == cached.text
    # The kept prefix was copied, not extended by a request: a third run matches too.
    backend.prepare(prefix)
    backend.generate(messages, schema=None, max_tokens=30)
    again = backend.generate(messages, schema=WEATHER_SCHEMA, max_tokens=120)
    assert again.text == cached.text and again.cached_tokens == cached.cached_tokens
    assert backend.stats.requests == requests_before + 4
    assert backend.stats.cached_tokens >= 3 * prefix_tokens


# -- streaming, stopping, cancelling -----------------------------------------------------------


def test_streamed_pieces_make_the_text_and_on_text_stops(backend: TransformersBackend) -> None:
    pieces: list[str] = []
    whole = backend.generate(
        WEATHER_REQUEST, schema=WEATHER_SCHEMA, max_tokens=120, on_text=pieces.append
    )
    assert len(pieces) > 3
    assert "".join(pieces) == whole.text

    seen: list[str] = []

    def stop_after_three(piece: str) -> bool:
        seen.append(piece)
        return len(seen) >= 3

    cut = backend.generate(
        WEATHER_REQUEST, schema=WEATHER_SCHEMA, max_tokens=120, on_text=stop_after_three
    )
    assert len(seen) == 3
    assert cut.text == "".join(seen)
    assert whole.text.startswith(cut.text) and len(cut.text) < len(whole.text)
    assert cut.completion_tokens < whole.completion_tokens


def test_cancel_raises_generation_cancelled(backend: TransformersBackend) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        backend.generate(WEATHER_REQUEST, schema=None, max_tokens=20, cancel=cancel)

    midway = threading.Event()
    pieces: list[str] = []

    def cancel_on_first(piece: str) -> None:
        pieces.append(piece)
        midway.set()

    with pytest.raises(Cancelled):
        backend.generate(
            WEATHER_REQUEST, schema=None, max_tokens=40, on_text=cancel_on_first, cancel=midway
        )
    assert len(pieces) == 1


def test_multibyte_characters_are_never_split(backend: TransformersBackend) -> None:
    text = "héllo wörld — 日本語 🙂 ok"
    ids = backend.tokenizer(text, add_special_tokens=False)["input_ids"]
    assert len(ids) > len(text.split())  # some characters take several byte tokens
    decoder = IncrementalDecoder(backend.tokenizer)
    pieces = [decoder.push(token) for token in ids]
    pieces.append(decoder.flush())
    assert "".join(pieces) == text
    assert not any("\ufffd" in piece for piece in pieces)


def test_sampling_with_a_seed_repeats(backend: TransformersBackend) -> None:
    first = backend.generate(
        WEATHER_REQUEST, schema=WEATHER_SCHEMA, max_tokens=120, temperature=0.9, seed=7
    )
    second = backend.generate(
        WEATHER_REQUEST, schema=WEATHER_SCHEMA, max_tokens=120, temperature=0.9, seed=7
    )
    assert first.text == second.text
    assert conforms(json.loads(first.text), WEATHER_SCHEMA) == []


def test_a_template_that_refuses_system_turns_gets_them_in_the_user_turn(
    backend: TransformersBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    strict = (
        "{% if messages[0]['role'] == 'system' %}"
        "{{ raise_exception('System role not supported') }}{% endif %}"
        "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n"
        "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )
    monkeypatch.setattr(backend, "_template", strict)
    text = backend.render(WEATHER_REQUEST)
    assert text.startswith("<|im_start|>user\nReply with JSON only.\n\nThe weather in Paris")
    monkeypatch.setattr(backend, "_template", "{{ raise_exception('no chats here') }}")
    with pytest.raises(LlmosError, match="refused the conversation"):
        backend.render(WEATHER_REQUEST)


# -- errors ------------------------------------------------------------------------------------


def test_missing_folder_is_one_clear_sentence(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="does not exist") as info:
        TransformersBackend(str(tmp_path / "no-such-model"))
    assert "\n" not in str(info.value)


def test_folder_without_a_model_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a model\n")
    with pytest.raises(ModelNotFoundError, match=r"no config\.json and no \.gguf"):
        TransformersBackend(str(tmp_path))


def test_broken_model_folder_is_a_model_error(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "no-such-architecture"}))
    with pytest.raises(ModelNotFoundError, match="transformers could not load") as info:
        TransformersBackend(str(tmp_path), device="cpu")
    assert "\n" not in str(info.value)


def test_uncached_hub_id_says_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(
        ModelNotFoundError, match=r"llmos models pull llmos-test/no-such-model"
    ) as info:
        TransformersBackend("llmos-test/no-such-model")
    assert str(tmp_path / "hf" / "hub") in str(info.value)  # the isolated cache it looked in


def test_cached_hub_id_resolves_to_its_snapshot(tmp_path: Path) -> None:
    revision = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--llmos-test--tiny-gguf"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(revision)
    snapshot = repo / "snapshots" / revision
    snapshot.mkdir(parents=True)
    (snapshot / "model.gguf").symlink_to(embedded_model_path())
    source = resolve_source("llmos-test/tiny-gguf", hub_cache=tmp_path / "hub")
    assert source.folder == snapshot
    assert source.gguf_file == "model.gguf"
    assert source.label == "llmos-test/tiny-gguf"


@pytest.mark.parametrize(
    ("device", "error", "words"),
    [
        ("tpu", ConfigError, "unknown device 'tpu'"),
        ("xla", ConfigError, "not supported"),
        ("cuda:64", BackendUnavailableError, "not available"),
    ],
)
def test_bad_device_is_refused(device: str, error: type[LlmosError], words: str) -> None:
    with pytest.raises(error, match=words) as info:
        TransformersBackend(None, device=device)
    assert "\n" not in str(info.value)


# -- on a GPU ------------------------------------------------------------------------------------


def _cuda_available() -> bool:
    if _MISSING:
        return False
    import torch

    return bool(torch.cuda.is_available())


@pytest.fixture(scope="module")
def cuda_backend() -> Iterator[TransformersBackend]:
    if not _cuda_available():
        pytest.skip("no CUDA device: torch.cuda.is_available() is false")
    loaded = TransformersBackend(None)  # no device given: CUDA is picked first
    yield loaded
    loaded.close()


@pytest.mark.gpu
def test_gpu_is_picked_with_a_half_precision_dtype(cuda_backend: TransformersBackend) -> None:
    import torch

    assert cuda_backend.device.type == "cuda"
    assert cuda_backend.dtype in (torch.bfloat16, torch.float16)
    assert "cuda" in cuda_backend.describe()


@pytest.mark.gpu
def test_gpu_schema_output_is_valid_json(cuda_backend: TransformersBackend) -> None:
    generation = cuda_backend.generate(WEATHER_REQUEST, schema=WEATHER_SCHEMA, max_tokens=120)
    assert conforms(json.loads(generation.text), WEATHER_SCHEMA) == []


@pytest.mark.gpu
def test_gpu_planner_plans_disk_usage_with_the_prefix_reused(
    cuda_backend: TransformersBackend, registry: Registry
) -> None:
    planner = Planner(cuda_backend, registry)
    planner.warm_up()
    action = planner.next_action(Transcript("how much disk space is free?"))
    assert action.call is not None and action.call.tool == "disk_usage"
    assert action.generation is not None and action.generation.cached_tokens > 0


@pytest.mark.gpu
def test_gpu_streaming_and_cancel(cuda_backend: TransformersBackend) -> None:
    pieces: list[str] = []
    whole = cuda_backend.generate(
        WEATHER_REQUEST, schema=WEATHER_SCHEMA, max_tokens=120, on_text=pieces.append
    )
    assert "".join(pieces) == whole.text
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        cuda_backend.generate(WEATHER_REQUEST, schema=None, max_tokens=20, cancel=cancel)
