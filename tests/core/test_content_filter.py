"""Content-filter annotations in every spelling Azure uses (facts §5)."""

from __future__ import annotations

from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from azoai.content_filter import (
    ContentFilterResults,
    parse_category_results,
    parse_prompt_filter_results,
)

SAFE = {
    "hate": {"filtered": False, "severity": "safe"},
    "self_harm": {"filtered": False, "severity": "safe"},
}


def test_prompt_filter_results_and_prompt_annotations() -> None:
    for key in ("prompt_filter_results", "prompt_annotations"):
        out = parse_prompt_filter_results(
            {key: [{"prompt_index": 0, "content_filter_results": SAFE}]}
        )
        assert len(out) == 1 and out[0].side == "prompt" and not out[0].filtered
        assert out[0].to_dict() == SAFE


def test_detection_and_blocklists() -> None:
    cats = parse_category_results(
        {
            "jailbreak": {"filtered": True, "detected": True},
            "protected_material_text": {"filtered": False, "detected": False},
            "custom_blocklists": [
                {"filtered": True, "id": "bl1"},
                {"filtered": False, "id": "bl2"},
            ],
        }
    )
    by_name = {(c.category, c.id): c for c in cats}
    assert by_name[("jailbreak", None)].detected is True
    assert by_name[("custom_blocklists", "bl1")].filtered


def test_newer_blocklist_shape_and_garbage_is_skipped() -> None:
    cats = parse_category_results(
        {
            "custom_blocklists": {"filtered": True, "details": [{"filtered": True, "id": "x"}]},
            "hate": "nonsense",
            3: {},
            "error": {"code": "x"},
        }
    )
    assert [(c.category, c.id) for c in cats] == [("custom_blocklists", "x")]
    assert parse_category_results(None) == ()
    assert parse_prompt_filter_results({"prompt_filter_results": "bad"}) == []
    assert (
        parse_prompt_filter_results({"prompt_filter_results": [1, {"prompt_index": "x"}]})[0].index
        == 0
    )


_verdict = st.fixed_dictionaries(
    {},
    optional={
        "filtered": st.one_of(st.booleans(), st.none(), st.integers(0, 1)),
        "severity": st.sampled_from(["safe", "low", "medium", "high"]),
        "detected": st.booleans(),
        "citation": st.fixed_dictionaries({"URL": st.just("https://x"), "license": st.just("MIT")}),
    },
)
_blocklist = st.fixed_dictionaries(
    {"filtered": st.booleans()}, optional={"id": st.one_of(st.text(max_size=5), st.integers())}
)
_annotation = st.dictionaries(
    st.sampled_from(
        ["hate", "sexual", "violence", "self_harm", "jailbreak", "protected_material_code", "error"]
    ),
    st.one_of(_verdict, st.text(max_size=3), st.none()),
    max_size=6,
) | st.fixed_dictionaries(
    {
        "custom_blocklists": st.one_of(
            st.lists(st.one_of(_blocklist, st.integers()), max_size=3),
            st.fixed_dictionaries(
                {"filtered": st.booleans(), "details": st.lists(_blocklist, max_size=3)}
            ),
            st.none(),
        ),
        "hate": _verdict,
    }
)


@given(_annotation)
@example({"error": {"filtered": True, "code": "ContentFilterUnavailable"}})
@example({"hate": {"filtered": 1, "severity": "high"}, "violence": {"filtered": None}})
@example({"custom_blocklists": {"filtered": True, "details": [{"filtered": True, "id": 7}]}})
@example({"custom_blocklists": [{"filtered": True}, 3, {"filtered": False, "id": "b"}]})
def test_unparsed_verdicts_read_the_same_as_parsed_ones(raw: dict[str, Any]) -> None:
    """The raw-annotation fast paths (a result nobody inspected is never parsed into objects)
    answer exactly what the parsed categories answer, and to_dict is the same either way."""
    lazy = ContentFilterResults("completion", raw=raw)
    parsed = ContentFilterResults("completion", raw=raw)
    _ = parsed.categories  # force parsing
    built = ContentFilterResults("completion", categories=parse_category_results(raw))
    assert lazy.filtered_categories == built.filtered_categories
    assert lazy.filtered == built.filtered == parsed.filtered
    assert lazy.to_dict() == parsed.to_dict()
