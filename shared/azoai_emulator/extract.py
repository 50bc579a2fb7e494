"""Pull values out of a user's message: numbers, quoted text, names, places, arithmetic, and the
JSON keys a prompt asks for in prose.

The model uses these to fill tool arguments and JSON fields from what the user wrote. Each is a
small general rule (no list of known cities or names), so the results are predictable.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable, Collection

from azoai_emulator.tokens import FUNCTION_WORDS, STOPWORDS, stem, words, wordset

__all__ = [
    "IMPERATIVE_VERBS",
    "arithmetic",
    "evaluate",
    "named_keys",
    "names",
    "numbers",
    "phrase_after_preposition",
    "proper_nouns",
    "quoted",
]

_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w])")
_QUOTED = re.compile(r"\"([^\"]+)\"|“([^”]+)”|(?<!\w)'([^']+)'(?!\w)|`([^`]+)`")
_CAP_WORD = r"[A-Z][\w'’-]*"
_PROPER = re.compile(
    rf"{_CAP_WORD}(?:\s+(?:(?:of|de|la|le|del|du|von|van|der|da)\s+)?{_CAP_WORD})*(?:,\s*[A-Z]{{2}}\b)?"
)
_PREPOSITION = re.compile(r"\b(?:in|at|for|near|from|about|to)\s+(?:the\s+)?([^,.;:!?\n]+)", re.I)
_ARITH = re.compile(r"[-(]*\s*\d+(?:\.\d+)?(?:\s*[-+*/×x÷^%]\s*[(]*\s*-?\d+(?:\.\d+)?\s*[)]*)+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
#: Verbs that start a request ("Create a customer named ...", "Book a table at ..."): not names when
#: they open a sentence. Verbs that are also first names (mark, bill, sue, pat) are left out.
IMPERATIVE_VERBS = wordset(
    "create make add set book register update delete remove find get show list send schedule "
    "cancel open close start stop buy order play search fetch convert translate generate draft plan "
    "reserve rename move assign invite notify email remind post upload download print save store "
    "track check look lookup sum count sort rate review write read edit change enable disable turn "
    "pay transfer submit apply fill run call use give tell put place insert enter record log "
    "subscribe unsubscribe archive share copy"
)
_OPENERS = frozenset(" \t\"'“‘(*•>-")
_HEAD_BEFORE_PLACE = re.compile(r"\s+(?:in|at|near|around|for|from)\s+(?:the\s+)?[A-Z]")
_LEADING_VERBS = wordset(
    "what whats how hows who whos when where why which is are was were do does did can could "
    "would will should tell give show find get call use run please hi hello hey say reply "
    "respond repeat return compute calculate check look search add multiply divide subtract "
    "compare list name describe explain summarize summarise write i the a an"
)


# --- JSON keys named in prose --------------------------------------------------------------------

_KEY_NOUN = r"(?:keys?|fields?|propert(?:y|ies)|attributes?)"
_QUOTED_KEY = r"(?:\"[^\"\n]{1,40}\"|“[^”\n]{1,40}”|(?<!\w)'[^'\n]{1,40}'(?!\w)|‘[^’\n]{1,40}’|`[^`\n]{1,40}`)"
#: Words that are never a bare (unquoted) key name: function words (single letters allowed, as in
#: "fields a and b") and the vocabulary of the request itself.
_NOT_A_KEY = sorted(
    {w for w in FUNCTION_WORDS if len(w) > 1}
    | wordset(
        "json object objects key keys field fields property properties attribute attributes "
        "value values named called following both two three four five result response output "
        "format string strings list array"
    ),
    key=len,
    reverse=True,
)
_BARE_KEY = rf"\b(?!(?:{'|'.join(_NOT_A_KEY)})\b)[A-Za-z_][\w-]{{0,39}}\b"
_KEY_SEP = r"(?:\s*,\s*(?:(?:and|or)\s+)?|\s+(?:and|or|&)\s+|\s*\n\s*(?:[-*•]|\d+[.)])\s+)"
_QUOTED_LIST = rf"{_QUOTED_KEY}(?:{_KEY_SEP}{_QUOTED_KEY})*"
_BARE_LIST = rf"{_BARE_KEY}(?:{_KEY_SEP}{_BARE_KEY})+"  # two or more: one bare word is too vague
_LIST_START = r"(?:\s+(?:named|called))?\s*[:,(]?\s*(?:\n\s*(?:[-*•]|\d+[.)])\s+)?"
_KEYS_AFTER_NOUN = re.compile(rf"\b{_KEY_NOUN}\b{_LIST_START}({_QUOTED_LIST}|{_BARE_LIST})", re.I)
_KEYS_BEFORE_NOUN = re.compile(
    rf"({_QUOTED_LIST}|{_BARE_LIST})\s+(?:as\s+)?(?:the\s+)?(?:json\s+)?{_KEY_NOUN}\b", re.I
)
_KEY_ITEM = re.compile(rf"{_QUOTED_KEY}|{_BARE_KEY}", re.I)


def named_keys(text: str) -> list[str]:
    """JSON keys the text names in prose, in reading order: quoted names next to the words
    key/keys/field/fields/property/properties/attribute(s), on either side ("with 'setup' and
    'punchline' keys", "keys 'a', 'b'", 'properties "x" and "y"', "a 'name' field and an 'age'
    field"), or two or more bare names after such a word ("fields a and b", "the keys: name, age
    and city", or a bulleted list after "keys:")."""
    found: list[tuple[int, str]] = []
    for rx in (_KEYS_AFTER_NOUN, _KEYS_BEFORE_NOUN):
        for m in rx.finditer(text):
            for item in _KEY_ITEM.finditer(m.group(1)):
                found.append((m.start(1) + item.start(), item.group(0)))
    keys: list[str] = []
    for _, raw in sorted(found):
        key = raw[1:-1] if raw[0] in "\"“'‘`" else raw
        key = key.strip()
        if key and key not in keys:
            keys.append(key)
    return keys


def numbers(text: str) -> list[int | float]:
    """Numbers in reading order; integers stay ``int``."""
    out: list[int | float] = []
    for m in _NUMBER.finditer(text):
        raw = m.group(0)
        out.append(float(raw) if "." in raw else int(raw))
    return out


def quoted(text: str) -> list[str]:
    """Text inside double quotes, curly quotes, single quotes (not apostrophes) or backticks."""
    return [next(g for g in m.groups() if g is not None) for m in _QUOTED.finditer(text)]


def proper_nouns(text: str) -> list[str]:
    """Capitalised phrases (``Paris``, ``New York``, ``San Francisco, CA``), in reading order,
    less the words that are only capitalised because they start a sentence:

    * a leading question word or verb anywhere (``What``, ``Tell``);
    * at the start of a sentence, an imperative verb (``Create``, ``Book``, ``Register``,
      ``Schedule``, ... see :data:`IMPERATIVE_VERBS`): "Create a customer named Acme" names Acme;
    * at the start of a sentence, a lone word followed by ``in``/``at``/``near``/``around``/
      ``for``/``from`` and another capitalised phrase: the head of the request, as "Weather" in
      "Weather in Lisbon?" or "Hotels" in "Hotels near Porto".
    """
    return [phrase for phrase, _, _ in _proper_spans(text)]


def names(text: str, ignore: Collection[str] = frozenset()) -> list[tuple[str, bool]]:
    """The names a message gives, in reading order, each with whether it was quoted: quoted text
    that looks like a name (its first letter is not lower-case: ``'Acme'``, ``'你好啊集团'``, not
    ``'best pizza'``) and the :func:`proper_nouns` outside those quotes. A name whose stemmed words
    are all in ``ignore`` (the words of the request itself, such as a tool's name) is left out."""
    found: list[tuple[int, str, bool]] = []
    spans: list[tuple[int, int]] = []
    for m in _QUOTED.finditer(text):
        index = next(i for i, g in enumerate(m.groups(), 1) if g is not None)
        value = m.group(index).strip()
        first = next((c for c in value if c.isalpha()), "")
        if first and not first.islower():
            found.append((m.start(), value, True))
            spans.append((m.start(), m.end()))
    for phrase, start, end in _proper_spans(text):
        if not any(a <= start and end <= b for a, b in spans):
            found.append((start, phrase, False))
    ignored = set(ignore)
    out: list[tuple[str, bool]] = []
    seen: set[str] = set()
    for _, value, was_quoted in sorted(found):
        stems = {stem(w) for w in words(value)}
        if value in seen or (ignored and stems and stems <= ignored):
            continue
        seen.add(value)
        out.append((value, was_quoted))
    return out


def _proper_spans(text: str) -> list[tuple[str, int, int]]:
    """(phrase, start, end) of each distinct :func:`proper_nouns` phrase, first occurrence."""
    out: list[tuple[str, int, int]] = []
    seen: set[str] = set()
    for m in _PROPER.finditer(text):
        phrase = m.group(0).rstrip(".'’-")
        parts = list(re.finditer(r"\S+", phrase))
        initial = _sentence_initial(text, m.start())
        dropped = _LEADING_VERBS | STOPWORDS | (IMPERATIVE_VERBS if initial else frozenset())
        while parts and _bare(parts[0].group(0)) in dropped:
            parts.pop(0)
        end = m.start() + len(phrase)
        if (
            initial
            and len(parts) == 1
            and parts[0].start() == 0
            and _HEAD_BEFORE_PLACE.match(text, end)
        ):
            continue  # "Weather in Lisbon": the head of the request, not a name
        cleaned = " ".join(p.group(0) for p in parts)
        if cleaned and not _NUMBER.fullmatch(cleaned) and cleaned not in seen:
            seen.add(cleaned)
            out.append((cleaned, m.start() + parts[0].start(), end))
    return out


def _sentence_initial(text: str, index: int) -> bool:
    i = index - 1
    while i >= 0 and text[i] in _OPENERS:
        i -= 1
    return i < 0 or text[i] in ".!?:;\n"


def _bare(word: str) -> str:
    return re.sub(r"[^a-z]", "", word.lower())


def phrase_after_preposition(text: str) -> str | None:
    """The phrase after the last ``in``/``at``/``for``/``about``..., e.g. ``"weather in paris"``
    gives ``"paris"``."""
    matches = list(_PREPOSITION.finditer(text))
    if not matches:
        return None
    phrase = matches[-1].group(1).strip()
    return phrase or None


def arithmetic(text: str) -> str | None:
    """The first arithmetic expression in ``text`` (``"3 * (4 + 5)"``), or ``None``."""
    for m in _ARITH.finditer(text):
        expr = m.group(0).strip()
        if _DATE.fullmatch(expr) is None and evaluate(expr) is not None:
            return expr
    return None


_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}


def evaluate(expr: str) -> int | float | None:
    """Evaluate + - * / % ^ and parentheses safely; ``None`` when it is not plain arithmetic."""
    source = expr.replace("×", "*").replace("÷", "/").replace("^", "**")
    source = re.sub(r"(?<=[\d)\s])x(?=[\s\d(])", "*", source)
    try:
        tree = ast.parse(source, mode="eval")
        value = _eval(tree.body)
    except (SyntaxError, ValueError, ZeroDivisionError, OverflowError, TypeError):
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value


def _eval(node: ast.expr) -> int | float:
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    ):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _eval(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > 64:
            raise ValueError("exponent too large")
        result = _BINARY[type(node.op)](left, right)
        if isinstance(result, float) and not math.isfinite(result):
            raise ValueError("not finite")
        return result
    raise ValueError("not arithmetic")
