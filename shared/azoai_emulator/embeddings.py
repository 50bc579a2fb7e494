"""Deterministic embeddings in which texts that share words are close.

Each text becomes a hashed bag of words: every stemmed word (lower-cased, see
:func:`azoai_emulator.tokens.stem`; function words are left out when any other word remains) adds
``±1`` at a position chosen by BLAKE2b of the word, and the vector is L2-normalised. Cosine similarity is then roughly the share of words two texts have
in common; identical texts give identical vectors on every run and machine. Token-id inputs
(lists of integers) hash each id as a word. A text without any word hashes as a whole, so no
vector is ever zero.
"""

from __future__ import annotations

import base64
import hashlib
import math
import struct
from collections.abc import Sequence

from azoai_emulator.tokens import FUNCTION_WORDS, stem, words

__all__ = ["embed", "encode_base64"]


def _slot(feature: str, dimensions: int) -> tuple[int, float]:
    digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
    value = int.from_bytes(digest, "big")
    return value % dimensions, (1.0 if (value >> 63) & 1 else -1.0)


def embed(item: str | Sequence[int], dimensions: int) -> list[float]:
    """The unit vector of ``item`` (a text or a list of token ids) in ``dimensions`` dimensions."""
    if isinstance(item, str):
        all_words = [stem(w) for w in words(item)]
        features = [w for w in all_words if w not in FUNCTION_WORDS] or all_words or [item]
    else:
        features = [f"#{int(t)}" for t in item] or ["#"]
    vector = [0.0] * dimensions
    for feature in features:
        index, sign = _slot(feature, dimensions)
        vector[index] += sign
    norm = math.sqrt(sum(v * v for v in vector))
    if norm == 0.0:  # every feature cancelled out: fall back to the whole input
        index, sign = _slot(repr(item), dimensions)
        vector[index] = sign
        norm = 1.0
    return [v / norm for v in vector]


def encode_base64(vector: Sequence[float]) -> str:
    """``encoding_format="base64"``: little-endian float32s, base64-encoded (what OpenAI sends)."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
