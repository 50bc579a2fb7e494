"""Content-filter verdicts in Azure's shape (azure-openai-facts §5), built from the core's types.

Severity categories (``hate``, ``self_harm``, ``sexual``, ``violence``) carry ``severity``;
detection categories carry ``detected``: ``jailbreak`` and ``indirect_attack`` on the prompt,
``protected_material_text`` and ``protected_material_code`` on the completion. A filtered
severity category reports ``high``.
"""

from __future__ import annotations

from typing import Any, Literal

from azoai.content_filter import CategoryResult, ContentFilterResults

__all__ = [
    "COMPLETION_CATEGORIES",
    "PROMPT_CATEGORIES",
    "completion_results",
    "prompt_filter_results",
    "prompt_results",
]

SEVERITY_CATEGORIES = ("hate", "self_harm", "sexual", "violence")
PROMPT_DETECTIONS = ("jailbreak", "indirect_attack")
COMPLETION_DETECTIONS = ("protected_material_code", "protected_material_text")
PROMPT_CATEGORIES = (*SEVERITY_CATEGORIES, *PROMPT_DETECTIONS)
COMPLETION_CATEGORIES = (*SEVERITY_CATEGORIES, *COMPLETION_DETECTIONS)


def _verdict(
    side: Literal["prompt", "completion"],
    detections: tuple[str, ...],
    filtered: str | None,
    blocklist: str | None,
    *,
    shown: tuple[str, ...],
) -> dict[str, Any]:
    cats: list[CategoryResult] = []
    for name in sorted({*SEVERITY_CATEGORIES, *shown, *([filtered] if filtered else [])}):
        hit = name == filtered
        if name in detections:
            cats.append(CategoryResult(name, filtered=hit, detected=hit))
        else:
            cats.append(CategoryResult(name, filtered=hit, severity="high" if hit else "safe"))
    if blocklist is not None:
        cats.append(CategoryResult("custom_blocklists", filtered=True, id=blocklist))
    return ContentFilterResults(side=side, categories=tuple(cats)).to_dict()


def prompt_results(filtered: str | None = None, *, blocklist: str | None = None) -> dict[str, Any]:
    """The prompt verdict: all safe, or ``filtered`` (a category) / ``blocklist`` (an id) hit."""
    if filtered is not None and filtered not in PROMPT_CATEGORIES:
        raise ValueError(
            f"prompt category {filtered!r} is not one of {', '.join(PROMPT_CATEGORIES)}"
        )
    return _verdict("prompt", PROMPT_DETECTIONS, filtered, blocklist, shown=("jailbreak",))


def completion_results(filtered: str | None = None) -> dict[str, Any]:
    """The per-choice verdict: all safe, or ``filtered`` hit."""
    if filtered is not None and filtered not in COMPLETION_CATEGORIES:
        raise ValueError(
            f"completion category {filtered!r} is not one of {', '.join(COMPLETION_CATEGORIES)}"
        )
    return _verdict(
        "completion", COMPLETION_DETECTIONS, filtered, None, shown=COMPLETION_DETECTIONS
    )


def prompt_filter_results(filtered: str | None = None) -> list[dict[str, Any]]:
    """``prompt_filter_results`` for a response or the first stream chunk."""
    return [{"prompt_index": 0, "content_filter_results": prompt_results(filtered)}]
