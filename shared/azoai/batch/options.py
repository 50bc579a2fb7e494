"""How a Batch API job is split, paced, polled and where its record lives.

The defaults are Azure's documented limits (its batch how-to, "Batch limits" and "Batch quota",
docs 2026-01): at most 100,000 requests and 200 MB per input file; a deployment's enqueued
tokens (the input tokens of every batch not yet finished) are capped by its quota, which Azure
does not report to clients, so the cap is a setting here (``enqueued_token_limit``).
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from azoai.errors import ConfigError

__all__ = [
    "AZURE_MAX_FILE_BYTES",
    "AZURE_MAX_REQUESTS_PER_FILE",
    "BatchOptions",
    "default_job_dir",
]

#: Azure: "Maximum requests per file: 100,000" (a larger file fails with ``too_many_tasks``).
AZURE_MAX_REQUESTS_PER_FILE = 100_000
#: Azure: "Maximum input file size: 200 MB" (counted here in decimal megabytes, the smaller).
AZURE_MAX_FILE_BYTES = 200_000_000
#: Azure's file expiry bounds (``expires_after.seconds``): 14 to 30 days.
_EXPIRY_RANGE = (1_209_600, 2_592_000)
#: Inputs per embeddings request (Azure's limit on one embeddings call).
_MAX_EMBEDDING_INPUTS = 2048


def default_job_dir() -> Path:
    """Where job records live by default: ``$AZOAI_BATCH_DIR``, else the user's cache directory
    (``$XDG_CACHE_HOME/azoai/batch``, ``~/Library/Caches/azoai/batch``,
    ``%LOCALAPPDATA%\\azoai\\batch``)."""
    env = os.environ.get("AZOAI_BATCH_DIR")
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "azoai" / "batch"


def _positive_int(value: Any, setting: str, *, most: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{setting} must be a whole number >= 1, got {value!r}", setting=setting)
    if most is not None and value > most:
        raise ConfigError(
            f"{setting} must be at most {most:,} (Azure's limit), got {value:,}", setting=setting
        )
    return value


def _seconds(value: Any, setting: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
    ):
        raise ConfigError(
            f"{setting} must be a number of seconds >= 0, got {value!r}", setting=setting
        )
    return float(value)


@dataclass(frozen=True, slots=True)
class BatchOptions:
    """Options of a Batch API job.

    * ``max_requests_per_file`` / ``max_bytes_per_file``: input is split into several files (one
      batch each) to stay within them (Azure: 100,000 requests, 200 MB).
    * ``enqueued_token_limit``: the deployment's enqueued-token quota (Azure's portal shows it;
      its API does not). Files are sized to fit it, and a file is submitted only while the
      batches still running leave room for its tokens; the others wait for those to finish.
      ``None``: submit everything at once (Azure answers ``token_limit_exceeded`` when over;
      such a file is submitted again later, with backoff, whatever this says).
    * ``embeddings_per_line``: texts per embeddings request line (at most 2048).
    * ``poll_interval`` / ``max_poll_interval``: the first wait between status checks and the
      cap it doubles up to (Azure recommends checking at most once a minute).
    * ``job_dir``: where job records (and inputs not yet uploaded) live; default
      :func:`default_job_dir`.
    * ``file_expires_after`` / ``output_expires_after``: seconds (14 to 30 days) after which
      Azure deletes the input / output files; setting them raises Azure's per-resource limit
      from 500 batch files to 10,000.
    * ``return_filtered``: a completion the content filter cut is returned as a result, not
      reported as a :class:`~azoai.errors.ContentFilterError`.
    """

    max_requests_per_file: int = AZURE_MAX_REQUESTS_PER_FILE
    max_bytes_per_file: int = AZURE_MAX_FILE_BYTES
    enqueued_token_limit: int | None = None
    embeddings_per_line: int = 256
    poll_interval: float = 15.0
    max_poll_interval: float = 60.0
    job_dir: str | None = None
    file_expires_after: int | None = None
    output_expires_after: int | None = None
    return_filtered: bool = False

    def __post_init__(self) -> None:
        _positive_int(
            self.max_requests_per_file,
            "batch.max_requests_per_file",
            most=AZURE_MAX_REQUESTS_PER_FILE,
        )
        _positive_int(
            self.max_bytes_per_file, "batch.max_bytes_per_file", most=AZURE_MAX_FILE_BYTES
        )
        if self.max_bytes_per_file < 1024:
            raise ConfigError(
                "batch.max_bytes_per_file must be at least 1024 bytes",
                setting="batch.max_bytes_per_file",
            )
        if self.enqueued_token_limit is not None:
            _positive_int(self.enqueued_token_limit, "batch.enqueued_token_limit")
        _positive_int(
            self.embeddings_per_line, "batch.embeddings_per_line", most=_MAX_EMBEDDING_INPUTS
        )
        _seconds(self.poll_interval, "batch.poll_interval")
        if _seconds(self.max_poll_interval, "batch.max_poll_interval") < self.poll_interval:
            raise ConfigError(
                "batch.max_poll_interval must be >= batch.poll_interval",
                setting="batch.max_poll_interval",
            )
        for name in ("file_expires_after", "output_expires_after"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, int)
                or not _EXPIRY_RANGE[0] <= value <= _EXPIRY_RANGE[1]
            ):
                raise ConfigError(
                    f"batch.{name} must be a whole number of seconds from {_EXPIRY_RANGE[0]:,} "
                    f"to {_EXPIRY_RANGE[1]:,} (14 to 30 days, Azure's range), got {value!r}",
                    setting=f"batch.{name}",
                )
        if self.job_dir is not None and not isinstance(self.job_dir, str | os.PathLike):
            raise ConfigError("batch.job_dir must be a path", setting="batch.job_dir")
        if not isinstance(self.return_filtered, bool):
            raise ConfigError(
                "batch.return_filtered must be a boolean", setting="batch.return_filtered"
            )

    @property
    def directory(self) -> Path:
        return Path(self.job_dir).expanduser() if self.job_dir else default_job_dir()

    @classmethod
    def coerce(cls, raw: BatchOptions | Mapping[str, Any] | None) -> BatchOptions:
        """From ``None``, an instance, or a mapping of the field names."""
        if raw is None:
            return cls()
        if isinstance(raw, BatchOptions):
            return raw
        if not isinstance(raw, Mapping):
            raise ConfigError("batch options must be a mapping of option names", setting="batch")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError(
                f"unknown batch option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}",
                setting=f"batch.{unknown[0]}",
            )
        values = dict(raw)
        if isinstance(values.get("job_dir"), os.PathLike):
            values["job_dir"] = os.fspath(values["job_dir"])
        return cls(**values)
