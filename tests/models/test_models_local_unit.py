"""Local adapter pieces that do not need the model loaded."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from evopipe.models import Message, ModelError, ModelHub, ModelRequest
from evopipe.models.adapters.local import LocalModelUnavailableError, chat_kwargs, grammar_schema
from evopipe.models.config import config_from_dict


def test_grammar_schema_turns_bounded_integers_into_enums() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "integer", "minimum": 1, "maximum": 4},
            "b": {
                "type": "integer",
                "exclusiveMinimum": 0,
                "exclusiveMaximum": 10,
                "multipleOf": 3,
            },
            "c": {"type": "integer", "minimum": 0},
            "d": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 2}},
        },
    }
    lowered = grammar_schema(schema)
    assert lowered["properties"]["a"] == {"enum": [1, 2, 3, 4]}
    assert lowered["properties"]["b"] == {"enum": [3, 6, 9]}
    assert lowered["properties"]["c"] == {"type": "integer", "minimum": 0}
    assert lowered["properties"]["d"]["items"] == {"enum": [0, 1, 2]}
    for value in (1, 2, 3, 4):
        jsonschema.validate(value, schema["properties"]["a"])


def test_chat_kwargs_maps_request() -> None:
    request = ModelRequest(
        messages=(Message("system", "s"), Message("user", "u")),
        temperature=0,
        seed=3,
        stop=("\n",),
        max_tokens=9,
        output_schema={"type": "object"},
    )
    kwargs = chat_kwargs(request)
    assert kwargs["messages"] == [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "u"},
    ]
    assert (kwargs["temperature"], kwargs["seed"], kwargs["stop"], kwargs["max_tokens"]) == (
        0,
        3,
        ["\n"],
        9,
    )
    assert kwargs["response_format"] == {"type": "json_object", "schema": {"type": "object"}}


def test_unknown_local_name_and_missing_file(tmp_path: Path) -> None:
    hub = ModelHub(config_from_dict({}, base_dir=tmp_path))
    with pytest.raises(ModelError, match="unknown local model"):
        hub.get("local:gpt-9")
    with pytest.raises(LocalModelUnavailableError, match="not found"):
        hub.get("local:missing.gguf")


def test_a_llama_cpp_value_error_becomes_a_model_error() -> None:
    """llama.cpp raises ValueError for a prompt longer than its context window."""
    import threading

    from evopipe.models.adapters.local import LocalRuntime

    class Overflowing:
        def create_chat_completion(self, **_: object) -> dict[str, object]:
            raise ValueError("Requested tokens (2062) exceed context window of 2048")

    runtime = LocalRuntime.__new__(LocalRuntime)
    runtime.lock = threading.Lock()
    runtime.llama = Overflowing()
    with pytest.raises(ModelError, match=r"exceed context window of 2048"):
        runtime.chat(messages=[])
