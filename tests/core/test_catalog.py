"""The model catalogue: families, limits, and the unknown-name path (never raises)."""

from __future__ import annotations

import pytest

from azoai.config.catalog import known_families, lookup_model


@pytest.mark.parametrize(
    ("name", "family", "reasoning", "context", "kind"),
    [
        ("gpt-4o", "gpt-4o", False, 128_000, "chat"),
        ("gpt-4o-2024-08-06", "gpt-4o", False, 128_000, "chat"),
        ("gpt-4o-mini", "gpt-4o", False, 128_000, "chat"),
        ("GPT-4o-Mini", "gpt-4o", False, 128_000, "chat"),
        ("gpt-35-turbo", "gpt-3.5", False, 16_385, "chat"),
        ("gpt-35-turbo-16k", "gpt-3.5", False, 16_385, "chat"),
        ("gpt-4", "gpt-4", False, 8_192, "chat"),
        ("gpt-4-32k", "gpt-4", False, 32_768, "chat"),
        ("gpt-4.1-mini", "gpt-4.1", False, 1_047_576, "chat"),
        ("gpt-4.1", "gpt-4.1", False, 1_047_576, "chat"),
        ("o1", "o-series", True, 200_000, "chat"),
        ("o1-mini", "o-series", True, 128_000, "chat"),
        ("o3-mini", "o-series", True, 200_000, "chat"),
        ("o4-mini", "o-series", True, 200_000, "chat"),
        ("gpt-5", "gpt-5", True, 400_000, "chat"),
        ("gpt-5-mini-2025-08-07", "gpt-5", True, 400_000, "chat"),
        ("gpt-5-chat", "gpt-5-chat", False, 128_000, "chat"),
        ("gpt-5.1", "gpt-5", True, 400_000, "chat"),
        ("text-embedding-3-small", "text-embedding-3", False, 8_191, "embedding"),
        ("text-embedding-3-large", "text-embedding-3", False, 8_191, "embedding"),
        ("text-embedding-ada-002", "ada-002", False, 8_191, "embedding"),
        ("azure-openai/gpt-4o", "gpt-4o", False, 128_000, "chat"),
    ],
)
def test_known_families(name: str, family: str, reasoning: bool, context: int, kind: str) -> None:
    info = lookup_model(name)
    assert info.known
    assert info.name == name
    assert (info.family, info.reasoning, info.context_window, info.kind) == (
        family,
        reasoning,
        context,
        kind,
    )


def test_embedding_dimensions() -> None:
    assert lookup_model("text-embedding-3-large").embedding_dimensions == 3072
    assert lookup_model("text-embedding-3-small").supports_dimensions
    assert not lookup_model("text-embedding-ada-002").supports_dimensions
    assert lookup_model("text-embedding-ada-002").max_input_tokens == 8191


@pytest.mark.parametrize(
    "name", [None, "", "my-finetuned-thing", "gpt4o-prod", "o", "gpt-", "🙂", "x" * 500]
)
def test_unknown_names_get_conservative_defaults(name: str | None) -> None:
    info = lookup_model(name)
    assert not info.known
    assert info.kind == "chat" and not info.reasoning
    assert info.context_window == 8_192 and info.max_output == 4_096
    assert not info.json_schema and not info.vision


def test_unknown_embedding_name_is_an_embedding_without_dimensions() -> None:
    info = lookup_model("text-embedding-4-huge")
    assert info.is_embedding and not info.known and not info.supports_dimensions


def test_prefix_matching_respects_name_boundaries() -> None:
    # "o1x" is not o1; "gpt-4ox" is not gpt-4o
    assert not lookup_model("o1x").known
    assert lookup_model("gpt-4ox").family != "gpt-4o"


def test_known_families_is_sorted_and_nonempty() -> None:
    fams = known_families()
    assert fams == sorted(fams) and "gpt-4o" in fams
