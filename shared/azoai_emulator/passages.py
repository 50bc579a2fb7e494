"""Split prompt text into the sentences the model may quote when it answers from context.

Retrieval prompts wrap their passages in labels, metadata and instructions. So that the model
quotes the passage itself, each text goes through these general rules:

* **Metadata lines are dropped**: a ``key: value`` line whose key is snake_case or kebab-case
  (``file_path``, ``page_label``, ``last_modified_date``), a usual metadata key (``file``,
  ``path``, ``url``, ``page``, ``id``, ``date``, ...), or whose value is one path or URL
  (``source: https://...``). LlamaIndex puts such lines above each node's text.
* **Labels are stripped** from the front of a sentence: ``Context:``, ``Passage 2:``,
  ``Document 1 (notes.txt):``, ``Source:``, ``Excerpt:``, ``Chunk 3:`` ... and ``[1]`` / ``[doc2]``
  markers, so ``Context: Paris is the capital of France.`` is quoted as ``Paris is the capital of
  France.``
* **Context is marked**: the text between the first and the last separator line (``-----``,
  ``=====``, as in LlamaIndex's ``Context information is below.`` template), inside
  ``<context>``/``<documents>``/``<passage>``/``<sources>`` tags, or in a paragraph that starts
  with a label above (up to a blank line or a ``Question:``/``Query:``/``Answer:`` line). When
  any sentence of the marked context matches the question, the answer comes from the context
  rather than from a template's instructions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

from azoai_emulator.tokens import sentences, wordset

__all__ = ["Passage", "passages", "strip_label"]

_LABEL = re.compile(  # used with .match(), which anchors it
    r"(?:\[(?:doc(?:ument)?\s*)?\d+\]"
    r"|(?:context|passage|document|doc|source|excerpt|snippet|chunk|extract|reference|article"
    r"|paragraph|background|evidence|result|search\s+result)s?"
    r"(?:\s*#?\s*\d+)?(?:\s*\([^()\n]{0,80}\))?\s*[:：])\s*",
    re.I,
)
_KEY_VALUE_LINE = re.compile(r"^[ \t]*([A-Za-z][\w.-]*)[ \t]*[:=][ \t]*(.*?)[ \t]*$", re.M)
_METADATA_KEYS = wordset(
    "file filename filepath path url uri link page id date created modified updated mimetype"
)
_ONE_PATH_OR_URL = re.compile(r"^\S*(?:://|[/\\])\S*$")
_SEPARATOR = re.compile(r"^[ \t]*[-=_*~#]{3,}[ \t]*$", re.M)
_CONTEXT_TAG = re.compile(
    r"<(context|documents?|passages?|sources?|search_results?|excerpts?)\b[^>]*>(.*?)</\1\s*>",
    re.I | re.S,
)
_LINE_START = re.compile(r"^[ \t]*", re.M)
_END_OF_LABELLED = re.compile(
    r"\n[ \t]*\n|\n(?=[ \t]*(?:question|query|q|answer|a|instructions?|task)\s*[:：])|\Z", re.I
)
_MARKUP = re.compile(r"^</?[\w-]+[^<>]*>$")


@dataclass(frozen=True, slots=True)
class Passage:
    sentence: str  # label stripped
    in_context: bool  # inside marked context


def strip_label(sentence: str) -> str:
    """``sentence`` without leading context labels (``Context:``, ``Document 1:``, ``[1]``)."""
    for _ in range(3):
        m = _LABEL.match(sentence)
        if m is None or m.end() == 0:
            break
        sentence = sentence[m.end() :]
    return sentence.strip()


def passages(text: str) -> list[Passage]:
    """The quotable sentences of ``text`` in order (see the module docstring)."""
    text = _KEY_VALUE_LINE.sub(_drop_metadata, text)
    spans = _context_spans(text)
    cuts = sorted({0, len(text), *(p for span in spans for p in span)})
    out: list[Passage] = []
    for a, b in pairwise(cuts):
        inside = any(s <= a and b <= e for s, e in spans)
        for sentence in sentences(text[a:b]):
            if _MARKUP.match(sentence):
                continue
            stripped = strip_label(sentence)
            if re.search(r"\w", stripped):
                out.append(Passage(stripped, inside))
    return out


def _drop_metadata(m: re.Match[str]) -> str:
    key, value = m.group(1), m.group(2)
    if (
        "_" in key
        or "-" in key
        or key.lower() in _METADATA_KEYS
        or _ONE_PATH_OR_URL.match(value) is not None
    ):
        return ""
    return m.group(0)


def _context_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    separators = list(_SEPARATOR.finditer(text))
    if len(separators) >= 2:
        spans.append((separators[0].end(), separators[-1].start()))
    spans.extend(m.span(2) for m in _CONTEXT_TAG.finditer(text))
    for line in _LINE_START.finditer(text):
        label = _LABEL.match(text, line.end())
        if label is None:
            continue
        end = _END_OF_LABELLED.search(text, label.end())
        spans.append((line.start(), end.start() if end else len(text)))
    return spans
