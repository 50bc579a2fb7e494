"""What the emulator keeps for the Files and Batches APIs: stored files (their bytes on disk, in a
temporary folder made on first use) and batches (their state machine's position).

Kept apart from :class:`~azoai_emulator.state.EmulatorState` (which holds one
:class:`BatchState`) and behind its own lock; the handlers are :mod:`.api_files` and
:mod:`.api_batches`.
"""

from __future__ import annotations

import array
import asyncio
import os
import secrets
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["BatchState", "StoredBatch", "StoredFile"]

#: Azure's documented per-file limits (its batch how-to, "Batch limits").
DEFAULT_MAX_REQUESTS = 100_000
DEFAULT_MAX_FILE_BYTES = 200_000_000


def new_id(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(16)}"


@dataclass(slots=True)
class StoredFile:
    id: str
    filename: str
    purpose: str
    size: int
    created_at: int
    path: Path
    status: str = "processed"
    expires_at: int | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "object": "file",
            "bytes": self.size,
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": self.status,
            "status_details": None,
        }
        if self.expires_at is not None:
            body["expires_at"] = self.expires_at
        return body


@dataclass(slots=True)
class StoredBatch:
    """A batch and where its processing stands. ``route``/``api_version``/``base_url`` are how
    it was created: its lines run as requests on that route. ``offsets`` are the input file's
    line offsets (after validation); ``order`` the order lines run in (shuffled: Azure's output
    is in no particular order); ``done`` how many of ``order`` have run."""

    id: str
    endpoint: str
    input_file_id: str
    completion_window: str
    route: str
    api_version: str | None
    base_url: str
    created_at: float
    expires_at: float
    metadata: dict[str, str] | None
    status: str = "validating"
    stage_until: float = 0.0
    started_at: float = 0.0
    times: dict[str, float | None] = field(default_factory=dict)
    deployment: str | None = None
    tokens: int = 0
    offsets: array.array[int] = field(default_factory=lambda: array.array("q"))
    order: list[int] = field(default_factory=list)
    done: int = 0
    completed: int = 0
    failed: int = 0
    errors: list[dict[str, Any]] | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    output_path: Path | None = None
    error_path: Path | None = None
    lock: asyncio.Lock | None = None

    @property
    def total(self) -> int:
        return len(self.offsets)

    def to_json(self) -> dict[str, Any]:
        t = self.times
        counted = self.status != "validating"

        def stamp(name: str) -> int | None:
            value = t.get(name)
            return int(value) if value is not None else None

        return {
            "id": self.id,
            "object": "batch",
            "endpoint": self.endpoint,
            "errors": {"object": "list", "data": self.errors} if self.errors else None,
            "input_file_id": self.input_file_id,
            "completion_window": self.completion_window,
            "status": self.status,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": int(self.created_at),
            "in_progress_at": stamp("in_progress_at"),
            "expires_at": int(self.expires_at),
            "finalizing_at": stamp("finalizing_at"),
            "completed_at": stamp("completed_at"),
            "failed_at": stamp("failed_at"),
            "expired_at": stamp("expired_at"),
            "cancelling_at": stamp("cancelling_at"),
            "cancelled_at": stamp("cancelled_at"),
            "request_counts": {
                "total": self.total if counted else 0,
                "completed": self.completed,
                "failed": self.failed,
            },
            "metadata": self.metadata,
        }


class BatchState:
    """Files and batches, and how fast batches run: ``lines_per_second`` (``None``: as fast as
    requests to the emulator let them), ``stage_seconds`` in ``validating``, ``finalizing`` and
    ``cancelling`` each; the per-file limits."""

    def __init__(
        self,
        *,
        lines_per_second: float | None = None,
        stage_seconds: float = 0.0,
        max_requests: int = DEFAULT_MAX_REQUESTS,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    ) -> None:
        self.lock = threading.Lock()
        self.files: dict[str, StoredFile] = {}
        self.batches: dict[str, StoredBatch] = {}
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self.configure(
            lines_per_second=lines_per_second,
            stage_seconds=stage_seconds,
            max_requests=max_requests,
            max_file_bytes=max_file_bytes,
        )

    def configure(
        self,
        *,
        lines_per_second: float | None = None,
        stage_seconds: float = 0.0,
        max_requests: int = DEFAULT_MAX_REQUESTS,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    ) -> None:
        if lines_per_second is not None and not lines_per_second > 0:
            raise ValueError("batch lines_per_second must be > 0, or None for no limit")
        if stage_seconds < 0:
            raise ValueError("batch stage_seconds must be >= 0")
        if max_requests < 1 or max_file_bytes < 1:
            raise ValueError("batch limits must be >= 1")
        self.lines_per_second = lines_per_second
        self.stage_seconds = stage_seconds
        self.max_requests = max_requests
        self.max_file_bytes = max_file_bytes

    @property
    def directory(self) -> Path:
        with self.lock:
            if self._dir is None:
                self._dir = tempfile.TemporaryDirectory(prefix="azoai-emulator-files-")
            return Path(self._dir.name)

    def new_path(self, file_id: str) -> Path:
        return self.directory / f"{file_id}.bin"

    def add_file(self, stored: StoredFile) -> None:
        with self.lock:
            self.files[stored.id] = stored

    def file(self, file_id: str) -> StoredFile | None:
        with self.lock:
            return self.files.get(file_id)

    def all_files(self) -> list[StoredFile]:
        with self.lock:
            return list(self.files.values())

    def remove_file(self, file_id: str) -> StoredFile | None:
        with self.lock:
            stored = self.files.pop(file_id, None)
        if stored is not None:
            try:
                os.unlink(stored.path)
            except OSError:
                pass
        return stored

    def add_batch(self, batch: StoredBatch) -> None:
        with self.lock:
            self.batches[batch.id] = batch

    def batch(self, batch_id: str) -> StoredBatch | None:
        with self.lock:
            return self.batches.get(batch_id)

    def all_batches(self) -> list[StoredBatch]:
        with self.lock:
            return list(self.batches.values())

    def reset(self) -> None:
        """Forget every file and batch (their bytes on disk too)."""
        with self.lock:
            self.files.clear()
            self.batches.clear()
            old, self._dir = self._dir, None
        if old is not None:
            old.cleanup()
