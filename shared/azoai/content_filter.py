"""Azure's content-filter annotations turned into data.

Azure reports filtering in several places and spellings: ``prompt_filter_results`` (or the older
``prompt_annotations``) on responses and the first stream chunk, ``content_filter_results`` per
choice, and ``innererror.content_filter_result`` (spec spelling ``inner_error.content_filter_results``)
in a 400 error body. Every one of them is parsed here into the same small types, so callers never
see the spellings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "CategoryResult",
    "ContentFilterResults",
    "parse_category_results",
    "parse_content_filters",
    "parse_prompt_filter_results",
]

Side = Literal["prompt", "completion"]


@dataclass(frozen=True, slots=True)
class CategoryResult:
    """One category's verdict: severity categories carry ``severity``, detection ones ``detected``."""

    category: str
    filtered: bool
    severity: str | None = None
    detected: bool | None = None
    id: str | None = None  # custom blocklist id

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"filtered": self.filtered}
        if self.severity is not None:
            out["severity"] = self.severity
        if self.detected is not None:
            out["detected"] = self.detected
        if self.id is not None:
            out["id"] = self.id
        return out


class ContentFilterResults:
    """The verdict for one side (prompt or completion) of one request.

    Built from Azure's raw annotation (``raw=``) the categories are parsed only when first read:
    a stream carries an annotation on nearly every chunk, and most are never inspected."""

    __slots__ = ("_categories", "_raw", "index", "offsets", "side")

    def __init__(
        self,
        side: Side,
        categories: tuple[CategoryResult, ...] | None = None,
        index: int = 0,
        offsets: Mapping[str, int] | None = None,
        *,
        raw: Mapping[str, Any] | None = None,
    ) -> None:
        self.side = side
        self.index = index
        self.offsets = offsets
        self._categories = tuple(categories) if categories is not None else None
        self._raw = raw

    @property
    def raw(self) -> Mapping[str, Any] | None:
        """Azure's annotation as received (``None`` when built from categories)."""
        return self._raw

    @property
    def categories(self) -> tuple[CategoryResult, ...]:
        if self._categories is None:
            self._categories = parse_category_results(self._raw)
        return self._categories

    def __repr__(self) -> str:
        return f"ContentFilterResults(side={self.side!r}, index={self.index}, categories={self.categories!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ContentFilterResults):
            return NotImplemented
        return (self.side, self.index, self.offsets, self.categories) == (
            other.side,
            other.index,
            other.offsets,
            other.categories,
        )

    def __hash__(self) -> int:
        return hash((self.side, self.index, self.categories))

    @property
    def filtered(self) -> bool:
        return bool(self.filtered_categories)

    @property
    def filtered_categories(self) -> list[str]:
        """Names of the categories that caused filtering (a blocklist shows as ``blocklist:<id>``)."""
        if self._categories is None and self._raw is not None:
            return _filtered_names(self._raw)  # one pass over the annotation, no objects built
        out = []
        for c in self.categories:
            if c.filtered:
                out.append(f"blocklist:{c.id}" if c.category == "custom_blocklists" else c.category)
        return out

    def to_dict(self) -> dict[str, Any]:
        """Azure's own shape (``{"hate": {"filtered": false, "severity": "safe"}, ...}``): a copy
        of the annotation Azure sent (minus an ``error`` entry), or built from the categories."""
        if self._raw is not None:
            raw: dict[str, Any] = {}
            for k, v in self._raw.items():
                if not isinstance(k, str) or k == "error":
                    continue
                # dict first: parsed JSON, and a plain type check (Mapping's is an ABC lookup,
                # per category on every call's metadata)
                if isinstance(v, (dict, Mapping)):
                    raw[k] = dict(v)
                elif k == "custom_blocklists" and isinstance(v, list):
                    raw[k] = list(v)
            return raw
        out: dict[str, Any] = {}
        for c in self.categories:
            if c.category == "custom_blocklists":
                out.setdefault("custom_blocklists", []).append(c.to_dict())
            else:
                out[c.category] = c.to_dict()
        return out


def _filtered_names(raw: Mapping[str, Any]) -> list[str]:
    """:attr:`ContentFilterResults.filtered_categories` read straight from Azure's annotation,
    with :func:`parse_category_results`'s rules."""
    out: list[str] = []
    for name, value in raw.items():
        if name == "custom_blocklists":
            items = value.get("details", []) if isinstance(value, Mapping) else value
            if isinstance(items, list):
                for item in items:
                    if isinstance(item, Mapping) and item.get("filtered", False):
                        ident = item.get("id")
                        out.append(f"blocklist:{str(ident) if ident is not None else None}")
        elif (
            isinstance(value, Mapping)
            and value.get("filtered", False)
            and isinstance(name, str)
            and name != "error"
        ):
            out.append(name)
    return out


def parse_category_results(raw: object) -> tuple[CategoryResult, ...]:
    """Parse one ``content_filter_result(s)`` object. Anything malformed is skipped, never raised."""
    if not isinstance(raw, Mapping):
        return ()
    out: list[CategoryResult] = []
    for name, value in raw.items():
        if not isinstance(name, str):
            continue
        if name == "custom_blocklists":
            items: Any = value
            if isinstance(items, Mapping):  # newer shape: {"filtered": bool, "details": [...]}
                items = items.get("details", [])
            if isinstance(items, list):
                for item in items:
                    if isinstance(item, Mapping):
                        out.append(
                            CategoryResult(
                                category=name,
                                filtered=bool(item.get("filtered", False)),
                                id=str(item.get("id")) if item.get("id") is not None else None,
                            )
                        )
            continue
        if name == "error" or not isinstance(value, Mapping):
            continue
        severity = value.get("severity")
        detected = value.get("detected")
        out.append(
            CategoryResult(
                category=name,
                filtered=bool(value.get("filtered", False)),
                severity=severity if isinstance(severity, str) else None,
                detected=detected if isinstance(detected, bool) else None,
            )
        )
    return tuple(out)


def parse_prompt_filter_results(body: Mapping[str, Any]) -> list[ContentFilterResults]:
    """Read ``prompt_filter_results`` (or ``prompt_annotations``) from a response or chunk."""
    raw = body.get("prompt_filter_results")
    if raw is None:
        raw = body.get("prompt_annotations")
    if not isinstance(raw, list):
        return []
    out = []
    for item in raw:
        if not isinstance(item, Mapping):
            continue
        idx = item.get("prompt_index", 0)
        out.append(
            ContentFilterResults(
                side="prompt",
                index=idx if isinstance(idx, int) else 0,
                raw=raw_results
                if isinstance(raw_results := item.get("content_filter_results"), Mapping)
                else None,
            )
        )
    return out


def parse_content_filters(raw: object) -> list[ContentFilterResults]:
    """The Responses API's ``content_filters`` list (on a response object, and in the newer
    error body beside ``innererror.code: "ContentFiltered"``): one entry per checked segment,
    ``{"blocked", "source_type": "prompt"|"completion", "content_filter_results",
    "content_filter_offsets"}``. An entry without ``source_type`` counts as the prompt's."""
    if not isinstance(raw, list):
        return []
    out: list[ContentFilterResults] = []
    for item in raw:
        if not isinstance(item, Mapping):
            continue
        results = item.get("content_filter_results")
        if not isinstance(results, Mapping):
            results = item.get("content_filter_result")
        offsets = item.get("content_filter_offsets")
        side: Side = "completion" if item.get("source_type") == "completion" else "prompt"
        out.append(
            ContentFilterResults(
                side=side,
                offsets={k: v for k, v in offsets.items() if isinstance(v, int)}
                if isinstance(offsets, Mapping)
                else None,
                raw=results if isinstance(results, Mapping) else {},
            )
        )
    return out


def blocked_side(raw: object) -> Side | None:
    """The side a ``content_filters`` list says was blocked (``blocked: true``), if any."""
    if isinstance(raw, list):
        for item in raw:
            if isinstance(item, Mapping) and item.get("blocked") is True:
                return "completion" if item.get("source_type") == "completion" else "prompt"
    return None


def parse_error_filter_results(error: Mapping[str, Any]) -> ContentFilterResults | None:
    """The filter verdict inside a 400 error object: ``innererror.content_filter_result`` (or
    the spec's ``inner_error.content_filter_results``), else the newer ``content_filters`` list
    (beside ``innererror.code: "ContentFiltered"``, or inside ``innererror``)."""
    inner = error.get("innererror")
    if not isinstance(inner, Mapping):
        inner = error.get("inner_error")
    if not isinstance(inner, Mapping):
        inner = {}
    listed = parse_content_filters(error.get("content_filters") or inner.get("content_filters"))
    if listed:
        blocked = [r for r in listed if r.filtered]
        return (blocked or listed)[0]
    raw = inner.get("content_filter_result")
    if raw is None:
        raw = inner.get("content_filter_results")
    if raw is None:
        return None
    return ContentFilterResults(side="prompt", categories=parse_category_results(raw))
