"""A job's local record: which files and batches belong to it, and which inputs each line holds.

A job ``<id>`` lives in the job directory (:attr:`BatchOptions.directory`) as ``<id>.json`` (the
record, rewritten atomically after every step, so a process killed at any point leaves a record
another process can resume from) and a folder ``<id>/`` with:

* ``input-<n>.jsonl``: input file ``n`` until it is uploaded;
* ``lines-<n>.bin``: the inputs each of its lines holds, as (first index, count) pairs of int64
  (a chat line holds one input, an embeddings line several); results are put back in input order
  from it, so nothing maps indexes in memory beyond one file at a time;
* ``failures.jsonl``: inputs refused before anything was sent (an empty text, a request the
  model's rules refuse), with the reason;
* ``labels.jsonl``: optional per-input labels (the ``custom_id`` of a submitted JSONL line, a
  file name), in input order.

Nothing secret is written: the record names the endpoint and deployment, never a credential.
"""

from __future__ import annotations

import array
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from azoai.errors import ConfigError

__all__ = ["FileRecord", "JobRecord", "JobStore", "read_layout", "write_layout"]

RECORD_VERSION = 1
_JOB_ID = re.compile(r"job-[0-9a-f]{32}\Z")


@dataclass(slots=True)
class FileRecord:
    """One input file and its batch. ``status`` is ``pending`` until a batch exists, then the
    batch's status; ``not_submitted`` for a file a cancelled job never sent."""

    n: int
    start: int
    end: int
    lines: int
    bytes: int
    tokens: int
    status: str = "pending"
    file_id: str | None = None
    batch_id: str | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    counts: list[int] = field(default_factory=lambda: [0, 0, 0])  # total, completed, failed
    errors: list[list[Any]] = field(default_factory=list)  # [code, message, line]
    retries: int = 0
    retry_at: float = 0.0

    @property
    def submitted(self) -> bool:
        return self.batch_id is not None


@dataclass(slots=True)
class JobRecord:
    id: str
    kind: str  # chat | responses | embeddings | jsonl
    deployment: str
    endpoint: str
    route: str
    api_version: str
    url: str  # the input lines' url
    total: int
    created_at: float
    files: list[FileRecord] = field(default_factory=list)
    cancelled: bool = False
    dimensions: int | None = None
    labels: bool = False
    refused: int = 0  # inputs refused before sending (failures.jsonl)
    version: int = RECORD_VERSION

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobRecord:
        files = [FileRecord(**f) for f in data.pop("files", [])]
        return cls(files=files, **data)


def write_layout(path: Path, pairs: array.array[int]) -> None:
    with open(path, "wb") as fh:
        pairs.tofile(fh)


def read_layout(path: Path) -> Iterator[tuple[int, int]]:
    """The (first index, count) pair of each line of an input file, in line order."""
    pairs: array.array[int] = array.array("q")
    with open(path, "rb") as fh:
        pairs.frombytes(fh.read())
    for i in range(0, len(pairs), 2):
        yield pairs[i], pairs[i + 1]


class JobStore:
    """The job directory (see the module docstring)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def record_path(self, job_id: str) -> Path:
        if not _JOB_ID.match(job_id):
            raise ConfigError(
                f"{job_id!r} is not an azoai batch job id (job-<32 hex digits>)", setting="job_id"
            )
        return self.directory / f"{job_id}.json"

    def folder(self, job_id: str) -> Path:
        return self.directory / job_id

    def create(self, job_id: str) -> Path:
        """The job's folder, readable by this user only: it holds prompts until they are
        uploaded and results while they are read."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        folder = self.folder(job_id)
        folder.mkdir(mode=0o700, exist_ok=True)
        return folder

    def save(self, record: JobRecord) -> None:
        """Write the record atomically (a reader never sees half a file)."""
        path = self.record_path(record.id)
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(record.to_json(), fh, separators=(",", ":"))
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    def load(self, job_id: str) -> JobRecord:
        path = self.record_path(job_id)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(
                f"no batch job {job_id} in {self.directory}",
                setting="batch.job_dir",
                fix="pass the job_dir the job was created with (or set AZOAI_BATCH_DIR)",
            ) from None
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"the record of batch job {job_id} ({path}) cannot be read: {exc}",
                setting="batch.job_dir",
            ) from None
        if not isinstance(data, dict) or data.get("version") != RECORD_VERSION:
            raise ConfigError(
                f"the record of batch job {job_id} has an unknown format", setting="batch.job_dir"
            )
        return JobRecord.from_json(data)

    def job_ids(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(p.stem for p in self.directory.glob("job-*.json") if _JOB_ID.match(p.stem))

    def remove(self, job_id: str) -> None:
        """Forget a job locally (its record and folder)."""
        import shutil

        self.record_path(job_id).unlink(missing_ok=True)
        shutil.rmtree(self.folder(job_id), ignore_errors=True)
