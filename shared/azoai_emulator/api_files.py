"""The Files API, on both routes: ``/openai/v1/files[/{id}[/content]]`` and
``/openai/files[/{id}[/content]]?api-version=``.

Upload is ``multipart/form-data`` with ``purpose`` and ``file`` (and optionally
``expires_after.seconds`` / ``expires_after.anchor``, spelled ``expires_after[seconds]`` too);
the answer is the file object, ``processed`` on v1 and ``pending`` (201) on the dated route, as
the 2024-10-21 authoring spec's example shows, ``processed`` from the next read on. A batch
input file larger than the emulator's ``max_file_bytes`` (Azure: "Maximum input file size:
200 MB") is refused with a 400 (Azure documents the limit, not the body). Output and error
files of batches have purpose ``batch_output``. Content is served as it was stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from azoai_emulator import azure_errors
from azoai_emulator.batch_state import StoredFile, new_id
from azoai_emulator.identity import authenticate_data_plane
from azoai_emulator.pipeline import check_dated_version, check_v1_version
from azoai_emulator.protocol import ApiError, Call, HttpResult
from azoai_emulator.state import EmulatorState

__all__ = ["authenticate", "handle_file", "handle_files", "not_found"]

PURPOSES = frozenset({"batch", "fine-tune", "assistants", "vision", "user_data", "evals"})
#: Azure's range for ``expires_after.seconds`` (its batch how-to): 14 to 30 days.
EXPIRY_RANGE = (1_209_600, 2_592_000)
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?')
_DISPOSITION = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def authenticate(call: Call, state: EmulatorState, route: str) -> None:
    """The version and credential checks every Files and Batches request passes."""
    if route == "v1":
        check_v1_version(call)
    else:
        check_dated_version(call)
    authenticate_data_plane(call, api_key=state.api_key, issuer=state.issuer, v1=route == "v1")


def not_found(kind: str, ident: str) -> ApiError:
    """OpenAI's 404 for an unknown object id (the v1 API passes OpenAI's errors through)."""
    return azure_errors.invalid_request(f"No such {kind} object: {ident}", param="id", status=404)


def _parts(call: Call) -> Iterator[tuple[dict[str, str], bytes]]:
    """The parts of a ``multipart/form-data`` body: (disposition params, content)."""
    ctype = call.headers.get("content-type", "")
    m = _BOUNDARY.search(ctype)
    if not ctype.lower().startswith("multipart/form-data") or m is None:
        raise azure_errors.invalid_request(
            "The request must be multipart/form-data with a 'file' and a 'purpose'."
        )
    delimiter = b"--" + m.group(1).encode("latin-1")
    for chunk in call.raw_body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            continue
        params: dict[str, str] = {}
        for header in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = header.partition(":")
            if name.strip().lower() == "content-disposition":
                params = dict(_DISPOSITION.findall(value))
        yield params, content.removesuffix(b"\r\n")


def _upload(call: Call, state: EmulatorState, route: str) -> HttpResult:
    fields: dict[str, str] = {}
    data: bytes | None = None
    filename = "file"
    for params, content in _parts(call):
        name = params.get("name", "")
        if name == "file":
            data = content
            filename = params.get("filename") or filename
        else:
            fields[name] = content.decode("utf-8", "replace")
    purpose = fields.get("purpose")
    if purpose is None:
        raise azure_errors.missing_parameter("purpose")
    if purpose not in PURPOSES:
        raise azure_errors.invalid_request(
            f"'{purpose}' is not one of {sorted(PURPOSES)} - 'purpose'", param="purpose"
        )
    if data is None:
        raise azure_errors.missing_parameter("file")
    batches = state.batch
    if purpose == "batch" and len(data) > batches.max_file_bytes:
        raise azure_errors.invalid_request(
            f"The file is {len(data):,} bytes; batch input files may be at most "
            f"{batches.max_file_bytes:,} bytes.",
            param="file",
        )
    now = int(state.clock())
    expires_at: int | None = None
    seconds = fields.get("expires_after.seconds", fields.get("expires_after[seconds]"))
    if seconds is not None:
        anchor = fields.get("expires_after.anchor", fields.get("expires_after[anchor]"))
        if anchor not in (None, "created_at"):
            raise azure_errors.invalid_request(
                "expires_after.anchor must be 'created_at'", param="expires_after.anchor"
            )
        if not seconds.isdigit() or not EXPIRY_RANGE[0] <= int(seconds) <= EXPIRY_RANGE[1]:
            raise azure_errors.invalid_request(
                f"expires_after.seconds must be between {EXPIRY_RANGE[0]} and {EXPIRY_RANGE[1]}",
                param="expires_after.seconds",
            )
        expires_at = now + int(seconds)
    file_id = new_id("file-")
    path = batches.new_path(file_id)
    path.write_bytes(data)
    stored = StoredFile(
        id=file_id,
        filename=filename,
        purpose=purpose,
        size=len(data),
        created_at=now,
        path=path,
        status="processed" if route == "v1" else "pending",
        expires_at=expires_at,
    )
    batches.add_file(stored)
    body = stored.to_json()
    stored.status = "processed"  # the next read finds it processed
    return HttpResult(200 if route == "v1" else 201, body)


def _listing(call: Call, state: EmulatorState) -> HttpResult:
    files = state.batch.all_files()
    purpose = call.query.get("purpose")
    if purpose:
        files = [f for f in files if f.purpose == purpose]
    data = [f.to_json() for f in sorted(files, key=lambda f: f.created_at, reverse=True)]
    return HttpResult(200, {"object": "list", "data": data})


async def handle_files(call: Call, state: EmulatorState, *, route: str) -> HttpResult:
    """``POST`` (upload) or ``GET`` (list) on ``files``."""
    authenticate(call, state, route)
    if call.method == "POST":
        return _upload(call, state, route)
    return _listing(call, state)


async def handle_file(
    call: Call, state: EmulatorState, *, route: str, file_id: str, content: bool = False
) -> HttpResult:
    """``GET`` / ``DELETE`` one file, or ``GET`` its content."""
    authenticate(call, state, route)
    stored = state.batch.file(file_id)
    if stored is None:
        raise not_found("File", file_id)
    if content:
        if call.method != "GET":
            raise azure_errors.resource_not_found()
        return HttpResult(
            200, stored.path.read_bytes(), {"content-type": "application/octet-stream"}
        )
    if call.method == "DELETE":
        state.batch.remove_file(file_id)
        return HttpResult(200, {"id": file_id, "object": "file", "deleted": True})
    return HttpResult(200, stored.to_json())
