"""Content-filter verdicts as plain data, for the adapters to put into their metadata.

One place decides how verdicts are presented, for a finished call and for a stream alike:
which verdicts count (a stream repeats the completion verdict on nearly every chunk, so repeats
are dropped, compared as received before anything is copied) and the two shapes the adapters
expose: Azure's/langchain-openai's ``prompt_filter_results`` + ``content_filter_results``
(:func:`openai_filter_fields`) and one record per distinct verdict (:func:`filter_records`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from azoai.content_filter import ContentFilterResults

__all__ = ["distinct_verdicts", "filter_records", "openai_filter_fields"]


def distinct_verdicts(results: Sequence[ContentFilterResults]) -> list[ContentFilterResults]:
    """``results`` without repeats: one entry per distinct verdict for each (side, index), in
    arrival order."""
    out: list[ContentFilterResults] = []
    seen: dict[tuple[str, int], list[Any]] = {}
    for r in results:
        same_place = seen.setdefault((r.side, r.index), [])
        verdict = r.raw if r.raw is not None else r.categories
        if verdict in same_place:
            continue
        same_place.append(verdict)
        out.append(r)
    return out


def openai_filter_fields(results: Sequence[ContentFilterResults]) -> dict[str, Any]:
    """Azure's own response fields (the shape langchain-openai puts in ``response_metadata``):
    ``prompt_filter_results`` (one entry per prompt) and ``content_filter_results`` (the
    completion's verdict; for a stream, the verdict on the last annotated segment). Absent
    fields when there is no verdict of that side."""
    out: dict[str, Any] = {}
    prompt = [
        {"prompt_index": r.index, "content_filter_results": r.to_dict()}
        for r in distinct_verdicts([r for r in results if r.side == "prompt"])
    ]
    if prompt:
        out["prompt_filter_results"] = prompt
    for r in reversed(results):  # the last one as received, repeats or not
        if r.side == "completion":
            out["content_filter_results"] = r.to_dict()
            break
    return out


def filter_records(results: Sequence[ContentFilterResults]) -> list[dict[str, Any]]:
    """One record per distinct verdict: ``side``, ``index``, ``filtered``,
    ``filtered_categories`` (a blocklist shows as ``blocklist:<id>``) and ``categories`` (Azure's
    per-category shape)."""
    out = []
    for r in distinct_verdicts(results):
        names = r.filtered_categories
        out.append(
            {
                "side": r.side,
                "index": r.index,
                "filtered": bool(names),
                "filtered_categories": names,
                "categories": r.to_dict(),
            }
        )
    return out
