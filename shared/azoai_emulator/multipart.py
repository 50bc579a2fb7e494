"""``multipart/form-data`` request bodies (RFC 7578), for every route that takes uploads (image
edits; audio transcription and translation take the same form): :func:`parse_form` splits the
body into text fields and files, in order, a name possibly repeated (``image[]``). A body that is
not a form, or a form that does not parse, answers the 400 Azure gives for a body it cannot read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from azoai_emulator import azure_errors
from azoai_emulator.protocol import ApiError, Call

__all__ = ["Form", "Upload", "parse_form"]

_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.I)
_PARAM = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True, slots=True)
class Upload:
    name: str
    filename: str
    content: bytes
    content_type: str


@dataclass(slots=True)
class Form:
    fields: list[tuple[str, str]] = field(default_factory=list)
    files: list[Upload] = field(default_factory=list)

    def field(self, name: str) -> str | None:
        """The last value of text field ``name``."""
        found = [v for k, v in self.fields if k == name]
        return found[-1] if found else None

    def uploads(self, *names: str) -> list[Upload]:
        return [f for f in self.files if f.name in names]

    def summary(self) -> dict[str, object]:
        """What the request log shows: the fields, and each file's name, type and length."""
        out: dict[str, object] = {k: v for k, v in self.fields}
        for f in self.files:
            entry = {
                "filename": f.filename,
                "content_type": f.content_type,
                "bytes": len(f.content),
            }
            listed = out.setdefault(f.name, [])
            if isinstance(listed, list):
                listed.append(entry)
        return out


def _bad(message: str) -> ApiError:
    return azure_errors.invalid_request(message)


def parse_form(call: Call) -> Form:
    """The form in ``call``'s body; a 400 when the content type is not ``multipart/form-data``
    with a boundary, or the body does not follow it."""
    ctype = call.headers.get("content-type", "")
    if not ctype.lower().startswith("multipart/form-data"):
        raise _bad(
            "Invalid Content-Type header "
            f"({ctype or 'none'}), expected multipart/form-data. (HINT: If you're using curl, you "
            "can pass -H 'Content-Type: multipart/form-data')"
        )
    m = _BOUNDARY.search(ctype)
    if m is None:
        raise _bad("Could not parse multipart form: the Content-Type has no boundary.")
    dash = b"--" + m.group(1).encode("latin-1")
    body = call.raw_body
    if not body.startswith(dash):
        raise _bad("Could not parse multipart form: the body does not start with its boundary.")
    form = Form()
    for raw_part in body.split(dash)[1:]:
        if raw_part.startswith(b"--"):
            break  # the closing delimiter
        part = raw_part.removeprefix(b"\r\n").removesuffix(b"\r\n")
        head, sep, content = part.partition(b"\r\n\r\n")
        if not sep:
            raise _bad("Could not parse multipart form: a part has no header block.")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        params = dict(_PARAM.findall(headers.get("content-disposition", "")))
        name = params.get("name")
        if not name:
            raise _bad("Could not parse multipart form: a part has no name.")
        if "filename" in params:
            form.files.append(
                Upload(
                    name,
                    params["filename"],
                    content,
                    headers.get("content-type", "application/octet-stream"),
                )
            )
        else:
            form.fields.append((name, content.decode("utf-8", "replace")))
    else:
        raise _bad("Could not parse multipart form: the closing boundary is missing.")
    return form
