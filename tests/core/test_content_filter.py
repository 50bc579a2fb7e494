"""Content-filter annotations in every spelling Azure uses (facts §5)."""

from __future__ import annotations

from azoai.content_filter import parse_category_results, parse_prompt_filter_results

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
