"""Pull values out of a user's message: numbers, quoted text, proper nouns, places, arithmetic.

The model uses these to fill tool arguments and JSON fields from what the user wrote. Each is a
small general rule (no list of known cities or names), so the results are predictable.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable

from azoai.emulator.tokens import STOPWORDS, wordset

__all__ = [
    "arithmetic",
    "evaluate",
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
_LEADING_VERBS = wordset(
    "what whats how hows who whos when where why which is are was were do does did can could "
    "would will should tell give show find get call use run please hi hello hey say reply "
    "respond repeat return compute calculate check look search add multiply divide subtract "
    "compare list name describe explain summarize summarise write i the a an"
)


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
    """Capitalised phrases (``Paris``, ``New York``, ``San Francisco, CA``), minus a leading
    question word or verb (``What``, ``Tell``) that is only capitalised because it starts a
    sentence."""
    out: list[str] = []
    for m in _PROPER.finditer(text):
        phrase = m.group(0).rstrip(".'’-")
        parts = phrase.split()
        while parts and _bare(parts[0]) in _LEADING_VERBS | STOPWORDS:
            parts.pop(0)
        phrase = " ".join(parts)
        if phrase and phrase not in out and not _NUMBER.fullmatch(phrase):
            out.append(phrase)
    return out


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
