"""A job's results in input order, read from its output and error files one file at a time.

For each input file, in order: its output and error files are downloaded to the job's folder
(streamed to disk), their lines indexed by ``custom_id`` (one offset per line: the bodies stay on
disk), then the file's layout (``lines-<n>.bin``) is walked in order and each line read back,
parsed and turned into one :class:`BatchItem` per input it holds. Inputs refused before sending
come from ``failures.jsonl``. So memory holds one file's index at a time, whatever the corpus.

Every input gets an item: its result, or its typed error:

* a request Azure answered with an error status: the error :func:`azoai.error_reading.error_from_response`
  gives for that status and body (a :class:`~azoai.errors.ContentFilterError`, ...);
* a request its batch never ran: :class:`~azoai.errors.BatchCancelledError` or
  :class:`~azoai.errors.BatchExpiredError`;
* a request in a file Azure's validation rejected: :class:`~azoai.errors.BatchInputRejectedError`
  with Azure's per-line errors (the lines named carry their own);
* a deployment Azure says is missing or not a Global Batch one raises
  :class:`~azoai.errors.BatchDeploymentError` before any item.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from azoai.batch.ops import Steps, adrive, drive
from azoai.batch.record import FileRecord, read_layout
from azoai.error_reading import error_from_response
from azoai.errors import (
    AzoaiError,
    BatchCancelledError,
    BatchDeploymentError,
    BatchError,
    BatchExpiredError,
    BatchInputRejectedError,
    BatchLineError,
    ConfigError,
    InvalidResponseError,
)
from azoai.io.files import FileRequest
from azoai.pipeline.streaming import completion_filtered, model_version_of
from azoai.wire import chat_completions, responses
from azoai.wire.batch import OutputLine, parse_output_line
from azoai.wire.embeddings import decode_vector
from azoai.wire.types import EmbeddingResult, Usage

if TYPE_CHECKING:
    from azoai.batch.job import BatchJob

__all__ = ["BatchItem", "Collector", "embedding_result", "rejection"]

_CUSTOM_ID = re.compile(rb'"custom_id"\s*:\s*"((?:[^"\\]|\\.)*)"')
#: Items produced per worker-thread hop by ``aitems``.
_CHUNK = 512


@dataclass(slots=True)
class BatchItem:
    """One input's outcome. ``result``: a :class:`~azoai.wire.ChatResult` (chat and Responses
    jobs), a vector (embeddings), the response body (a submitted JSONL file); ``error``: why
    there is none. ``label``: the input's label (a JSONL line's ``custom_id``, a file name)."""

    index: int
    result: Any = None
    error: AzoaiError | None = None
    label: str | None = None
    usage: Usage | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def rejection(job: BatchJob, f: FileRecord) -> BatchInputRejectedError:
    """The error every request of a file Azure rejected is reported with."""
    starts = [start for start, _ in read_layout(job.folder / f"lines-{f.n}.bin")]
    line_errors = []
    for code, message, line in f.errors:
        index = starts[line - 1] if isinstance(line, int) and 0 < line <= len(starts) else None
        line_errors.append(BatchLineError(str(code), str(message), line, index))
    shown = "; ".join(
        f"{e.code}{f' (line {e.line})' if e.line else ''}: {e.message}" for e in line_errors[:3]
    )
    return BatchInputRejectedError(
        f"Azure rejected input file {f.n} of batch job {job.id} (batch {f.batch_id}): "
        f"{shown or 'no reason given'}",
        line_errors=line_errors,
        job_id=job.id,
        batch_id=f.batch_id,
        deployment=job.record.deployment,
    )


def _deployment_problem(job: BatchJob) -> BatchDeploymentError | None:
    dep = job.record.deployment
    for f in job.record.files:
        if f.status != "failed":
            continue
        for code, message, _line in f.errors:
            text = str(message)
            if code == "model_not_found" or (code == "invalid_request" and "sku" in text.lower()):
                what = "was not found" if code == "model_not_found" else "is not a batch deployment"
                return BatchDeploymentError(
                    f"deployment '{dep}' {what} (Azure's validation of batch {f.batch_id}: "
                    f"{code}: {text})",
                    setting="model",
                    fix="deploy the model with the Global-Batch (or Data Zone Batch) deployment "
                    "type and pass that deployment's name as model=",
                    job_id=job.id,
                    batch_id=f.batch_id,
                    deployment=dep,
                    code=str(code),
                )
    return None


class Collector:
    """Reads a finished job's items (see the module docstring)."""

    def __init__(self, job: BatchJob) -> None:
        self.job = job
        self.record = job.record
        self.folder: Path = job.folder

    # -- checks and side files -------------------------------------------------------------------

    def _check(self) -> None:
        problem = _deployment_problem(self.job)
        if problem is not None:
            raise problem
        status = self.job.status()
        if not status.done:
            raise BatchError(
                f"batch job {self.job.id} is still {status.state}; wait for it before collecting",
                job_id=self.job.id,
                fix="call wait() first, or collect(wait=True)",
            )

    def _failures(self) -> dict[int, dict[str, Any]]:
        out: dict[int, dict[str, Any]] = {}
        path = self.folder / "failures.jsonl"
        if path.exists():
            with open(path, encoding="utf-8") as fh:
                for raw in fh:
                    entry = json.loads(raw)
                    out[int(entry["index"])] = entry
        return out

    def _labels(self) -> Iterator[str | None]:
        path = self.folder / "labels.jsonl"
        if self.record.labels and path.exists():
            with open(path, encoding="utf-8") as fh:
                for raw in fh:
                    yield json.loads(raw)
        while True:
            yield None

    # -- downloads -------------------------------------------------------------------------------

    def _download(self, f: FileRecord) -> Steps[list[Path]]:
        paths = []
        for which, file_id in (("output", f.output_file_id), ("errors", f.error_file_id)):
            if not file_id:
                continue
            path = self.folder / f"{which}-{f.n}.jsonl"
            yield FileRequest(
                "GET",
                self.job.url(f"files/{file_id}/content"),
                "batch file download",
                download_to=str(path),
            )
            paths.append(path)
        return paths

    # -- reading ---------------------------------------------------------------------------------

    @staticmethod
    def _index(handles: Sequence[IO[bytes]]) -> dict[str, tuple[int, int]]:
        """custom_id -> (which file, offset of its line)."""
        index: dict[str, tuple[int, int]] = {}
        for which, fh in enumerate(handles):
            while True:
                at = fh.tell()
                raw = fh.readline()
                if not raw:
                    break
                if not raw.strip():
                    continue
                found = _CUSTOM_ID.findall(raw)
                if len(found) == 1:
                    cid = json.loads(b'"' + found[0] + b'"')
                else:  # none, or the key also appears inside the body: parse the line
                    try:
                        cid = parse_output_line(raw).custom_id
                    except InvalidResponseError:
                        continue
                if cid is not None:
                    index[cid] = (which, at)
        return index

    def _missing(
        self, f: FileRecord, index: int, rejected: BatchInputRejectedError | None
    ) -> AzoaiError:
        job = self.job
        kw: dict[str, Any] = {
            "job_id": job.id,
            "batch_id": f.batch_id,
            "deployment": job.record.deployment,
        }
        if f.status == "failed" and rejected is not None:
            return rejected
        if f.status == "expired":
            return BatchExpiredError(
                f"input {index} did not run before batch {f.batch_id} expired",
                fix="submit the failed inputs again (Azure keeps and returns what had run)",
                **kw,
            )
        if f.status in ("cancelled", "cancelling", "not_submitted") or job.record.cancelled:
            return BatchCancelledError(
                f"input {index} did not run: batch job {job.id} was cancelled", **kw
            )
        return BatchError(
            f"Azure's output and error files of batch {f.batch_id} have no line for input {index}",
            **kw,
        )

    def _refused(self, index: int, entry: dict[str, Any] | None) -> BatchItem:
        if entry is None:
            return BatchItem(
                index, error=BatchError(f"no record of input {index}", job_id=self.job.id)
            )
        if entry.get("zero"):  # sized by the expected dimensions ([] when they are unknown)
            return BatchItem(index, result=[0.0] * (self.record.dimensions or 0))
        err = ConfigError(
            str(entry.get("message")), setting=entry.get("setting"), fix=entry.get("fix")
        )
        return BatchItem(index, error=err)

    def _line_items(self, line: OutputLine | None, start: int, count: int) -> list[BatchItem]:
        """The items of one input line (``None``: it has no output or error line)."""
        rec = self.record
        dep = rec.deployment
        if line is None:
            return []
        if line.ok:
            try:
                return self._results(line, start, count)
            except AzoaiError as bad:
                return [BatchItem(i, error=bad) for i in range(start, start + count)]
        err: AzoaiError
        if line.status is not None:
            headers = {"x-request-id": line.request_id} if line.request_id else {}
            err = error_from_response(
                line.status,
                line.body,
                headers,
                deployment=dep,
                route=rec.route,
                api_version=rec.api_version,
            )
        else:
            code = str((line.error or {}).get("code") or "error")
            message = str((line.error or {}).get("message") or code)
            cls: type[BatchError] = {
                "batch_expired": BatchExpiredError,
                "batch_cancelled": BatchCancelledError,
            }.get(code, BatchError)
            err = cls(message, code=code, job_id=rec.id, deployment=dep)
        return [BatchItem(i, error=err) for i in range(start, start + count)]

    def _results(self, line: OutputLine, start: int, count: int) -> list[BatchItem]:
        rec = self.record
        body = line.body
        if rec.kind == "jsonl":
            return [BatchItem(start, result=body)]
        if rec.kind == "embeddings":
            return _vectors(body, start, count, rec.dimensions)
        headers = {"x-request-id": line.request_id} if line.request_id else {}
        parse = (
            responses.parse_response if rec.kind == "responses" else chat_completions.parse_response
        )
        if not isinstance(body, dict):
            raise InvalidResponseError("a batch output line has no response body")
        result = parse(body, deployment=rec.deployment, headers=headers)
        result.model_version = model_version_of(None, result.model)
        if result.finish_reason == "content_filter" and not self.job.options.return_filtered:
            err = completion_filtered(result.content_filter, result.text, result, rec.deployment)
            return [BatchItem(start, error=err)]
        return [BatchItem(start, result=result, usage=result.usage)]

    def _file_items(
        self, f: FileRecord, paths: list[Path], failures: dict[int, dict[str, Any]], nxt: list[int]
    ) -> Iterator[BatchItem]:
        """Items from ``nxt[0]`` to the end of file ``f`` (``nxt[0]`` is advanced)."""
        handles = [open(p, "rb") for p in paths]  # noqa: SIM115
        try:
            index = self._index(handles)
            rejected = rejection(self.job, f) if f.status == "failed" else None
            for start, count in read_layout(self.folder / f"lines-{f.n}.bin"):
                while nxt[0] < start:
                    yield self._refused(nxt[0], failures.get(nxt[0]))
                    nxt[0] += 1
                loc = index.get(str(start))
                line: OutputLine | None = None
                if loc is not None:
                    fh = handles[loc[0]]
                    fh.seek(loc[1])
                    try:
                        line = parse_output_line(fh.readline())
                    except InvalidResponseError as err:
                        yield from (BatchItem(i, error=err) for i in range(start, start + count))
                        nxt[0] = start + count
                        continue
                items = self._line_items(line, start, count)
                if not items:
                    items = [
                        BatchItem(i, error=self._missing(f, i, rejected))
                        for i in range(start, start + count)
                    ]
                if rejected is not None:  # a named line carries its own reason
                    for e in rejected.line_errors:
                        if e.index == start:
                            own = BatchInputRejectedError(
                                f"{e.code}: {e.message} (line {e.line} of input file {f.n})",
                                line_errors=[e],
                                job_id=self.job.id,
                                batch_id=f.batch_id,
                            )
                            items = [BatchItem(i.index, error=own) for i in items]
                yield from items
                nxt[0] = start + count
        finally:
            for fh in handles:
                fh.close()
            for p in paths:
                p.unlink(missing_ok=True)

    def _labelled(self, items: Iterable[BatchItem]) -> Iterator[BatchItem]:
        labels = self._labels()
        for item in items:
            item.label = next(labels)
            yield item

    def items(self) -> Iterator[BatchItem]:
        self._check()
        return self._labelled(self._items_sync())

    def _items_sync(self) -> Iterator[BatchItem]:
        failures = self._failures()
        nxt = [0]
        for f in self.record.files:
            paths = drive(self._download(f), self.job.runner) if f.submitted else []
            yield from self._file_items(f, paths, failures, nxt)
        while nxt[0] < self.record.total:
            yield self._refused(nxt[0], failures.get(nxt[0]))
            nxt[0] += 1

    async def aitems(self) -> AsyncIterator[BatchItem]:
        import asyncio

        self._check()
        failures = await asyncio.to_thread(self._failures)
        labels = self._labels()
        nxt = [0]

        def take(it: Iterator[BatchItem]) -> list[BatchItem]:
            out = []
            for item in it:
                item.label = next(labels)
                out.append(item)
                if len(out) >= _CHUNK:
                    break
            return out

        for f in self.record.files:
            paths = await adrive(self._download(f), self.job.runner) if f.submitted else []
            it = self._file_items(f, paths, failures, nxt)
            while chunk := await asyncio.to_thread(take, it):
                for item in chunk:
                    yield item
        tail = (self._refused(i, failures.get(i)) for i in range(nxt[0], self.record.total))
        while chunk := take(tail):
            for item in chunk:
                yield item


def _vectors(body: Any, start: int, count: int, dimensions: int | None) -> list[BatchItem]:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        raise InvalidResponseError("the embeddings response holds no 'data' list of vectors")
    by_index: dict[int, Any] = {}
    for pos, item in enumerate(data):
        idx = item.get("index", pos) if isinstance(item, dict) else None
        if isinstance(idx, int) and not isinstance(idx, bool) and 0 <= idx < count:
            by_index[idx] = None if idx in by_index else item
    u = body.get("usage") if isinstance(body.get("usage"), dict) else {}
    usage = Usage(
        input_tokens=int(u.get("prompt_tokens") or 0), total_tokens=int(u.get("total_tokens") or 0)
    )
    out: list[BatchItem] = []
    for j in range(count):
        item = by_index.get(j)
        vector = (
            decode_vector(item.get("embedding"))
            if isinstance(item, dict)
            else "the response has no vector for it"
        )
        if isinstance(vector, str):
            out.append(
                BatchItem(start + j, error=InvalidResponseError(f"input {start + j}: {vector}"))
            )
        elif dimensions and len(vector) != dimensions:
            out.append(
                BatchItem(
                    start + j,
                    error=InvalidResponseError(
                        f"input {start + j}: the vector has {len(vector)} numbers, not {dimensions}"
                    ),
                )
            )
        else:
            out.append(BatchItem(start + j, result=vector, usage=usage if j == 0 else None))
    return out


def embedding_result(job: BatchJob, items: Iterable[BatchItem]) -> EmbeddingResult:
    """An embeddings job's items as an :class:`EmbeddingResult`, or
    :class:`~azoai.embeddings.EmbeddingBatchError` naming the inputs without a vector."""
    from azoai.embeddings import EmbeddingBatchError

    vectors: list[list[float] | None] = []
    errors: dict[int, AzoaiError] = {}
    usage = Usage()
    for item in items:
        if item.error is None:
            vectors.append(item.result)
            if item.usage is not None:
                usage.input_tokens += item.usage.input_tokens
                usage.total_tokens += item.usage.total_tokens
        else:
            vectors.append(None)
            errors[item.index] = item.error
    if errors:
        failed = sorted(errors)
        first = errors[failed[0]]
        shown = ", ".join(str(i) for i in failed[:10]) + (" ..." if len(failed) > 10 else "")
        raise EmbeddingBatchError(
            f"{len(failed)} of {len(vectors)} inputs of batch job {job.id} have no vector "
            f"(index {shown}); first error: {first.message}",
            failed_indices=failed,
            errors=errors,
            partial=vectors,
        )
    usage.total_tokens = usage.total_tokens or usage.input_tokens
    dim = next((len(v) for v in vectors if v), 0)  # an empty text's zero vector, sized now
    return EmbeddingResult(
        vectors=[v if v else [0.0] * dim for v in vectors],
        usage=usage,
        deployment=job.record.deployment,
    )
