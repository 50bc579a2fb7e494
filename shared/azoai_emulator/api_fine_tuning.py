"""Fine-tuning jobs, on both routes (``/openai/v1/fine_tuning/jobs...`` and
``/openai/fine_tuning/jobs...?api-version=``), and the management API's deployment writes that
put a fine-tuned model behind a deployment (``PUT|GET|DELETE .../accounts/{a}/deployments/{d}``).

Sources: Azure's fine-tuning how-to (``includes/fine-tuning-rest.md``: create with ``model``,
``training_file``, ``validation_file``, ``seed``, ``suffix`` of up to 40 characters from a-z A-Z
0-9 - _, ``hyperparameters`` ``n_epochs``/``batch_size``/``learning_rate_multiplier``,
``trainingType``; events, checkpoints ("The completion of each training epoch generates a
checkpoint ... you have the three most recent versions of the model available to deploy"),
pause ("applicable only for jobs that are trained for at least one step and are in a Running
state") and resume; the fine-tuned model's name ``gpt-4.1-2025-04-14.ft-<32 hex>``, checkpoints
``ftchkpt-<32 hex>``) and its deploy how-to (the ARM ``PUT`` body, sku ``standard``); facts §1.3
for the dated versions (jobs from 2023-10-01-preview / GA 2024-02-01, checkpoints from
2024-05-01-preview / GA 2024-06-01, pause and resume in 2025-04-01-preview). Unknown ids answer
OpenAI's 404 ``No such ... object``, as the Files API does here.

Jobs move on the emulator's clock (:mod:`.fine_tuning_state`); a new deployment of a fine-tuned
model is ``Creating`` for ``deploy_seconds``, then ``Succeeded``, and then serves chat like its
base model.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

from azoai_emulator import azure_errors
from azoai_emulator.api_files import authenticate, not_found
from azoai_emulator.api_versions import Feature
from azoai_emulator.arm import arm_deployment, check_account
from azoai_emulator.config import EmulatorDeployment
from azoai_emulator.fine_tuning_state import (
    TERMINAL,
    FineTuningState,
    StoredJob,
    check_training_data,
    new_id,
)
from azoai_emulator.identity import authenticate_arm
from azoai_emulator.models import model_spec
from azoai_emulator.pipeline import check_dated_version, parse_body
from azoai_emulator.protocol import Call, HttpResult
from azoai_emulator.state import EmulatorState

__all__ = ["FINE_TUNABLE", "advance", "arm_deployment_routes", "fine_tuning_routes"]

#: Models Azure fine-tunes (the how-to's supported models), by family -> the dated name a
#: fine-tuned model is named after.
FINE_TUNABLE = {
    "gpt-35-turbo": "gpt-35-turbo-0125",
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano": "gpt-4.1-nano-2025-04-14",
    "o4-mini": "o4-mini-2025-04-16",
}
_SUFFIX = re.compile(r"[A-Za-z0-9_-]{1,40}\Z")
_JOB_PARAMS = frozenset(
    {
        "model",
        "training_file",
        "validation_file",
        "hyperparameters",
        "suffix",
        "seed",
        "method",
        "trainingType",
        "integrations",
        "metadata",
    }
)
_SKUS = {
    s.lower(): s
    for s in (
        "Standard",
        "GlobalStandard",
        "DeveloperTier",
        "ProvisionedManaged",
        "GlobalProvisionedManaged",
        "DataZoneStandard",
    )
}


def _base_model(state: EmulatorState, model: str) -> str | None:
    """The dated model a job on ``model`` fine-tunes (a fine-tuned model continues its base)."""
    if model in FINE_TUNABLE.values():
        return model
    if model in FINE_TUNABLE:
        return FINE_TUNABLE[model]
    return state.fine_tuning.model(model)


def _event(job: StoredJob, at: float, message: str, **data: Any) -> None:
    job.events.append(
        {
            "object": "fine_tuning.job.event",
            "id": new_id("ftevent-"),
            "created_at": int(at),
            "level": "info",
            "message": message,
            "type": "metrics" if data else "message",
            "data": data or {},
        }
    )


def _loss(step: int) -> float:
    return round(2.0 / (1 + step) + 0.05, 4)


def advance(state: EmulatorState, job: StoredJob) -> None:
    """Move ``job`` through every stage whose time has come on the emulator's clock."""
    ft: FineTuningState = state.fine_tuning
    now = state.clock()
    while job.status not in TERMINAL and job.status != "paused":
        end = job.stage_started + ft.stage_seconds
        if now < end:
            return
        job.stage_started = end
        if job.status == "validating_files":
            stored = state.batch.file(job.training_file)
            data = stored.path.read_bytes() if stored is not None else b""
            job.examples, job.tokens, problem = check_training_data(data)
            if problem is not None:
                job.status, job.finished_at = "failed", end
                job.error = {
                    "code": "invalid_training_file",
                    "message": f"The training file {job.training_file} is invalid. {problem}",
                    "param": "training_file",
                }
                _event(job, end, f"Training file validation failed: {problem}")
                continue
            _event(job, end, f"Validated training file: {job.training_file}")
            job.status = "queued"
            _event(job, end, "Job enqueued. Waiting for jobs ahead to complete.")
        elif job.status == "queued":
            job.status = "running"
            _event(job, end, "Job started.")
        else:  # running: one epoch per stage
            job.epoch += 1
            steps = max(1, job.examples // max(1, job.batch_size))
            step = job.epoch * steps
            metrics = {"step": step, "train_loss": _loss(step), "train_mean_token_accuracy": 0.9}
            _event(job, end, f"Step {step}: training loss={metrics['train_loss']}", **metrics)
            model_name = f"{job.base_model}.ft-{job.id[6:]}" + (
                f"-{job.suffix}" if job.suffix else ""
            )
            checkpoint_id = new_id("ftchkpt-")
            job.checkpoints.append(
                {
                    "object": "fine_tuning.job.checkpoint",
                    "id": checkpoint_id,
                    "created_at": int(end),
                    "fine_tuned_model_checkpoint": f"{model_name}:ckpt-step-{step}",
                    "fine_tuning_job_id": job.id,
                    "metrics": {**metrics, "full_valid_loss": _loss(step) + 0.1},
                    "step_number": step,
                }
            )
            ft.add_model(checkpoint_id, job.base_model)
            ft.add_model(f"{model_name}:ckpt-step-{step}", job.base_model)
            if job.epoch >= job.n_epochs:
                job.status, job.finished_at = "succeeded", end
                job.fine_tuned_model = model_name
                ft.add_model(model_name, job.base_model)
                _event(job, end, f"New fine-tuned model created: {model_name}")
                _event(job, end, "The job has successfully completed.")


def _check_version(call: Call, state: EmulatorState, route: str, feature: Feature) -> None:
    authenticate(call, state, route)
    if route == "deployments":
        check_dated_version(call, feature)


def _page(items: list[dict[str, Any]], call: Call, default: int) -> dict[str, Any]:
    """``items`` (newest first) from after ``?after=``, ``?limit=`` of them."""
    after = call.query.get("after")
    if after is not None:
        ids = [i["id"] for i in items]
        items = items[ids.index(after) + 1 :] if after in ids else []
    raw = call.query.get("limit", str(default))
    limit = int(raw) if raw.isdigit() and int(raw) > 0 else default
    return {"object": "list", "data": items[:limit], "has_more": len(items) > limit}


def _hyper(body: dict[str, Any], name: str, default: float, whole: bool) -> float:
    value = (body.get("hyperparameters") or {}).get(name, "auto")
    if value == "auto":
        return default
    kind = int if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or value <= 0:
        raise azure_errors.invalid_request(
            f"Invalid hyperparameters.{name}: {value!r}", param=f"hyperparameters.{name}"
        )
    return value


def _create(call: Call, state: EmulatorState) -> HttpResult:
    body = parse_body(call)
    if not isinstance(body, dict):
        raise azure_errors.invalid_request("The request body must be a JSON object.")
    unknown = [k for k in body if k not in _JOB_PARAMS]
    if unknown:
        raise azure_errors.unrecognized_arguments(unknown)
    model, training = body.get("model"), body.get("training_file")
    if not isinstance(model, str) or not model:
        raise azure_errors.missing_parameter("model")
    if not isinstance(training, str) or not training:
        raise azure_errors.missing_parameter("training_file")
    base = _base_model(state, model)
    if base is None:
        raise azure_errors.azure_error(
            400, "invalidPayload", f"The specified base model {model} does not support fine-tuning."
        )
    for param in ("training_file", "validation_file"):
        file_id = body.get(param)
        if file_id is None and param == "validation_file":
            continue
        stored = state.batch.file(str(file_id))
        if stored is None or stored.purpose != "fine-tune":
            raise azure_errors.invalid_request(f"invalid {param}: {file_id}", param=param)
    suffix = body.get("suffix")
    if suffix is not None and (not isinstance(suffix, str) or not _SUFFIX.match(suffix)):
        raise azure_errors.invalid_request(
            "The suffix may contain up to 40 characters from a-z, A-Z, 0-9, - and _.",
            param="suffix",
        )
    seed = body.get("seed", 42)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise azure_errors.invalid_request("Invalid seed: an integer is expected.", param="seed")
    now = state.clock()
    job = StoredJob(
        id=new_id("ftjob-"),
        model=model,
        base_model=base,
        training_file=training,
        validation_file=body.get("validation_file"),
        suffix=suffix,
        seed=seed,
        n_epochs=int(_hyper(body, "n_epochs", 3, True)),
        batch_size=int(_hyper(body, "batch_size", 1, True)),
        learning_rate_multiplier=float(_hyper(body, "learning_rate_multiplier", 1.0, False)),
        created_at=now,
        stage_started=now,
        training_type=body.get("trainingType"),
    )
    _event(job, now, f"Created fine-tuning job: {job.id}")
    state.fine_tuning.add(job)
    return HttpResult(200 if call.path.startswith("/openai/v1/") else 201, job.to_json())


def _job(state: EmulatorState, job_id: str) -> StoredJob:
    job = state.fine_tuning.job(job_id)
    if job is None:
        raise not_found("fine_tuning.job", job_id)
    with state.fine_tuning.lock:
        advance(state, job)
    return job


def _action(state: EmulatorState, job: StoredJob, action: str) -> None:
    now = state.clock()
    with state.fine_tuning.lock:
        if action == "cancel":
            if job.status in TERMINAL:
                raise azure_errors.invalid_request(
                    f"Job {job.id} has already {job.status} and cannot be cancelled.", param="id"
                )
            job.status, job.finished_at = "cancelled", now
            _event(job, now, "Job was cancelled.")
        elif action == "pause":
            if job.status != "running" or job.epoch < 1:
                raise azure_errors.invalid_request(
                    f"Job {job.id} is {job.status}; only a running job that has trained at "
                    "least one step can be paused.",
                    param="id",
                )
            job.paused_left = max(0.0, job.stage_started + state.fine_tuning.stage_seconds - now)
            job.status = "paused"
            _event(job, now, "Job paused.")
        else:
            if job.status != "paused":
                raise azure_errors.invalid_request(
                    f"Job {job.id} is {job.status}; only a paused job can be resumed.", param="id"
                )
            job.status = "running"
            job.stage_started = now - (state.fine_tuning.stage_seconds - job.paused_left)
            _event(job, now, "Job resumed.")


Handler = Callable[[Call, EmulatorState, re.Match[str]], Awaitable[HttpResult]]


def _jobs(route: str) -> Handler:
    async def handler(call: Call, state: EmulatorState, m: re.Match[str]) -> HttpResult:
        _check_version(call, state, route, Feature.FINE_TUNING)
        if call.method == "POST":
            return _create(call, state)
        jobs = state.fine_tuning.all_jobs()
        with state.fine_tuning.lock:
            for job in jobs:
                advance(state, job)
        newest = sorted(jobs, key=lambda j: j.created_at, reverse=True)
        return HttpResult(200, _page([j.to_json() for j in newest], call, 20))

    return handler


def _one(route: str, what: str) -> Handler:
    feature = {
        "checkpoints": Feature.FINE_TUNING_CHECKPOINTS,
        "pause": Feature.FINE_TUNING_PAUSE,
        "resume": Feature.FINE_TUNING_PAUSE,
    }.get(what, Feature.FINE_TUNING)

    async def handler(call: Call, state: EmulatorState, m: re.Match[str]) -> HttpResult:
        _check_version(call, state, route, feature)
        job = _job(state, m.group(1))
        if what == "job":
            return HttpResult(200, job.to_json())
        if what == "events":
            return HttpResult(200, _page(list(reversed(job.events)), call, 20))
        if what == "checkpoints":
            return HttpResult(200, _page(list(reversed(job.checkpoints[-3:])), call, 10))
        _action(state, job, what)
        return HttpResult(200, job.to_json())

    return handler


def fine_tuning_routes() -> list[tuple[frozenset[str], re.Pattern[str], Handler]]:
    """The fine-tuning paths for :mod:`.dispatch`, on both routes."""
    out: list[tuple[frozenset[str], re.Pattern[str], Handler]] = []
    for prefix, route in (("/openai/v1", "v1"), ("/openai", "deployments")):
        jobs = f"{prefix}/fine_tuning/jobs"
        out += [
            (frozenset({"GET", "POST"}), re.compile(jobs), _jobs(route)),
            (frozenset({"GET"}), re.compile(rf"{jobs}/([^/]+)"), _one(route, "job")),
            (frozenset({"GET"}), re.compile(rf"{jobs}/([^/]+)/events"), _one(route, "events")),
            (
                frozenset({"GET"}),
                re.compile(rf"{jobs}/([^/]+)/checkpoints"),
                _one(route, "checkpoints"),
            ),
        ]
        out += [
            (frozenset({"POST"}), re.compile(rf"{jobs}/([^/]+)/{action}"), _one(route, action))
            for action in ("cancel", "pause", "resume")
        ]
    return out


# --- the management API: one deployment ----------------------------------------------------------


def _deployed_model(state: EmulatorState, name: str) -> str | None:
    """The model a deployment of ``name`` runs: a fine-tuned model or checkpoint this emulator
    trained (a checkpoint id deploys its model's checkpoint), or a model its tables know."""
    if state.fine_tuning.model(name) is not None:
        if name.startswith("ftchkpt-"):
            for job in state.fine_tuning.all_jobs():
                for c in job.checkpoints:
                    if c["id"] == name:
                        return str(c["fine_tuned_model_checkpoint"])
        return name
    if ".ft-" in name or name.startswith("ftchkpt-"):
        return None  # a fine-tuned model this resource never trained
    return name if model_spec(name).known else None


def _put(call: Call, state: EmulatorState, name: str) -> HttpResult:
    body = parse_body(call)
    props = body.get("properties") if isinstance(body, dict) else None
    model = props.get("model") if isinstance(props, dict) else None
    sku = body.get("sku") if isinstance(body, dict) else None
    if not isinstance(model, dict) or not isinstance(model.get("name"), str):
        raise azure_errors.azure_error(
            400, "InvalidResourceProperties", "The deployment's properties.model is required."
        )
    if model.get("format") != "OpenAI":
        raise azure_errors.azure_error(
            400,
            "InvalidResourceProperties",
            f"The model format '{model.get('format')}' is not supported.",
        )
    served = _deployed_model(state, model["name"])
    if served is None:
        raise azure_errors.azure_error(
            400,
            "DeploymentModelNotSupported",
            f"The model '{model['name']}' of format 'OpenAI' and version "
            f"'{model.get('version')}' is not supported.",
        )
    sku_name = sku.get("name") if isinstance(sku, dict) else None
    canonical = _SKUS.get(str(sku_name).lower())
    capacity = sku.get("capacity", 1) if isinstance(sku, dict) else 1
    if (
        canonical is None
        or isinstance(capacity, bool)
        or not isinstance(capacity, int)
        or capacity < 1
    ):
        raise azure_errors.azure_error(
            400, "InvalidResourceProperties", f"The specified SKU '{sku_name}' is not supported."
        )
    existed = state.deployment(name) is not None
    deployment = EmulatorDeployment(
        name, model=served, version="1", sku=canonical, tpm=capacity * 1000, state="Creating"
    )
    state.put_deployment(deployment)
    ready = EmulatorDeployment(name, model=served, version="1", sku=canonical, tpm=capacity * 1000)

    def go_live() -> None:
        if state.deployment(name) == deployment:  # not replaced or removed meanwhile
            state.put_deployment(ready)

    asyncio.get_running_loop().call_later(state.fine_tuning.deploy_seconds, go_live)
    return HttpResult(200 if existed else 201, arm_deployment(state, deployment, False))


def _arm_one(call: Call, state: EmulatorState, m: re.Match[str]) -> HttpResult:
    authenticate_arm(call, state.issuer)
    check_account(call, state, subscription=m.group(1), group=m.group(2), account=m.group(3))
    name = m.group(4)
    if call.method == "PUT":
        return _put(call, state, name)
    found = state.deployment(name)
    if found is None:
        if call.method == "DELETE":
            return HttpResult(204, None)
        raise azure_errors.azure_error(
            404, "DeploymentNotFound", f"Deployment '{name}' does not exist."
        )
    if call.method == "DELETE":
        state.remove_deployment(name)
        return HttpResult(200, None)
    return HttpResult(200, arm_deployment(state, found, state.is_paused(name)))


def arm_deployment_routes() -> list[tuple[frozenset[str], re.Pattern[str], Handler]]:
    async def handler(call: Call, state: EmulatorState, m: re.Match[str]) -> HttpResult:
        return _arm_one(call, state, m)

    pattern = re.compile(
        r"/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/"
        r"Microsoft\.CognitiveServices/accounts/([^/]+)/deployments/([^/]+)",
        re.I,
    )
    return [(frozenset({"GET", "PUT", "DELETE"}), pattern, handler)]
