"""Offline token counting and the embeddings engine's planning (batches, splitting, empties)."""

from __future__ import annotations

import pytest

from azoai.client import Client
from azoai.config.catalog import lookup_model
from azoai.embeddings import EmbeddingEngine
from azoai.errors import ConfigError
from azoai.wire.tokens import TokenCounter, estimate_tokens

EMB = lookup_model("text-embedding-3-small")


def engine(**kw: object) -> EmbeddingEngine:
    client = Client(
        endpoint="https://r.openai.azure.com",
        api_key="k",
        deployment="embed",
        env={},
        config_file="",
    )
    return EmbeddingEngine(client, **kw)  # type: ignore[arg-type]


def test_estimate_is_high_and_offline(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))  # empty cache: never download
    c = TokenCounter("cl100k_base")
    assert not c.exact
    assert c.count("hello world") == estimate_tokens("hello world") == 4
    assert estimate_tokens("") == 0


def test_split_keeps_every_character_and_respects_the_limit() -> None:
    c = TokenCounter("no-such-encoding")
    text = "naïve café 東京 " * 500
    pieces = c.split(text, 50)
    assert "".join(pieces) == text
    assert all(estimate_tokens(p) <= 50 for p in pieces)


def test_10000_texts_make_ceil_10000_over_2048_batches() -> None:
    batches, empties, _ = engine()._plan([f"text number {i}" for i in range(10_000)], EMB)
    assert len(batches) == 5 and not empties
    assert [len(b.pieces) for b in batches] == [2048, 2048, 2048, 2048, 1808]
    order = [p.owner for b in batches for p in b.pieces]
    assert order == list(range(10_000))


def test_token_budget_splits_batches() -> None:
    batches, _, _ = engine(max_tokens_per_request=100)._plan(["x" * 150] * 4, EMB)  # 50 tokens each
    assert [len(b.pieces) for b in batches] == [2, 2]


def test_long_inputs_are_split_or_rejected() -> None:
    long = "word " * 10_000  # ~16.7k estimated tokens
    batches, _, pieces_of = engine()._plan(["short", long], EMB)
    assert len(pieces_of[1]) == 3 and sum(len(b.pieces) for b in batches) == 4
    with pytest.raises(ConfigError, match="index 1 exceed 8191 tokens"):
        engine(split_long_inputs=False)._plan(["short", long], EMB)


def test_empty_strings_name_their_index_or_get_zero_vectors() -> None:
    with pytest.raises(ConfigError, match="empty input\\(s\\) at index 1, 3") as exc:
        engine()._plan(["a", "", "b", "  "], EMB)
    assert "empty='zero'" in str(exc.value)
    _, empties, _ = engine(empty="zero")._plan(["a", "", "b"], EMB)
    assert empties == [1]


def test_bad_inputs() -> None:
    with pytest.raises(ConfigError, match="not a single string"):
        engine()._plan("just one string", EMB)
    with pytest.raises(ConfigError, match="input 1 is a int"):
        engine()._plan(["a", 3], EMB)  # type: ignore[list-item]
    with pytest.raises(ConfigError, match="batch_size"):
        engine(batch_size=4096)


def test_20000_passages_make_10_requests_and_short_ones_are_never_tokenized(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import azoai.embeddings as emb_mod

    counted: list[str] = []
    real = emb_mod.counter_for

    class Spy:
        def __init__(self, encoding: str) -> None:
            self._c = real(encoding)

        def count(self, text: str) -> int:
            counted.append(text)
            return self._c.count(text)

        def split(self, text: str, limit: int) -> list[str]:
            return self._c.split(text, limit)

    monkeypatch.setattr(emb_mod, "counter_for", Spy)
    passage = " ".join(["harbour", "lighthouse", "market", "tide"] * 25)  # 100 words, 700 bytes
    batches, _, _ = engine(max_tokens_per_request=None)._plan(
        [f"{i} {passage}" for i in range(20_000)], EMB
    )
    assert len(batches) == 10  # inputs per request alone (the token cap is tested elsewhere)
    assert counted == []  # a text of at most 8191 bytes cannot exceed 8191 tokens
    long = "word " * 10_000
    engine()._plan(["short", long], EMB)
    assert counted == [long]  # only a text that might be too long is counted exactly
