"""Input files from neutral requests: one JSON line per request, split over Azure's per-file limits.

Inputs are read one at a time and written straight to ``input-<n>.jsonl`` files in the job's
folder, so a million inputs never sit in memory. A new file starts before one would hold more
than ``max_requests_per_file`` lines or ``max_bytes_per_file`` bytes, or more estimated tokens
than ``enqueued_token_limit`` (a file over the deployment's quota could never run). Tokens are
estimated with :mod:`azoai.wire.tokens`' high estimate (one token per three UTF-8 bytes), the one
the embeddings engine packs with. An input that cannot be sent (an empty text, a request the
model's rules refuse, a line larger than a whole file may be) is recorded as a failure with its
index and reason, and the others go ahead.
"""

from __future__ import annotations

import array
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from azoai.batch.options import BatchOptions
from azoai.batch.record import FileRecord, write_layout
from azoai.errors import AzoaiError, ConfigError
from azoai.wire.batch import input_line
from azoai.wire.common import dumps
from azoai.wire.tokens import counter_for, estimate_tokens

__all__ = ["Failure", "FileWriter", "Line", "embedding_lines", "jsonl_lines", "request_lines"]

#: Estimated tokens one embeddings line may carry (OpenAI's per-request cap; Azure documents none).
MAX_EMBEDDING_LINE_TOKENS = 300_000


@dataclass(slots=True)
class Line:
    """One input line holding inputs ``start .. start+count-1``."""

    start: int
    count: int
    data: bytes
    tokens: int


@dataclass(slots=True)
class Failure:
    """An input refused before sending (``zero``: an empty text that gets a zero vector)."""

    index: int
    error: AzoaiError | None
    zero: bool = False

    def to_json(self) -> dict[str, Any]:
        if self.zero:
            return {"index": self.index, "zero": True}
        err = self.error
        assert err is not None
        return {
            "index": self.index,
            "type": type(err).__name__,
            "message": err.message,
            "setting": getattr(err, "setting", None),
            "fix": err.fix,
        }


class FileWriter:
    """Writes lines to ``input-<n>.jsonl`` files in ``folder``, splitting over the limits;
    :meth:`close` returns the files' records."""

    def __init__(self, folder: Path, options: BatchOptions) -> None:
        self.folder = folder
        self.options = options
        self.files: list[FileRecord] = []
        self.failures = open(folder / "failures.jsonl", "w", encoding="utf-8")  # noqa: SIM115
        self._fh: Any = None
        self._layout: array.array[int] = array.array("q")
        self._current: FileRecord | None = None
        self.submitted = 0
        self.refused = 0

    def fail(self, failure: Failure) -> None:
        if not failure.zero:
            self.refused += 1
        self.failures.write(json.dumps(failure.to_json()) + "\n")

    def _fits(self, cur: FileRecord, line: Line) -> bool:
        o = self.options
        limit = o.enqueued_token_limit
        return (
            cur.lines < o.max_requests_per_file
            and cur.bytes + len(line.data) <= o.max_bytes_per_file
            and (limit is None or cur.tokens + line.tokens <= limit)
        )

    def add(self, line: Line) -> None:
        o = self.options
        if len(line.data) > o.max_bytes_per_file:
            self.fail(Failure(line.start, _too_big("bytes", len(line.data), o.max_bytes_per_file)))
            return
        limit = o.enqueued_token_limit
        if limit is not None and line.tokens > limit:
            self.fail(Failure(line.start, _too_big("tokens (estimated)", line.tokens, limit)))
            return
        cur = self._current
        if cur is not None and not self._fits(cur, line):
            self._finish()
            cur = None
        if cur is None:
            n = len(self.files)
            cur = FileRecord(n=n, start=line.start, end=line.start, lines=0, bytes=0, tokens=0)
            self.files.append(cur)
            self._current = cur
            self._fh = open(self.folder / f"input-{n}.jsonl", "wb")  # noqa: SIM115
        self._fh.write(line.data)
        self._layout.extend((line.start, line.count))
        cur.lines += 1
        cur.bytes += len(line.data)
        cur.tokens += line.tokens
        cur.end = line.start + line.count
        self.submitted += line.count

    def _finish(self) -> None:
        cur = self._current
        if cur is None:
            return
        self._fh.close()
        write_layout(self.folder / f"lines-{cur.n}.bin", self._layout)
        self._layout = array.array("q")
        self._current = None

    def close(self) -> list[FileRecord]:
        self._finish()
        self.failures.close()
        return self.files

    def abort(self) -> None:
        if self._fh is not None:
            self._fh.close()
        self.failures.close()


def _too_big(what: str, size: int, limit: int) -> ConfigError:
    setting = "batch.max_bytes_per_file" if what == "bytes" else "batch.enqueued_token_limit"
    return ConfigError(
        f"this request alone is {size:,} {what}, more than one batch file may hold ({limit:,})",
        setting=setting,
        fix="send it online, or shorten it",
    )


def _line(custom_id: str, url: str, body: Mapping[str, Any]) -> bytes:
    return input_line(custom_id, url, body)


def request_lines(
    requests: Iterable[Any],
    build: Callable[[Any], tuple[Mapping[str, Any], int]],
    url: str,
) -> Iterator[Line | Failure]:
    """One line per request: ``build(request)`` gives the body and its estimated tokens (and
    raises a typed error for a request that cannot be sent)."""
    for index, request in enumerate(requests):
        try:
            body, tokens = build(request)
            data = _line(str(index), url, body)
        except AzoaiError as err:
            yield Failure(index, err)
            continue
        yield Line(index, 1, data, tokens)


def embedding_lines(
    texts: Iterable[str],
    body: Mapping[str, Any],
    url: str,
    *,
    per_line: int,
    max_input_tokens: int,
    encoding: str,
    zero_empty: bool,
) -> Iterator[Line | Failure]:
    """Texts packed into lines of at most ``per_line`` inputs (and ``MAX_EMBEDDING_LINE_TOKENS``
    estimated tokens); each line's ``input`` is a run of consecutive inputs. An empty text, one
    over ``max_input_tokens`` or one UTF-8 cannot carry is a failure by index."""
    pending: list[str] = []
    start = 0
    tokens = 0

    def flush() -> Line:
        data = _line(str(start), url, {**body, "input": pending})
        return Line(start, len(pending), data, tokens)

    for index, text in enumerate(texts):
        problem: AzoaiError | None = None
        estimate = 0
        if not isinstance(text, str):
            problem = ConfigError(
                f"input {index} is a {type(text).__name__}, not a string", setting="texts"
            )
        elif not text.strip():
            if pending:
                yield flush()
                pending = []
            yield Failure(index, None if zero_empty else _empty(index), zero=zero_empty)
            continue
        else:
            try:
                nbytes = len(text) if text.isascii() else len(text.encode("utf-8"))
            except UnicodeEncodeError:
                problem = ConfigError(
                    f"input {index} holds a lone surrogate, which UTF-8 and JSON cannot carry",
                    setting="texts",
                )
            else:
                estimate = (nbytes + 2) // 3
                if (
                    nbytes > max_input_tokens
                    and counter_for(encoding).count(text) > max_input_tokens
                ):
                    problem = ConfigError(
                        f"input {index} exceeds {max_input_tokens} tokens",
                        setting="texts",
                        fix="shorten or split it (the Batch API does not split long inputs; the "
                        "online embeddings do)",
                    )
        if problem is not None:
            if pending:
                yield flush()
                pending = []
            yield Failure(index, problem)
            continue
        if pending and (len(pending) >= per_line or tokens + estimate > MAX_EMBEDDING_LINE_TOKENS):
            yield flush()
            pending = []
        if not pending:
            start, tokens = index, 0
        pending.append(text)
        tokens += estimate
    if pending:
        yield flush()


def _empty(index: int) -> ConfigError:
    return ConfigError(
        f"embeddings input {index} is empty",
        setting="texts",
        fix="remove empty texts, or pass empty='zero' to get zero vectors for them",
    )


def jsonl_lines(
    path: Path, deployment: str, url_for: Callable[[str], str]
) -> Iterator[tuple[Line | Failure, str | None]]:
    """The lines of a user's JSONL file (``custom_id``, ``method``, ``url``, ``body``), each
    sent to ``deployment`` with its url made the route's (``url_for``), with the line's own
    ``custom_id`` as its label. A line that is not such a request, or whose operation differs
    from the first line's, is a failure by index (its line number minus one)."""
    first_url: str | None = None
    with open(path, encoding="utf-8-sig") as fh:  # a BOM is dropped: Azure refuses one
        for index, raw in enumerate(fh):
            label: str | None = None
            try:
                obj = json.loads(raw)
                if not isinstance(obj, dict) or not isinstance(obj.get("body"), dict):
                    raise ConfigError(
                        f"line {index + 1} is not a batch request (no 'body')", setting="file"
                    )
                label = str(obj["custom_id"]) if obj.get("custom_id") is not None else None
                url = url_for(str(obj.get("url") or ""))
                if first_url is None:
                    first_url = url
                elif url != first_url:
                    raise ConfigError(
                        f"line {index + 1} is for {url}, the file's first line for {first_url}; "
                        "one batch runs one operation",
                        setting="file",
                    )
                body = {**obj["body"], "model": deployment}
                body.pop("stream", None)
                data = _line(str(index), url, body)
            except ValueError as exc:
                err = (
                    exc
                    if isinstance(exc, ConfigError)
                    else ConfigError(f"line {index + 1} is not JSON: {exc}", setting="file")
                )
                yield Failure(index, err), label
                continue
            yield Line(index, 1, data, estimate_tokens(dumps(body).decode("utf-8"))), label
