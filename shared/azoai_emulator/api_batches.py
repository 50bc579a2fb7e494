"""The Batches API, on both routes: ``/openai/v1/batches[/{id}[/cancel]]`` and
``/openai/batches[/{id}[/cancel]]?api-version=`` (from 2024-07-01-preview, GA from 2024-10-21;
the api-version changelog: "Batch API support added" in 2024-07-01-preview).

A batch moves through Azure's statuses as it is read (each ``GET``, list or cancel advances it
by the emulator's clock; nothing runs in the background): ``validating`` (for ``stage_seconds``),
then ``failed`` with Azure's validation errors, or ``in_progress`` while its lines run
(``lines_per_second`` of them, or as many as each read allows), ``finalizing`` (``stage_seconds``)
and ``completed``; ``cancelling`` (``stage_seconds``) then ``cancelled``; ``expired`` once its
24 hours pass (or :meth:`Emulator.expire_batches`). Cancelled and expired batches keep what had
run in their output and error files.

Each line runs as a request to the online API, through the same handlers
(:func:`azoai_emulator.dispatch.handle`) on the route the batch was created on, without the
request latency, the credential check or the TPM/RPM quota: a batch deployment's quota is its
enqueued tokens. So every rule, error body and fault of the online API applies per line: a line
that fails gets an error-file line with its status and Azure's error body. Lines run in a
shuffled order (Azure: "Responses won't be returned in identical order").

Validation follows the error codes of Azure's batch docs (their definitions are the messages):
``empty_file``, ``invalid_json_line``, ``too_many_tasks``, ``url_mismatch``, ``model_not_found``,
``model_mismatch``, ``duplicate_custom_id``, ``invalid_request`` (a line's schema, or a
deployment whose SKU is not GlobalBatch/DataZoneBatch), and ``token_limit_exceeded`` over a
deployment's ``enqueued_tokens`` (the message Azure gave on Microsoft Q&A 2285577).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from azoai_emulator import azure_errors
from azoai_emulator.api_files import authenticate, handle_file, handle_files, not_found
from azoai_emulator.api_versions import dated_version
from azoai_emulator.batch_state import StoredBatch, StoredFile, new_id
from azoai_emulator.pipeline import IN_BATCH, parse_body
from azoai_emulator.protocol import Call, HttpResult, RequestRecord, StreamResult
from azoai_emulator.state import EmulatorState
from azoai_emulator.tokens import count_tokens

__all__ = [
    "BATCH_SKUS",
    "FIRST_GA",
    "FIRST_PREVIEW",
    "batch_routes",
    "expire",
    "handle_batch",
    "handle_batches",
]

FIRST_PREVIEW = "2024-07-01-preview"
FIRST_GA = "2024-10-21"
BATCH_SKUS = frozenset({"globalbatch", "datazonebatch"})
TERMINAL = frozenset({"failed", "completed", "expired", "cancelled"})
#: A line's url -> the online path below ``/openai`` (v1) it runs as.
LINE_URLS = {
    "/chat/completions": "chat/completions",
    "/v1/chat/completions": "chat/completions",
    "/embeddings": "embeddings",
    "/v1/embeddings": "embeddings",
    "/responses": "responses",
    "/v1/responses": "responses",
}
COMPLETION_WINDOW = "24h"
#: Lines one read runs at most, so a read never takes long whatever the batch's size.
MAX_LINES_PER_READ = 5000
_MAX_ERRORS = 1000
_DAY = 86400.0

# Azure's error codes and their definitions (its batch how-to, "Error codes").
MESSAGES = {
    "empty_file": "The input file is empty. Please ensure that the batch contains at least one request.",
    "invalid_json_line": "A line (or multiple) in your input file wasn't able to be parsed as valid json.",
    "too_many_tasks": "The number of requests in the input file exceeds the maximum allowed value of {limit:,}.",
    "url_mismatch": "Either a row in your input file has a URL that doesn't match the rest of the rows, "
    "or the URL specified in the input file doesn't match the expected endpoint URL.",
    "model_not_found": "The Azure OpenAI model deployment name that was specified in the `model` "
    "property of the input file wasn't found.",
    "duplicate_custom_id": "The custom ID for this request is a duplicate of the custom ID in another request.",
    "model_mismatch": "The Azure OpenAI model deployment name that was specified in the `model` "
    "property of this request in the input file doesn't match the rest of the file.",
    "invalid_request": "The schema of the input line is invalid or the deployment SKU is invalid.",
    "invalid_sku": "The schema of the input line is invalid or the deployment SKU is invalid. Please "
    "ensure the properties of the request in your input file match the expected input properties, "
    "and that the Azure OpenAI deployment SKU is `globalbatch` for batch API requests.",
    "token_limit_exceeded": "The number of enqueued tokens has surpassed the configured limit of "
    "{limit} for the deployment '{deployment}'. Please either increase the limit or try again once "
    "the current jobs have finished.",
    "completion_window": "Currently the completion window must be set to 24h.",
}


def _check_version(call: Call, route: str) -> None:
    if route == "v1":
        return
    version = dated_version(call.query["api-version"])
    first = dated_version(FIRST_PREVIEW if version is not None and version.preview else FIRST_GA)
    if version is None or first is None or version.day < first.day:
        raise azure_errors.resource_not_found()


def _short(n: int) -> str:
    for unit, size in (("B", 10**9), ("M", 10**6), ("K", 10**3)):
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return f"{n:,}"


# --- creating and reading -------------------------------------------------------------------------


def _create(call: Call, state: EmulatorState, route: str) -> HttpResult:
    body = parse_body(call)
    if not isinstance(body, dict):
        raise azure_errors.invalid_request("The request body must be a JSON object.")
    for name in ("input_file_id", "endpoint", "completion_window"):
        if not isinstance(body.get(name), str) or not body[name]:
            raise azure_errors.missing_parameter(name)
    stored = state.batch.file(body["input_file_id"])
    if stored is None:
        raise not_found("File", body["input_file_id"])
    if stored.purpose != "batch":
        raise azure_errors.invalid_request(
            f"The input file's purpose is '{stored.purpose}'; a batch needs purpose 'batch'.",
            param="input_file_id",
        )
    if body["endpoint"] not in LINE_URLS:
        raise azure_errors.invalid_request(
            f"Invalid value: '{body['endpoint']}'. Supported values are: '/chat/completions', "
            "'/embeddings' and '/responses'.",
            param="endpoint",
        )
    metadata = body.get("metadata")
    if metadata is not None and not (
        isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())
    ):
        raise azure_errors.invalid_request("metadata must map strings to strings", param="metadata")
    now = state.clock()
    batch = StoredBatch(
        id=f"batch_{uuid.uuid4()}",
        endpoint=body["endpoint"],
        input_file_id=stored.id,
        completion_window=body["completion_window"],
        route=route,
        api_version=call.query.get("api-version"),
        base_url=call.base_url,
        created_at=now,
        expires_at=now + _DAY,
        metadata=metadata,
        stage_until=now + state.batch.stage_seconds,
    )
    state.batch.add_batch(batch)
    return HttpResult(200, batch.to_json())


async def handle_batches(call: Call, state: EmulatorState, *, route: str) -> HttpResult:
    """``POST`` (create) or ``GET`` (list, newest first: ``limit``, ``after``) on ``batches``."""
    authenticate(call, state, route)
    _check_version(call, route)
    if call.method == "POST":
        return _create(call, state, route)
    batches = sorted(state.batch.all_batches(), key=lambda b: b.created_at, reverse=True)
    after = call.query.get("after")
    if after:
        ids = [b.id for b in batches]
        batches = batches[ids.index(after) + 1 :] if after in ids else []
    try:
        limit = max(1, min(100, int(call.query.get("limit", "20"))))
    except ValueError:
        raise azure_errors.invalid_request("limit must be an integer", param="limit") from None
    page = batches[:limit]
    for b in page:
        await advance(state, b)
    return HttpResult(
        200,
        {
            "object": "list",
            "data": [b.to_json() for b in page],
            "first_id": page[0].id if page else None,
            "last_id": page[-1].id if page else None,
            "has_more": len(batches) > limit,
        },
    )


async def handle_batch(
    call: Call, state: EmulatorState, *, route: str, batch_id: str, cancel: bool = False
) -> HttpResult:
    """``GET`` one batch, or ``POST`` its ``cancel``."""
    authenticate(call, state, route)
    _check_version(call, route)
    batch = state.batch.batch(batch_id)
    if batch is None:
        raise not_found("Batch", batch_id)
    await advance(state, batch)
    if cancel:
        if batch.status in TERMINAL:
            raise azure_errors.invalid_request(
                f"Cannot cancel a batch with status '{batch.status}'.", code="invalid_request"
            )
        if batch.status != "cancelling":
            now = state.clock()
            batch.status = "cancelling"
            batch.times["cancelling_at"] = now
            batch.stage_until = now + state.batch.stage_seconds
            await advance(state, batch)
    return HttpResult(200, batch.to_json())


# --- the state machine ------------------------------------------------------------------------------


async def advance(state: EmulatorState, batch: StoredBatch) -> None:
    """Move ``batch`` on to where the clock says it is (see the module docstring)."""
    if batch.lock is None:
        batch.lock = asyncio.Lock()
    async with batch.lock:
        while batch.status not in TERMINAL:
            now = state.clock()
            if batch.status in ("validating", "in_progress") and now >= batch.expires_at:
                _finish(state, batch, "expired")
                return
            if now < batch.stage_until and batch.status in (
                "validating",
                "finalizing",
                "cancelling",
            ):
                return
            if batch.status == "validating":
                _validate(state, batch)
            elif batch.status == "in_progress":
                if not await _run_due(state, batch, now):
                    return
                batch.status = "finalizing"
                batch.times["finalizing_at"] = now
                batch.stage_until = now + state.batch.stage_seconds
            elif batch.status == "finalizing":
                _finish(state, batch, "completed")
            elif batch.status == "cancelling":
                _finish(state, batch, "cancelled")


def _finish(state: EmulatorState, batch: StoredBatch, status: str) -> None:
    """Into a terminal status, with output and error files of what ran (empty ones included:
    Azure gives a successful job an empty error file)."""
    now = state.clock()
    for which in ("output", "error"):
        path = getattr(batch, f"{which}_path")
        if path is None:
            path = state.batch.new_path(new_id("file-"))
            path.touch()
        stored = StoredFile(
            id=new_id("file-"),
            filename=f"{batch.id}_{which}.jsonl",
            purpose="batch_output",
            size=path.stat().st_size,
            created_at=int(now),
            path=path,
        )
        state.batch.add_file(stored)
        setattr(batch, f"{which}_file_id", stored.id)
    batch.status = status
    batch.times[f"{status}_at"] = now


def _fail(state: EmulatorState, batch: StoredBatch, errors: list[dict[str, Any]]) -> None:
    now = state.clock()
    batch.errors = errors[:_MAX_ERRORS]
    batch.status = "failed"
    batch.times["failed_at"] = now


def _error(code: str, line: int | None, **fmt: Any) -> dict[str, Any]:
    key = code
    if code == "invalid_request" and fmt.pop("sku", False):
        key = "invalid_sku"
    if code == "completion_window":
        code = "invalid_request"
    return {"code": code, "message": MESSAGES[key].format(**fmt), "param": None, "line": line}


def _texts(value: Any) -> Iterator[str]:
    """The text of a request's input: message contents, text parts, input strings."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)
    elif isinstance(value, dict):
        for key in ("content", "text"):
            if key in value:
                yield from _texts(value[key])


def _line_tokens(body: dict[str, Any]) -> int:
    """A line's input tokens: what the enqueued-token quota counts."""
    return sum(count_tokens(t) for t in _texts(body.get("messages", body.get("input", ""))))


def _validate(state: EmulatorState, batch: StoredBatch) -> None:
    stored = state.batch.file(batch.input_file_id)
    if stored is None:
        _fail(state, batch, [_error("empty_file", None)])
        return
    errors: list[dict[str, Any]] = []
    if batch.completion_window != COMPLETION_WINDOW:
        errors.append(_error("completion_window", None))
    seen: set[str] = set()
    first_url: str | None = None
    model: str | None = None
    tokens = 0
    offset = 0
    with open(stored.path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            at, offset = offset, offset + len(raw)
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except ValueError:
                errors.append(_error("invalid_json_line", number))
                continue
            if (
                not isinstance(obj, dict)
                or not isinstance(obj.get("custom_id"), str)
                or obj.get("method") != "POST"
                or not isinstance(obj.get("url"), str)
                or not isinstance(obj.get("body"), dict)
            ):
                errors.append(_error("invalid_request", number))
                continue
            if obj["custom_id"] in seen:
                errors.append(_error("duplicate_custom_id", number))
            seen.add(obj["custom_id"])
            url = obj["url"]
            if url not in LINE_URLS or (first_url is not None and url != first_url):
                errors.append(_error("url_mismatch", number))
            first_url = first_url or url
            line_model = obj["body"].get("model")
            if not isinstance(line_model, str) or not line_model:
                errors.append(_error("model_not_found", number))
            elif model is None:
                model = line_model
            elif line_model != model:
                errors.append(_error("model_mismatch", number))
            tokens += _line_tokens(obj["body"])
            batch.offsets.append(at)
    limits = state.batch
    if not batch.offsets and not errors:
        errors.append(_error("empty_file", None))
    if len(batch.offsets) > limits.max_requests:
        errors.append(_error("too_many_tasks", None, limit=limits.max_requests))
    if model is not None:
        dep = state.deployment(model)
        if dep is None or not dep.serving:
            errors.append(_error("model_not_found", None))
        elif dep.sku.lower() not in BATCH_SKUS:
            errors.append(_error("invalid_request", None, sku=True))
        elif dep.enqueued_tokens is not None and not errors:
            queued = sum(
                b.tokens
                for b in state.batch.all_batches()
                if b is not batch
                and b.deployment == model
                and b.status in ("in_progress", "finalizing", "cancelling")
            )
            if queued + tokens > dep.enqueued_tokens:
                errors.append(
                    _error(
                        "token_limit_exceeded",
                        None,
                        limit=_short(dep.enqueued_tokens),
                        deployment=model,
                    )
                )
    if errors:
        del batch.offsets[:]
        _fail(state, batch, errors)
        return
    now = state.clock()
    batch.deployment = model
    batch.tokens = tokens
    batch.order = list(range(len(batch.offsets)))
    random.Random(batch.id).shuffle(batch.order)
    batch.output_path = limits.new_path(new_id("file-"))
    batch.error_path = limits.new_path(new_id("file-"))
    batch.output_path.touch()
    batch.error_path.touch()
    batch.status = "in_progress"
    started = min(now, max(batch.stage_until, batch.created_at))  # when validation ended
    batch.times["in_progress_at"] = started
    batch.started_at = started


@contextlib.contextmanager
def _handles(source: Path, output: Path, errors: Path) -> Iterator[tuple[IO[bytes], ...]]:
    """The input file to read lines from, and the output and error files to append to (local
    temporary files: opening them does not block the loop for long)."""
    with open(source, "rb") as a, open(output, "ab") as b, open(errors, "ab") as c:
        yield a, b, c


async def _run_due(state: EmulatorState, batch: StoredBatch, now: float) -> bool:
    """Run the lines due by ``now``; whether every line has run."""
    speed = state.batch.lines_per_second
    due = batch.total if speed is None else min(batch.total, int((now - batch.started_at) * speed))
    todo = min(due - batch.done, MAX_LINES_PER_READ)
    if todo > 0:
        stored = state.batch.file(batch.input_file_id)
        assert stored is not None and batch.output_path and batch.error_path
        with _handles(stored.path, batch.output_path, batch.error_path) as (source, out, err):
            for _ in range(todo):
                source.seek(batch.offsets[batch.order[batch.done]])
                ok, line = await _run_line(state, batch, source.readline())
                (out if ok else err).write(line)
                batch.done += 1
                if ok:
                    batch.completed += 1
                else:
                    batch.failed += 1
    return batch.done >= batch.total


async def _run_line(state: EmulatorState, batch: StoredBatch, raw: bytes) -> tuple[bool, bytes]:
    """One line through the online API's handlers; whether it succeeded, and its output line."""
    from azoai_emulator.dispatch import handle  # dispatch registers this module's handlers

    obj = json.loads(raw)
    body = obj["body"]
    op = LINE_URLS[obj["url"]]
    if batch.route == "v1":
        path, query = f"/openai/v1/{op}", {}
    elif op == "responses":
        path, query = "/openai/responses", {"api-version": batch.api_version or FIRST_GA}
    else:
        deployment = quote(str(body.get("model", "")), safe="")
        path = f"/openai/deployments/{deployment}/{op}"
        query = {"api-version": batch.api_version or FIRST_GA}
    payload = json.dumps(body).encode("utf-8")
    record = RequestRecord("POST", path, query, {}, body, state.clock())
    call = Call(
        "POST", path, query, {"content-type": "application/json"}, payload, batch.base_url, record
    )
    token = IN_BATCH.set(True)
    try:
        result = await handle(call, state)
    finally:
        IN_BATCH.reset(token)
    status: int
    answer: Any
    if isinstance(result, StreamResult):
        status = 400
        answer = azure_errors.invalid_request(
            "Streaming is not supported in batch requests.", param="stream"
        ).body
    elif result.drop or result.status == 0:
        status, answer = 500, azure_errors.service_error(500).body
    else:
        status, answer = result.status, result.body
    line = {
        "id": f"batch_req_{uuid.uuid4().hex}",
        "custom_id": obj["custom_id"],
        "response": {
            "status_code": status,
            "request_id": result.headers.get("apim-request-id"),
            "body": answer,
        },
        "error": None,
    }
    return 200 <= status < 300, json.dumps(line, ensure_ascii=False).encode("utf-8") + b"\n"


def expire(state: EmulatorState) -> int:
    """Make every batch still running expire on its next read; how many."""
    now = state.clock()
    count = 0
    for b in state.batch.all_batches():
        if b.status in ("validating", "in_progress"):
            b.expires_at = now
            count += 1
    return count


# --- routes ---------------------------------------------------------------------------------------

Handler = Callable[[Call, EmulatorState, re.Match[str]], Awaitable[HttpResult]]


def _files_route(route: str) -> Handler:
    async def handler(call: Call, state: EmulatorState, m: re.Match[str]) -> HttpResult:
        return await handle_files(call, state, route=route)

    return handler


def _file_route(route: str, *, content: bool = False) -> Handler:
    async def handler(call: Call, state: EmulatorState, m: re.Match[str]) -> HttpResult:
        return await handle_file(call, state, route=route, file_id=m.group(1), content=content)

    return handler


def _batches_route(route: str) -> Handler:
    async def handler(call: Call, state: EmulatorState, m: re.Match[str]) -> HttpResult:
        return await handle_batches(call, state, route=route)

    return handler


def _batch_route(route: str, *, cancel: bool = False) -> Handler:
    async def handler(call: Call, state: EmulatorState, m: re.Match[str]) -> HttpResult:
        return await handle_batch(call, state, route=route, batch_id=m.group(1), cancel=cancel)

    return handler


def batch_routes() -> list[tuple[frozenset[str], re.Pattern[str], Handler]]:
    """The Files and Batches paths for :mod:`.dispatch`, on both routes."""
    seg = r"([^/]+)"
    out: list[tuple[frozenset[str], re.Pattern[str], Handler]] = []
    for route, base in (("v1", "/openai/v1"), ("deployments", "/openai")):
        out += [
            (frozenset({"GET", "POST"}), re.compile(rf"{base}/files"), _files_route(route)),
            (
                frozenset({"GET", "DELETE"}),
                re.compile(rf"{base}/files/{seg}"),
                _file_route(route),
            ),
            (
                frozenset({"GET"}),
                re.compile(rf"{base}/files/{seg}/content"),
                _file_route(route, content=True),
            ),
            (frozenset({"GET", "POST"}), re.compile(rf"{base}/batches"), _batches_route(route)),
            (frozenset({"GET"}), re.compile(rf"{base}/batches/{seg}"), _batch_route(route)),
            (
                frozenset({"POST"}),
                re.compile(rf"{base}/batches/{seg}/cancel"),
                _batch_route(route, cancel=True),
            ),
        ]
    return out
