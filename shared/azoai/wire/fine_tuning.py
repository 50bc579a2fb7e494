"""The fine-tuning dialect: training data checked before upload, the job request, and Azure's
job, event and checkpoint objects parsed into neutral types. Pure: no I/O.

Training and validation data (Azure's fine-tuning how-to, ``includes/fine-tuning-rest.md``):
JSON Lines in the Chat Completions conversational format, one example per line, each
``{"messages": [...]}`` with at least one ``assistant`` message (the turns the model learns;
``weight`` 0 or 1 skips or keeps one); UTF-8; under 512 MB; "Fine-tuning jobs won't proceed
without at least 10 training examples". :func:`check_training_lines` reports the first line that
breaks a rule, by number, before anything is uploaded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from azoai.errors import ConfigError, InvalidResponseError, TrainingDataError

__all__ = [
    "MAX_TRAINING_FILE_BYTES",
    "MIN_TRAINING_EXAMPLES",
    "TERMINAL_STATUSES",
    "FineTuningCheckpoint",
    "FineTuningEvent",
    "FineTuningJob",
    "TrainingFileReport",
    "check_training_lines",
    "job_body",
    "parse_checkpoint",
    "parse_event",
    "parse_job",
    "parse_page",
]

#: "Each file must be less than 512 MB in size" (Azure's fine-tuning how-to).
MAX_TRAINING_FILE_BYTES = 512 * 1024 * 1024
#: "Fine-tuning jobs won't proceed without at least 10 training examples".
MIN_TRAINING_EXAMPLES = 10
#: A job in one of these has finished; ``succeeded`` is the one with a model.
TERMINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled"})
_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
#: "The suffix can contain up to 40 characters (a to z, A to Z, 0 to 9, -, and _)".
_SUFFIX = re.compile(r"[A-Za-z0-9_-]{1,40}\Z")
_HYPERPARAMETERS = ("n_epochs", "batch_size", "learning_rate_multiplier")


@dataclass(frozen=True, slots=True)
class TrainingFileReport:
    """A training file that passed the checks: ``examples`` lines, ``assistant_turns`` turns
    the model learns from."""

    source: str
    examples: int
    assistant_turns: int
    bytes: int


def _problem(line: int, source: str, why: str) -> TrainingDataError:
    return TrainingDataError(
        f"{source}, line {line}: {why}",
        line=line,
        source=source,
        fix='fix that line (each line is one JSON object {"messages": [...]} in the Chat '
        "Completions format, with at least one assistant message), or pass validate=False to "
        "let Azure judge the file",
    )


def _check_message(message: Any, index: int) -> str | None:
    """Why message ``index`` of an example breaks the chat format, or ``None``."""
    where = f"messages[{index}]"
    if not isinstance(message, Mapping):
        return f"{where} is not an object"
    role = message.get("role")
    if role not in _ROLES:
        return f"{where} has role {role!r}; use one of {', '.join(sorted(_ROLES))}"
    content = message.get("content")
    calls = message.get("tool_calls") or message.get("function_call")
    if content is None:
        if not (role == "assistant" and calls):
            return f"{where} ({role}) has no content"
    elif isinstance(content, list):
        if not content or not all(isinstance(p, Mapping) and "type" in p for p in content):
            return f"{where} ({role}) has a content list that is not a list of typed parts"
    elif not isinstance(content, str):
        return f"{where} ({role}) content is a {type(content).__name__}, not text"
    weight = message.get("weight")
    if weight is not None:
        if role != "assistant":
            return f"{where} has a weight, which only assistant messages take"
        if weight not in (0, 1) or isinstance(weight, bool):
            return f"{where} has weight {weight!r}; weight is 0 or 1"
    return None


def check_training_lines(
    lines: Iterable[bytes],
    *,
    source: str,
    min_examples: int = MIN_TRAINING_EXAMPLES,
) -> TrainingFileReport:
    """Check a training or validation file line by line (``lines`` as read, newlines kept or
    not); raises :class:`~azoai.errors.TrainingDataError` at the first line that breaks a rule,
    naming it. A blank line at the end is allowed, one in between is not."""
    examples = turns = size = 0
    blank_at: int | None = None
    for number, raw in enumerate(lines, start=1):
        size += len(raw)
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]  # a UTF-8 byte-order mark (Azure's how-to even asks for one)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _problem(
                number, source, f"is not UTF-8 ({exc.reason} at byte {exc.start})"
            ) from None
        if not text.strip():
            blank_at = blank_at or number
            continue
        if blank_at is not None:
            raise _problem(blank_at, source, "is empty (one example per line, no blank lines)")
        try:
            example = json.loads(text)
        except ValueError as exc:
            raise _problem(number, source, f"is not valid JSON ({exc})") from None
        if not isinstance(example, Mapping):
            raise _problem(number, source, "is not a JSON object")
        messages = example.get("messages")
        if not isinstance(messages, list) or not messages:
            raise _problem(number, source, 'has no "messages" list (the chat format)')
        for i, message in enumerate(messages):
            why = _check_message(message, i)
            if why is not None:
                raise _problem(number, source, why)
        learned = sum(
            1 for m in messages if m.get("role") == "assistant" and m.get("weight", 1) != 0
        )
        if not any(m.get("role") == "assistant" for m in messages):
            raise _problem(number, source, "has no assistant message (nothing to learn from)")
        examples += 1
        turns += learned
    if examples < min_examples:
        raise TrainingDataError(
            f"{source} has {examples} example(s); Azure's fine-tuning needs at least "
            f"{min_examples} (\"Fine-tuning jobs won't proceed without at least 10 training "
            'examples")',
            line=None,
            source=source,
            fix="add examples (hundreds work better than ten)",
        )
    return TrainingFileReport(source, examples, turns, size)


def job_body(
    model: str,
    training_file: str,
    *,
    validation_file: str | None = None,
    hyperparameters: Mapping[str, Any] | None = None,
    suffix: str | None = None,
    seed: int | None = None,
    training_type: str | None = None,
    extra_body: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The body of ``POST fine_tuning/jobs``, checked: the suffix Azure takes, hyperparameters
    as positive numbers or ``"auto"``, an integer seed. ``training_type`` is Azure's
    ``trainingType`` (``Standard``, ``GlobalStandard``, ``developerTier``)."""
    if not model or not isinstance(model, str):
        raise ConfigError("model (the base model to fine-tune) is required", setting="model")
    body: dict[str, Any] = {"model": model, "training_file": training_file}
    if validation_file is not None:
        body["validation_file"] = validation_file
    if suffix is not None:
        if not isinstance(suffix, str) or not _SUFFIX.match(suffix):
            raise ConfigError(
                f"suffix {suffix!r} is not valid: up to 40 characters from a-z, A-Z, 0-9, - and _",
                setting="suffix",
            )
        body["suffix"] = suffix
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"seed must be an integer, got {seed!r}", setting="seed")
        body["seed"] = seed
    if hyperparameters:
        hp = dict(hyperparameters)
        for name in _HYPERPARAMETERS:
            value = hp.get(name)
            if value is None or value == "auto":
                continue
            whole = name != "learning_rate_multiplier"
            ok = (
                not isinstance(value, bool)
                and isinstance(value, int if whole else int | float)
                and value > 0
            )
            if not ok:
                kind = "a positive whole number" if whole else "a positive number"
                raise ConfigError(
                    f"hyperparameters[{name!r}] must be {kind} or 'auto', got {value!r}",
                    setting=f"hyperparameters.{name}",
                )
        body["hyperparameters"] = hp
    if training_type is not None:
        body["trainingType"] = training_type
    if extra_body:
        body.update(extra_body)
    return body


# --- answers --------------------------------------------------------------------------------------


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(slots=True)
class FineTuningJob:
    """A fine-tuning job as Azure last described it. ``status``: ``validating_files``,
    ``queued``, ``running``, ``succeeded``, ``failed``, ``cancelled`` (Azure also reports
    ``pending`` before validation, and ``paused``); ``fine_tuned_model`` once it succeeded (the
    model to deploy, ``<base>.ft-<id>``); ``error`` Azure's reason when it failed."""

    id: str
    status: str
    model: str | None = None
    fine_tuned_model: str | None = None
    training_file: str | None = None
    validation_file: str | None = None
    created_at: int | None = None
    finished_at: int | None = None
    estimated_finish: int | None = None
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    trained_tokens: int | None = None
    result_files: list[str] = field(default_factory=list)
    suffix: str | None = None
    seed: int | None = None
    error: dict[str, Any] | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"


@dataclass(frozen=True, slots=True)
class FineTuningEvent:
    id: str
    created_at: int | None
    level: str
    message: str
    type: str | None = None
    data: Any = None


@dataclass(frozen=True, slots=True)
class FineTuningCheckpoint:
    """A model saved during training: deployable like the final model (by ``id`` or
    ``fine_tuned_model_checkpoint``), with the step it was taken at and its metrics."""

    id: str
    fine_tuned_model_checkpoint: str | None
    step_number: int | None
    created_at: int | None
    metrics: dict[str, Any]


def parse_job(body: Any) -> FineTuningJob:
    if not isinstance(body, Mapping) or not isinstance(body.get("id"), str):
        raise InvalidResponseError("the answer is not a fine-tuning job (no 'id')")
    status = body.get("status")
    error = body.get("error")
    hp = body.get("hyperparameters")
    files = body.get("result_files")
    return FineTuningJob(
        id=body["id"],
        status=status.lower() if isinstance(status, str) else "unknown",
        model=_str(body.get("model")),
        fine_tuned_model=_str(body.get("fine_tuned_model")),
        training_file=_str(body.get("training_file")),
        validation_file=_str(body.get("validation_file")),
        created_at=_int(body.get("created_at")),
        finished_at=_int(body.get("finished_at")),
        estimated_finish=_int(body.get("estimated_finish")),
        hyperparameters=dict(hp) if isinstance(hp, Mapping) else {},
        trained_tokens=_int(body.get("trained_tokens")),
        result_files=[f for f in files if isinstance(f, str)] if isinstance(files, list) else [],
        suffix=_str(body.get("suffix")),
        seed=_int(body.get("seed")),
        error=dict(error) if isinstance(error, Mapping) and error else None,
        raw=dict(body),
    )


def parse_event(body: Any) -> FineTuningEvent:
    if not isinstance(body, Mapping) or not isinstance(body.get("id"), str):
        raise InvalidResponseError("the answer holds an event with no 'id'")
    return FineTuningEvent(
        id=body["id"],
        created_at=_int(body.get("created_at")),
        level=str(body.get("level") or "info"),
        message=str(body.get("message") or ""),
        type=_str(body.get("type")),
        data=body.get("data"),
    )


def parse_checkpoint(body: Any) -> FineTuningCheckpoint:
    if not isinstance(body, Mapping) or not isinstance(body.get("id"), str):
        raise InvalidResponseError("the answer holds a checkpoint with no 'id'")
    metrics = body.get("metrics")
    return FineTuningCheckpoint(
        id=body["id"],
        fine_tuned_model_checkpoint=_str(body.get("fine_tuned_model_checkpoint")),
        step_number=_int(body.get("step_number")),
        created_at=_int(body.get("created_at")),
        metrics=dict(metrics) if isinstance(metrics, Mapping) else {},
    )


def parse_page(body: Any) -> tuple[list[Any], bool]:
    """A list answer's ``data`` and ``has_more``."""
    if not isinstance(body, Mapping) or not isinstance(body.get("data"), list):
        raise InvalidResponseError("the answer is not a list (no 'data')")
    return list(body["data"]), body.get("has_more") is True
