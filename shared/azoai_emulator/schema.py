"""Build a value that validates against a JSON schema, drawing the values from the user's text.

Used for tool-call arguments and ``json_schema`` replies. Supported keywords: ``type`` (also as a
list), ``properties``, ``required``, ``additionalProperties``, ``items``, ``minItems``,
``maxItems``, ``uniqueItems``, ``enum``, ``const``, ``anyOf``, ``oneOf``, ``allOf``, ``$ref``
(within the document), ``minimum``/``maximum`` (and the exclusive forms), ``minLength``,
``maxLength``, ``pattern`` (best effort) and ``format`` (date, date-time, time, email, uri, uuid).

How values are chosen, property by property:

* ``enum``: the value the text mentions, else the first; ``const``: the constant;
* numbers: the numbers in the text, in order, clamped to the bounds (else the minimum or 0);
* booleans: true when the property's name is mentioned in the text;
* strings by property name: places (city, location, ...) and names (name, customer_name, company,
  ...) take a quoted name from the text first ("a customer named '你好啊集团'"; quoted text
  counts as a name unless its first letter is lower-case), then its proper nouns in order (or,
  for places, the phrase after "in"/"for"/...); proper nouns skip sentence-initial verbs
  ("Create ...") and words of the request itself ("Weather in Lisbon" asking ``get_weather``),
  see :func:`azoai_emulator.extract.proper_nouns` and :attr:`Hints.ignore`; expressions take the
  arithmetic in the text; anything else takes quoted text not used yet, else
  :attr:`Hints.default_text`;
* arrays: one item per name or number for such items, else ``max(minItems, 1)`` items;
* optional properties are filled when :attr:`Hints.fill_optional` is set (JSON replies) or the
  text holds evidence for them (tool arguments).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from azoai_emulator import extract
from azoai_emulator.tokens import stem, words, wordset

__all__ = ["Hints", "instance", "name_class", "schema_problem"]

_PLACE = wordset(
    "city cities location locations place places country countries state region destination "
    "origin town address where"
)
_PERSON = wordset(
    "name names person people user username author company organization organisation who"
)
_EXPRESSION = wordset("expression expr formula equation calculation math")
_FORMAT_DEFAULTS = {
    "date": "2024-01-01",
    "date-time": "2024-01-01T00:00:00Z",
    "time": "00:00:00",
    "email": "user@example.com",
    "uri": "https://example.com",
    "url": "https://example.com",
    "uuid": "00000000-0000-0000-0000-000000000000",
}
_FORMAT_FINDERS = {
    "date": re.compile(r"\d{4}-\d{2}-\d{2}"),
    "date-time": re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})"),
    "email": re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"),
    "uri": re.compile(r"https?://\S+"),
    "url": re.compile(r"https?://\S+"),
}
_MAX_DEPTH = 10


@dataclass
class Hints:
    """Where values come from. ``text`` is the user's request; ``default_text`` fills free-text
    fields; ``fill_optional`` fills every property rather than only those the text supports;
    ``ignore`` holds the stemmed words of the request itself (a tool's name and description), so a
    capitalised "Weather" asking ``get_weather`` is never taken for a place."""

    text: str
    default_text: str
    fill_optional: bool = False
    ignore: frozenset[str] = frozenset()
    _numbers: list[int | float] = field(default_factory=list, init=False)
    _names: list[tuple[str, bool]] = field(default_factory=list, init=False)
    _quoted: list[str] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self._numbers = extract.numbers(self.text)
        self._names = extract.names(self.text, self.ignore)
        self._quoted = extract.quoted(self.text)

    def take_number(self) -> int | float | None:
        return self._numbers.pop(0) if self._numbers else None

    def take_name(self) -> str | None:
        """The first quoted name, else the first proper noun (see :func:`extract.names`)."""
        if not self._names:
            return None
        index = next((i for i, (_, quoted) in enumerate(self._names) if quoted), 0)
        value = self._names.pop(index)[0]
        if value in self._quoted:
            self._quoted.remove(value)
        return value

    def take_all_names(self) -> list[str]:
        values = [value for value, _ in self._names]
        self._names = []
        self._quoted = [q for q in self._quoted if q not in values]
        return values

    def take_all_numbers(self) -> list[int | float]:
        nums, self._numbers = self._numbers, []
        return nums

    def take_quoted(self) -> str | None:
        if not self._quoted:
            return None
        value = self._quoted.pop(0)
        self._names = [n for n in self._names if n[0] != value]
        return value

    def has_numbers(self) -> bool:
        return bool(self._numbers)

    def has_names(self) -> bool:
        return bool(self._names)

    def mentions(self, name: str) -> bool:
        wanted = {stem(w) for w in words(name)}
        return bool(wanted) and wanted <= {stem(w) for w in words(self.text)}


def schema_problem(schema: Any) -> str | None:
    """Why ``schema`` is not a valid JSON Schema (Draft 2020-12 metaschema), in the words of the
    ``jsonschema`` library, or ``None``. Azure (OpenAI's validation) answers a tool whose
    parameters fail it with exactly these words: "Invalid schema for function 'f': [] is not of
    type 'object', 'boolean'." (FoundationAgents/OpenManus#1162), "'objekt' is not valid under
    any of the given schemas"."""
    from jsonschema.exceptions import best_match

    error = best_match(_metaschema_validator().iter_errors(schema))
    return None if error is None else str(error.message)


@functools.cache
def _metaschema_validator() -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(Draft202012Validator.META_SCHEMA)


def instance(schema: Any, hints: Hints, *, root: Any = None, name: str = "") -> Any:
    """A value valid against ``schema`` (see the module docstring for how values are chosen)."""
    return _value(schema, hints, root if root is not None else schema, name, 0)


def _resolve(schema: Any, root: Any) -> Any:
    seen = 0
    while isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str) and seen < 32:
        ref = schema["$ref"]
        if not ref.startswith("#"):
            return {}
        target: Any = root
        for part in ref[1:].split("/"):
            if not part:
                continue
            key = part.replace("~1", "/").replace("~0", "~")
            if isinstance(target, Mapping) and key in target:
                target = target[key]
            else:
                return {}
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**target, **rest} if rest and isinstance(target, Mapping) else target
        seen += 1
    return schema


def _merge_all_of(schema: Mapping[str, Any], root: Any) -> dict[str, Any]:
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    props: dict[str, Any] = dict(merged.get("properties") or {})
    required: list[str] = list(merged.get("required") or [])
    for part in schema.get("allOf") or []:
        sub = _resolve(part, root)
        if not isinstance(sub, Mapping):
            continue
        if "allOf" in sub:
            sub = _merge_all_of(sub, root)
        props.update(sub.get("properties") or {})
        required.extend(r for r in sub.get("required") or [] if r not in required)
        for key, value in sub.items():
            if key not in ("properties", "required"):
                merged.setdefault(key, value)
    if props:
        merged["properties"] = props
    if required:
        merged["required"] = required
    return merged


def _kind(schema: Mapping[str, Any]) -> str:
    t = schema.get("type")
    if isinstance(t, list):
        non_null = [x for x in t if x != "null"]
        return str(non_null[0]) if non_null else "null"
    if isinstance(t, str):
        return t
    if "properties" in schema or "additionalProperties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return "string"


def _value(schema: Any, hints: Hints, root: Any, name: str, depth: int) -> Any:
    schema = _resolve(schema, root)
    if not isinstance(schema, Mapping):
        return hints.default_text if schema is not False else None
    if "allOf" in schema:
        schema = _merge_all_of(schema, root)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return _enum(schema["enum"], hints)
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            if depth > _MAX_DEPTH and any(_is_null(o, root) for o in options):
                return None  # stop a recursive schema where it allows it
            return _value(_pick_branch(options, root), hints, root, name, depth + 1)
    kind = _kind(schema)
    if depth > _MAX_DEPTH:
        return _minimal(schema, kind)
    if kind == "object":
        return _object(schema, hints, root, depth)
    if kind == "array":
        return _array(schema, hints, root, name, depth)
    if kind in ("integer", "number"):
        return _number(schema, kind, hints.take_number())
    if kind == "boolean":
        return hints.mentions(name) if name else False
    if kind == "null":
        return None
    return _string(schema, hints, name)


def _is_null(option: Any, root: Any) -> bool:
    resolved = _resolve(option, root)
    return isinstance(resolved, Mapping) and resolved.get("type") == "null"


def _pick_branch(options: list[Any], root: Any) -> Any:
    return next((o for o in options if not _is_null(o, root)), options[0])


def _enum(values: list[Any], hints: Hints) -> Any:
    lowered = hints.text.lower()
    for value in values:
        if (
            isinstance(value, str)
            and value
            and re.search(rf"(?<!\w){re.escape(value.lower())}(?!\w)", lowered)
        ):
            return value
    return values[0]


def _minimal(schema: Mapping[str, Any], kind: str) -> Any:
    t = schema.get("type")
    if isinstance(t, list) and "null" in t:
        return None
    return {
        "object": {},
        "array": [],
        "integer": 0,
        "number": 0,
        "boolean": False,
        "null": None,
    }.get(kind, "")


def name_class(name: str) -> str:
    """What a property holds, judged by its name: ``place``, ``person``, ``expression`` or ``text``."""
    parts = {w.lower() for w in words(name)} | {stem(w) for w in words(name)}
    if parts & _EXPRESSION:
        return "expression"
    if parts & _PLACE:
        return "place"
    if parts & _PERSON:
        return "person"
    return "text"


def _has_evidence(schema: Any, name: str, hints: Hints, root: Any) -> bool:
    schema = _resolve(schema, root)
    if not isinstance(schema, Mapping):
        return False
    if isinstance(schema.get("enum"), list):
        lowered = hints.text.lower()
        return any(isinstance(v, str) and v.lower() in lowered for v in schema["enum"])
    kind = _kind(schema)
    if kind in ("integer", "number"):
        return hints.has_numbers()
    if kind == "boolean":
        return hints.mentions(name)
    if kind == "string":
        cls = name_class(name)
        if cls in ("place", "person"):
            return hints.has_names()
        if cls == "expression":
            return extract.arithmetic(hints.text) is not None
    return False


def _object(schema: Mapping[str, Any], hints: Hints, root: Any, depth: int) -> dict[str, Any]:
    props = schema.get("properties")
    props = props if isinstance(props, Mapping) else {}
    required = [r for r in schema.get("required") or [] if isinstance(r, str)]
    out: dict[str, Any] = {}
    for key in required:
        out[key] = _value(props.get(key, {}), hints, root, key, depth + 1)
    for key, sub in props.items():
        if key in out:
            continue
        if hints.fill_optional or _has_evidence(sub, key, hints, root):
            out[key] = _value(sub, hints, root, key, depth + 1)
    min_props = schema.get("minProperties")
    if isinstance(min_props, int) and len(out) < min_props:
        for key, sub in props.items():
            if len(out) >= min_props:
                break
            out.setdefault(key, _value(sub, hints, root, key, depth + 1))
    return out


def _array(schema: Mapping[str, Any], hints: Hints, root: Any, name: str, depth: int) -> list[Any]:
    items = _resolve(schema.get("items", {}), root)
    raw_min, raw_max = schema.get("minItems"), schema.get("maxItems")
    min_items: int = raw_min if isinstance(raw_min, int) else 0
    max_items: int | None = raw_max if isinstance(raw_max, int) else None
    values: list[Any] = []
    if isinstance(items, Mapping) and "enum" not in items:
        kind = _kind(items)
        if kind == "string" and name_class(name) in ("place", "person"):
            values = hints.take_all_names()
        elif kind in ("integer", "number") and hints.has_numbers():
            values = [_number(items, kind, n) for n in hints.take_all_numbers()]
    if not values:
        count = max(min_items, 1)
        values = [_value(items, hints, root, name, depth + 1) for _ in range(count)]
    if schema.get("uniqueItems"):
        unique: list[Any] = []
        for v in values:
            if v not in unique:
                unique.append(v)
        values = unique
    if max_items is not None:
        values = values[:max_items]
    while len(values) < min_items:  # a uniqueItems array too short: add distinct fillers
        values.append(_filler(items, len(values), root))
    return values


def _filler(items: Any, index: int, root: Any) -> Any:
    items = _resolve(items, root)
    kind = _kind(items) if isinstance(items, Mapping) else "string"
    if kind in ("integer", "number"):
        return index
    if kind == "string":
        return f"item {index + 1}"
    return _minimal(items if isinstance(items, Mapping) else {}, kind)


def _number(schema: Mapping[str, Any], kind: str, value: int | float | None) -> int | float:
    lo = schema.get("minimum")
    hi = schema.get("maximum")
    xlo = schema.get("exclusiveMinimum")
    xhi = schema.get("exclusiveMaximum")
    step = 1 if kind == "integer" else 0.5
    if isinstance(xlo, int | float) and not isinstance(xlo, bool):
        lo = xlo + step if lo is None else max(lo, xlo + step)
    if isinstance(xhi, int | float) and not isinstance(xhi, bool):
        hi = xhi - step if hi is None else min(hi, xhi - step)
    v: int | float = value if value is not None else (lo if isinstance(lo, int | float) else 0)
    if isinstance(lo, int | float) and v < lo:
        v = lo
    if isinstance(hi, int | float) and v > hi:
        v = hi
    if kind == "integer":
        v = int(v) if float(v).is_integer() else round(v)
        if isinstance(lo, int | float) and v < lo:
            v += 1
    return v


def _string(schema: Mapping[str, Any], hints: Hints, name: str) -> str:
    fmt = schema.get("format")
    if isinstance(fmt, str) and fmt in _FORMAT_DEFAULTS:
        finder = _FORMAT_FINDERS.get(fmt)
        found = finder.search(hints.text) if finder else None
        return found.group(0) if found else _FORMAT_DEFAULTS[fmt]
    cls = name_class(name) if name else "text"
    value: str | None = None
    if cls == "expression":
        value = extract.arithmetic(hints.text)
    elif cls in ("place", "person"):
        value = hints.take_name()
        if value is None and cls == "place":
            value = extract.phrase_after_preposition(hints.text)
    if value is None:
        value = hints.take_quoted() or hints.default_text
    return _fit_string(schema, value, hints)


def _fit_string(schema: Mapping[str, Any], value: str, hints: Hints) -> str:
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        try:
            rx = re.compile(pattern)
        except re.error:
            rx = None
        if rx is not None and rx.search(value) is None:
            candidates = [
                *re.findall(r"\S+", hints.text),
                *re.findall(r"\w+", hints.text),
                "a",
                "A",
                "0",
                "a1",
            ]
            value = next((c for c in candidates if rx.search(c)), value)
    min_len = schema.get("minLength")
    max_len = schema.get("maxLength")
    if isinstance(min_len, int) and len(value) < min_len:
        value = value + "." * (min_len - len(value))
    if isinstance(max_len, int) and len(value) > max_len:
        value = value[:max_len]
    return value
