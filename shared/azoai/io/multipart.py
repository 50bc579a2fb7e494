"""``multipart/form-data`` requests for the operations that upload files (image edits; audio
transcription and translation use the same): plain fields and file parts encoded into one body,
sent by :class:`~azoai.io.exchange.HttpTransport` like any JSON call.

Generic on purpose, so every upload shares it: :func:`encode` takes fields (``name, value``
pairs, a name may repeat, e.g. ``image[]``) and :class:`FilePart` s, and returns the body and its
``Content-Type`` with the boundary; :func:`request` wraps them in an
:class:`~azoai.io.exchange.HttpRequest` whose per-call headers carry that content type (it
replaces the JSON default), so the one HTTP attempt, the retry loop, auth and the connection
pool are the same as for every other call. The body is built once as bytes: a retry resends the
same bytes, and a credential never appears in it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from azoai.errors import ConfigError
from azoai.io.exchange import HttpRequest

__all__ = ["FilePart", "Multipart", "encode", "request"]


@dataclass(frozen=True, slots=True)
class FilePart:
    """One file in the form: the form field ``name``, the ``filename`` the server sees, the
    bytes, and their MIME type."""

    name: str
    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class Multipart:
    body: bytes
    content_type: str


def _quote(value: str, what: str) -> str:
    """A header parameter value in quotes; characters that would break the part's headers are
    refused (a field name or filename never needs them)."""
    if any(c in value for c in '"\r\n\\') or not value.isprintable():
        raise ConfigError(
            f"{what} {value!r} holds a quote, backslash or control character",
            setting=what,
            fix=f"give a {what} without quotes, backslashes or line breaks",
        )
    return f'"{value}"'


def encode(
    fields: Iterable[tuple[str, str]], files: Iterable[FilePart], *, boundary: str | None = None
) -> Multipart:
    """The form as one body (RFC 7578): fields first, then files, in the order given."""
    mark = boundary or f"azoai-{secrets.token_hex(16)}"
    dash = f"--{mark}".encode("ascii")
    chunks: list[bytes] = []
    for name, value in fields:
        chunks += [
            dash,
            b"\r\n",
            f"Content-Disposition: form-data; name={_quote(name, 'field name')}\r\n\r\n".encode(),
            value.encode("utf-8"),
            b"\r\n",
        ]
    for part in files:
        if mark.encode("ascii") in part.content:  # never with a random boundary; checked anyway
            raise ConfigError("a file holds the multipart boundary; send it again", setting="file")
        head = (
            f"Content-Disposition: form-data; name={_quote(part.name, 'field name')}; "
            f"filename={_quote(part.filename, 'filename')}\r\n"
            f"Content-Type: {part.content_type}\r\n\r\n"
        )
        chunks += [dash, b"\r\n", head.encode("utf-8"), part.content, b"\r\n"]
    chunks += [dash, b"--\r\n"]
    return Multipart(b"".join(chunks), f"multipart/form-data; boundary={mark}")


def request(
    url: str,
    form: Multipart,
    *,
    deployment: str,
    timeout: float | None = None,
    extra_headers: Mapping[str, str] | None = None,
) -> HttpRequest:
    """The non-streamed POST of ``form`` to ``url``; the caller's own ``extra_headers`` are kept,
    except a ``Content-Type``, which must be the form's."""
    headers = {k: v for k, v in (extra_headers or {}).items() if k.lower() != "content-type"}
    headers["Content-Type"] = form.content_type
    return HttpRequest(url, form.body, False, deployment, timeout, headers)
