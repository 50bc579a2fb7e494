"""The Batch API's wire shapes, pure: input lines, output and error lines, batch and file objects.

An input file is JSON lines, one request each::

    {"custom_id": "task-0", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "<batch deployment>", ...}}

The ``url`` follows the route the batch is created on: ``/v1/chat/completions``,
``/v1/responses`` and ``/v1/embeddings`` with ``/openai/v1/batches`` (Azure's current batch
docs), ``/chat/completions`` and ``/embeddings`` with the dated ``/openai/batches?api-version=``
(Azure's 2024 docs). Every line names the same Global Batch deployment in ``body.model``.
Output and error files hold one line per request, in no particular order::

    {"custom_id": "task-0", "response": {"status_code": 200, "request_id": "...", "body": {...}}, "error": null}

A request that failed has its status and Azure's error body in ``response``, or (a request the
service never ran) ``response: null`` and an ``error`` object with ``code`` and ``message``.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from azoai.errors import InvalidResponseError
from azoai.wire.common import dumps, loads

__all__ = [
    "BATCH_STATUSES",
    "TERMINAL",
    "BatchInfo",
    "BatchKind",
    "FileInfo",
    "OutputLine",
    "RequestCounts",
    "ValidationError",
    "batch_endpoint",
    "input_line",
    "line_url",
    "parse_batch",
    "parse_file",
    "parse_list",
    "parse_output_line",
]

BatchKind = Literal["chat", "responses", "embeddings"]

#: Azure's batch statuses (its batch docs' status table and batch object).
BATCH_STATUSES = (
    "validating",
    "failed",
    "in_progress",
    "finalizing",
    "completed",
    "expired",
    "cancelling",
    "cancelled",
)
#: Statuses after which a batch changes no more.
TERMINAL = frozenset({"failed", "completed", "expired", "cancelled"})

_OPERATION = {"chat": "chat/completions", "responses": "responses", "embeddings": "embeddings"}


def line_url(kind: BatchKind, route: str) -> str:
    """The ``url`` of an input line: ``/v1/<op>`` on the v1 route, ``/<op>`` on the dated one."""
    op = _OPERATION[kind]
    return f"/v1/{op}" if route == "v1" else f"/{op}"


def batch_endpoint(kind: BatchKind) -> str:
    """The ``endpoint`` of a batch create request. Azure's docs pass ``/chat/completions`` and
    note that the service reads the input file to tell Chat Completions from Responses."""
    return f"/{_OPERATION[kind]}"


def input_line(custom_id: str, url: str, body: Mapping[str, Any]) -> bytes:
    """One input line, newline included (compact UTF-8 JSON, never a byte-order mark: Azure
    rejects a UTF-8-BOM file). A value JSON cannot carry is a ConfigError naming it as in the
    request (``temperature``), since the body is encoded on its own."""
    return (
        b'{"custom_id":'
        + dumps(custom_id)
        + b',"method":"POST","url":'
        + dumps(url)
        + b',"body":'
        + dumps(body)
        + b"}\n"
    )


@dataclass(slots=True)
class OutputLine:
    """One line of an output or error file. ``status`` is the request's HTTP status (``None``
    when the service never ran it: then ``error`` says why)."""

    custom_id: str | None
    status: int | None
    body: Any
    error: Mapping[str, Any] | None
    request_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def parse_output_line(raw: bytes | str) -> OutputLine:
    """An output or error line; a line that is not one raises :class:`InvalidResponseError`."""
    obj = loads(raw)
    if not isinstance(obj, dict):
        raise InvalidResponseError("a batch output line is not a JSON object")
    custom_id = obj.get("custom_id")
    response = obj.get("response")
    error = obj.get("error")
    status: int | None = None
    body: Any = None
    request_id: str | None = None
    if isinstance(response, dict):
        raw_status = response.get("status_code")
        if isinstance(raw_status, int) and not isinstance(raw_status, bool):
            status = raw_status
        body = response.get("body")
        rid = response.get("request_id")
        request_id = rid if isinstance(rid, str) else None
    return OutputLine(
        custom_id=str(custom_id) if custom_id is not None else None,
        status=status,
        body=body,
        error=error if isinstance(error, dict) else None,
        request_id=request_id,
    )


@dataclass(slots=True)
class RequestCounts:
    total: int = 0
    completed: int = 0
    failed: int = 0


@dataclass(slots=True)
class ValidationError:
    """One entry of a batch's ``errors.data``: Azure's ``code``, ``message`` and the 1-based
    ``line`` of the input file it is about (``None`` for the whole file)."""

    code: str
    message: str
    line: int | None = None
    param: str | None = None


@dataclass(slots=True)
class BatchInfo:
    """A batch object. ``status`` is lower-cased (Azure has answered ``Validating``); times are
    epoch seconds (Azure sends integers, and has sent ISO 8601 strings)."""

    id: str
    status: str
    endpoint: str | None = None
    input_file_id: str | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    created_at: float | None = None
    expires_at: float | None = None
    request_counts: RequestCounts = field(default_factory=RequestCounts)
    errors: list[ValidationError] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL


def _time(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and value:
        try:
            return _dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def parse_batch(body: Any) -> BatchInfo:
    """A batch object from a create, get, list or cancel answer."""
    if not isinstance(body, dict) or not isinstance(body.get("id"), str):
        raise InvalidResponseError("the answer is not a batch object (no 'id')")
    counts = body.get("request_counts")
    counts = counts if isinstance(counts, dict) else {}
    errors: list[ValidationError] = []
    raw_errors = body.get("errors")
    data = raw_errors.get("data") if isinstance(raw_errors, dict) else raw_errors
    for e in data if isinstance(data, list) else ():
        if not isinstance(e, dict):
            continue
        line = e.get("line")
        errors.append(
            ValidationError(
                code=str(e.get("code") or "error"),
                message=str(e.get("message") or ""),
                line=line if isinstance(line, int) and not isinstance(line, bool) else None,
                param=_str(e.get("param")),
            )
        )
    meta = body.get("metadata")
    return BatchInfo(
        id=body["id"],
        status=str(body.get("status") or "").lower(),
        endpoint=_str(body.get("endpoint")),
        input_file_id=_str(body.get("input_file_id")),
        output_file_id=_str(body.get("output_file_id")),
        error_file_id=_str(body.get("error_file_id")),
        created_at=_time(body.get("created_at")),
        expires_at=_time(body.get("expires_at")),
        request_counts=RequestCounts(
            _int(counts.get("total")), _int(counts.get("completed")), _int(counts.get("failed"))
        ),
        errors=errors,
        metadata={str(k): str(v) for k, v in meta.items()} if isinstance(meta, dict) else {},
    )


@dataclass(slots=True)
class FileInfo:
    """A file object. ``status`` is ``processed`` once the file can be used (a dated upload may
    answer ``pending`` first), ``error`` when it cannot."""

    id: str
    status: str = "processed"
    bytes: int = 0
    purpose: str | None = None
    filename: str | None = None
    status_details: str | None = None


def parse_file(body: Any) -> FileInfo:
    if not isinstance(body, dict) or not isinstance(body.get("id"), str):
        raise InvalidResponseError("the answer is not a file object (no 'id')")
    return FileInfo(
        id=body["id"],
        status=str(body.get("status") or "processed").lower(),
        bytes=_int(body.get("bytes")),
        purpose=_str(body.get("purpose")),
        filename=_str(body.get("filename")),
        status_details=_str(body.get("status_details")),
    )


def parse_list(body: Any) -> tuple[list[Any], bool]:
    """A list answer's ``data`` and ``has_more``."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise InvalidResponseError("the answer is not a list (no 'data')")
    return list(body["data"]), body.get("has_more") is True
