"""What the emulator keeps for fine-tuning: jobs and where each stands in its life, how fast jobs
move (``stage_seconds`` per stage, on the emulator's clock: tests set it, or move a fake clock),
and how fast a new deployment of a fine-tuned model comes up (``deploy_seconds``).

A job's life, as Azure reports it: ``validating_files`` (the training file is checked here:
a bad one fails the job with ``invalid_training_file``), ``queued``, ``running`` (one stage per
epoch, a checkpoint after each), then ``succeeded`` with ``fine_tuned_model``
``<base>.ft-<32 hex>[-<suffix>]``; ``cancelled`` at any point before the end; ``paused`` (from
``running``) until resumed. Kept apart from :class:`~azoai_emulator.state.EmulatorState` (which
holds one :class:`FineTuningState`) and behind its own lock; the handlers are
:mod:`.api_fine_tuning`.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FineTuningState", "StoredJob", "check_training_data"]

TERMINAL = ("succeeded", "failed", "cancelled")
_ROLES = ("system", "developer", "user", "assistant", "tool", "function")
#: "Fine-tuning jobs won't proceed without at least 10 training examples" (Azure's how-to).
MIN_EXAMPLES = 10


def check_training_data(data: bytes) -> tuple[int, int, str | None]:
    """``(examples, tokens, problem)`` for a training file: the chat format, one example per
    line, an assistant message in each, at least 10 examples; ``problem`` names the first line
    that breaks a rule (Azure's validation step reports it), ``None`` when the file is good."""
    examples = tokens = 0
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return 0, 0, "The file is not UTF-8 encoded."
    lines = text.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    for number, line in enumerate(lines, start=1):
        try:
            example = json.loads(line)
        except ValueError:
            return examples, tokens, f"Line {number}: invalid JSON."
        messages = example.get("messages") if isinstance(example, dict) else None
        if not isinstance(messages, list) or not messages:
            return examples, tokens, f"Line {number}: no 'messages' list (chat format expected)."
        for m in messages:
            if not isinstance(m, dict) or m.get("role") not in _ROLES:
                return examples, tokens, f"Line {number}: a message has an invalid role."
        if not any(m.get("role") == "assistant" for m in messages):
            return examples, tokens, f"Line {number}: no assistant message."
        examples += 1
        tokens += sum(len(str(m.get("content") or "")) // 4 + 4 for m in messages)
    if examples < MIN_EXAMPLES:
        return (
            examples,
            tokens,
            f"The training file has {examples} examples; at least {MIN_EXAMPLES} are required.",
        )
    return examples, tokens, None


def new_id(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(16)}"


@dataclass(slots=True)
class StoredJob:
    id: str
    model: str  # as asked for
    base_model: str  # the dated model the fine-tuned one is named after
    training_file: str
    validation_file: str | None
    suffix: str | None
    seed: int
    n_epochs: int
    batch_size: int
    learning_rate_multiplier: float
    created_at: float
    stage_started: float
    status: str = "validating_files"
    epoch: int = 0
    examples: int = 0
    tokens: int = 0
    fine_tuned_model: str | None = None
    finished_at: float | None = None
    error: dict[str, Any] | None = None
    paused_left: float = 0.0
    events: list[dict[str, Any]] = field(default_factory=list)
    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    training_type: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "object": "fine_tuning.job",
            "id": self.id,
            "model": self.model,
            "created_at": int(self.created_at),
            "finished_at": int(self.finished_at) if self.finished_at is not None else None,
            "fine_tuned_model": self.fine_tuned_model,
            "organization_id": "",
            "result_files": [f"file-results-{self.id[6:]}"] if self.status == "succeeded" else [],
            "status": self.status,
            "training_file": self.training_file,
            "validation_file": self.validation_file,
            "hyperparameters": {
                "n_epochs": self.n_epochs,
                "batch_size": self.batch_size,
                "learning_rate_multiplier": self.learning_rate_multiplier,
            },
            "trained_tokens": self.tokens * self.n_epochs if self.status == "succeeded" else None,
            "error": self.error or {},
            "suffix": self.suffix,
            "user_provided_suffix": self.suffix,
            "seed": self.seed,
            "estimated_finish": None,
            "integrations": [],
            "method": {"type": "supervised"},
            **({"trainingType": self.training_type} if self.training_type else {}),
        }


class FineTuningState:
    """Jobs and the speeds (see the module docstring)."""

    def __init__(self, *, stage_seconds: float = 1.0, deploy_seconds: float = 0.5) -> None:
        self.lock = threading.RLock()  # advance() holds it while it records models
        self.jobs: dict[str, StoredJob] = {}
        #: Fine-tuned model and checkpoint names -> the model they are named after (deployable).
        self.models: dict[str, str] = {}
        self.configure(stage_seconds=stage_seconds, deploy_seconds=deploy_seconds)

    def configure(self, *, stage_seconds: float = 1.0, deploy_seconds: float = 0.5) -> None:
        if stage_seconds < 0 or deploy_seconds < 0:
            raise ValueError("fine-tuning stage_seconds and deploy_seconds must be >= 0")
        self.stage_seconds = stage_seconds
        self.deploy_seconds = deploy_seconds

    def add(self, job: StoredJob) -> None:
        with self.lock:
            self.jobs[job.id] = job

    def job(self, job_id: str) -> StoredJob | None:
        with self.lock:
            return self.jobs.get(job_id)

    def all_jobs(self) -> list[StoredJob]:
        with self.lock:
            return list(self.jobs.values())

    def add_model(self, name: str, base: str) -> None:
        with self.lock:
            self.models[name] = base

    def model(self, name: str) -> str | None:
        with self.lock:
            return self.models.get(name)

    def reset(self) -> None:
        with self.lock:
            self.jobs.clear()
            self.models.clear()
