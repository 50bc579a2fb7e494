"""Content-filter verdicts in Azure's shape, from the emulator's own category table.

Sources: both vendored specs (``contentFilterPromptResults``, ``contentFilterChoiceResults``,
``contentFilterSeverityResult``, ``contentFilterDetectedResult``) and azure-openai-facts §4.9,
§5.1. Severity categories (``hate``, ``self_harm``, ``sexual``, ``violence``) carry ``filtered``
and ``severity`` (``safe``/``low``/``medium``/``high``); detection categories carry ``filtered``
and ``detected``: ``jailbreak`` and ``indirect_attack`` on the prompt (indirect_attack is in the
2025-04-01-preview spec only), ``protected_material_text`` and ``protected_material_code`` on
the completion. A custom blocklist hit is a list of ``{"filtered", "id"}`` (the wire example of
facts §4.9; the preview spec's ``{"filtered", "details": [...]}`` form is not sent). A filtered
severity category reports ``high``.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "COMPLETION_CATEGORIES",
    "COMPLETION_DETECTIONS",
    "PROMPT_CATEGORIES",
    "PROMPT_DETECTIONS",
    "SEVERITY_CATEGORIES",
    "SEVERITY_LEVELS",
    "completion_results",
    "prompt_filter_results",
    "prompt_results",
]

SEVERITY_CATEGORIES = ("hate", "self_harm", "sexual", "violence")
#: contentFilterSeverityResult.severity (both specs).
SEVERITY_LEVELS = ("safe", "low", "medium", "high")
PROMPT_DETECTIONS = ("jailbreak", "indirect_attack")
COMPLETION_DETECTIONS = ("protected_material_code", "protected_material_text")
PROMPT_CATEGORIES = (*SEVERITY_CATEGORIES, *PROMPT_DETECTIONS)
COMPLETION_CATEGORIES = (*SEVERITY_CATEGORIES, *COMPLETION_DETECTIONS)


def _verdict(
    detections: tuple[str, ...],
    filtered: str | None,
    blocklist: str | None,
    *,
    shown: tuple[str, ...],
) -> dict[str, Any]:
    # Azure's own samples list the categories alphabetically, custom_blocklists first (facts §4.9).
    out: dict[str, Any] = {}
    if blocklist is not None:
        out["custom_blocklists"] = [{"filtered": True, "id": blocklist}]
    for name in sorted({*SEVERITY_CATEGORIES, *shown, *([filtered] if filtered else [])}):
        hit = name == filtered
        if name in detections:
            out[name] = {"filtered": hit, "detected": hit}
        else:
            out[name] = {"filtered": hit, "severity": "high" if hit else "safe"}
    return out


def prompt_results(filtered: str | None = None, *, blocklist: str | None = None) -> dict[str, Any]:
    """The prompt verdict: all safe, or ``filtered`` (a category) / ``blocklist`` (an id) hit.
    ``jailbreak`` is always reported (facts §5.1); ``indirect_attack`` only when it fires."""
    if filtered is not None and filtered not in PROMPT_CATEGORIES:
        raise ValueError(
            f"prompt category {filtered!r} is not one of {', '.join(PROMPT_CATEGORIES)}"
        )
    return _verdict(PROMPT_DETECTIONS, filtered, blocklist, shown=("jailbreak",))


def completion_results(filtered: str | None = None) -> dict[str, Any]:
    """The per-choice verdict: all safe, or ``filtered`` hit (facts §5.1)."""
    if filtered is not None and filtered not in COMPLETION_CATEGORIES:
        raise ValueError(
            f"completion category {filtered!r} is not one of {', '.join(COMPLETION_CATEGORIES)}"
        )
    return _verdict(COMPLETION_DETECTIONS, filtered, None, shown=COMPLETION_DETECTIONS)


def prompt_filter_results(filtered: str | None = None) -> list[dict[str, Any]]:
    """``prompt_filter_results`` for a response or the first stream chunk."""
    return [{"prompt_index": 0, "content_filter_results": prompt_results(filtered)}]
