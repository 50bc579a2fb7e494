"""Text helpers shared by the emulator's model, embeddings and accounting.

Token counting is a documented estimate, not a real tokenizer: one token per word (a run of
letters, digits or underscores) and one per other non-space character. So ``"Hello, world!"`` is
4 tokens. It is deterministic and close enough to cl100k/o200k counts for English prose that
quotas, usage and context-length checks behave sensibly.
"""

from __future__ import annotations

import re

__all__ = [
    "FUNCTION_WORDS",
    "STOPWORDS",
    "content_words",
    "count_tokens",
    "sentences",
    "stem",
    "stream_pieces",
    "tokenize",
    "wordset",
]


def wordset(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text``, for writing word lists readably."""
    return frozenset(text.split())


_TOKEN = re.compile(r"\w+|[^\w\s]")
_PIECE = re.compile(r"\s*(?:\w+|[^\w\s])")
_WORD = re.compile(r"[^\W\d_]+|\d+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")

#: Function words: no topic of their own. Embeddings leave them out.
FUNCTION_WORDS = wordset(
    """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its itself
    just me more most my myself no nor not now of off on once only or other our ours ourselves out
    over own same she should so some such than that the their theirs them themselves then there
    these they this those through to too under until up very was we were what when where which
    while who whom why will with would you your yours yourself yourselves s t don let lets
    tell please give show know need want like also may might must shall us
    """
)
#: Words ignored when matching questions to passages or tools to requests: the function words
#: plus the vocabulary of prompt templates ("context", "query", "answer", ...), so that a
#: template's own instructions never look like an answer.
STOPWORDS = FUNCTION_WORDS | wordset(
    """
    context information given prior knowledge answer answers query question questions following
    based provided use using retrieved pieces piece assistant helpful task tasks concise sentence
    sentences maximum three keep
    """
)


def tokenize(text: str) -> list[str]:
    """The estimate's tokens: words and single punctuation characters."""
    return _TOKEN.findall(text)


def count_tokens(text: str) -> int:
    return len(_TOKEN.findall(text))


def stream_pieces(text: str) -> list[str]:
    """Split ``text`` into one piece per token, each carrying its leading whitespace, so that
    ``"".join(stream_pieces(t)) == t`` and each streamed chunk is one token."""
    pieces = _PIECE.findall(text)
    consumed = sum(len(p) for p in pieces)
    if consumed < len(text):  # trailing whitespace
        if pieces:
            pieces[-1] += text[consumed:]
        else:
            pieces = [text]
    return pieces


def stem(word: str) -> str:
    """A crude, deterministic English stemmer: lower-case and strip common inflections, so
    ``cities``/``city`` and ``multiplied``/``multiply`` match."""
    w = word.lower()
    if len(w) > 4 and w.endswith(("ies", "ied")):
        return w[:-3] + "y"
    if len(w) > 5 and w.endswith("ing"):
        return w[:-3]
    if len(w) > 4 and w.endswith("ed") and not w.endswith("eed"):
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


def words(text: str) -> list[str]:
    """Alphabetic and numeric words, with ``snake_case`` and ``camelCase`` split apart."""
    return _WORD.findall(_CAMEL.sub(" ", text.replace("_", " ")))


def content_words(text: str) -> set[str]:
    """The stemmed words of ``text`` that are not :data:`STOPWORDS`."""
    return {stem(w) for w in words(text) if w.lower() not in STOPWORDS and stem(w) not in STOPWORDS}


def sentences(text: str) -> list[str]:
    """Split prose into sentences (and lines); drops separators such as ``-----``."""
    out = []
    for part in _SENTENCE_END.split(text):
        s = part.strip().lstrip("-*•> ").strip()
        if s and re.search(r"\w", s):
            out.append(s)
    return out
