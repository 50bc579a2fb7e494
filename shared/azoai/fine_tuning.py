"""Fine-tuning on a :class:`~azoai.client.Client`: training files checked and uploaded, jobs
created, followed, listed, cancelled, paused and resumed, and the fine-tuned model deployed
through the management API.

::

    ft = FineTuning(client)
    job = ft.create_job("gpt-4o-mini-2024-07-18", "train.jsonl", suffix="support")
    job = ft.wait(job.id)                      # or: for update in ft.follow(job.id): ...
    ft.deploy(job, "support-bot", sku="GlobalStandard")

Routes: ``/openai/v1/files`` and ``/openai/v1/fine_tuning/jobs[/{id}[/events|checkpoints|
cancel|pause|resume]]``, or ``/openai/...?api-version=<date>`` on the dated route (jobs from
2023-10-01-preview and GA 2024-02-01, checkpoints from 2024-05-01-preview and GA 2024-06-01,
pause and resume from 2025-04-01-preview). A training file named by path or given as bytes is
checked line by line before upload (:func:`azoai.wire.fine_tuning.check_training_lines`: the
chat format, an assistant message per example, at least 10 examples, under 512 MB); a problem is
a :class:`~azoai.errors.TrainingDataError` naming the line, and nothing is sent.

Deploying is a management-plane call (:mod:`azoai.pipeline.management`) with discovery's
credential rules: ``discovery=`` in the client's settings names the account, or pass
``management=`` (a :class:`~azoai.config.deployments.DiscoverySettings` or its mapping).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from azoai.config.catalog import lookup_model
from azoai.config.deployments import DeploymentRecord, DiscoverySettings
from azoai.config.endpoints import resource_url
from azoai.config.versions import Feature, require_feature
from azoai.errors import ConfigError, FineTuningJobError, InputTooLargeError
from azoai.io.exchange import HttpRequest, Reply
from azoai.io.files import FileRequest, FileTransport, Upload
from azoai.io.multipart import FilePart, encode
from azoai.pipeline.loop import arun, run
from azoai.pipeline.management import Management
from azoai.pipeline.policy import DEFAULT_OPTIONS, Call, CallOptions, attempts_for
from azoai.service import Service
from azoai.wire.batch import FileInfo, parse_file
from azoai.wire.common import dumps, loads
from azoai.wire.fine_tuning import (
    MAX_TRAINING_FILE_BYTES,
    MIN_TRAINING_EXAMPLES,
    FineTuningCheckpoint,
    FineTuningEvent,
    FineTuningJob,
    TrainingFileReport,
    check_training_lines,
    job_body,
    parse_checkpoint,
    parse_event,
    parse_job,
    parse_page,
)

__all__ = ["FineTuning", "FineTuningUpdate", "TrainingFile"]

#: A path to a JSONL file, or its bytes.
TrainingFile = str | os.PathLike[str] | bytes
_FILE_BUSY = ("pending", "uploaded", "running")


@dataclass(slots=True)
class FineTuningUpdate:
    """One step of :meth:`FineTuning.follow`: the job as just read, and the events that are new
    since the last step (oldest first)."""

    job: FineTuningJob
    events: list[FineTuningEvent] = field(default_factory=list)


def _is_file_id(value: object) -> bool:
    """An uploaded file's id (``file-...``), not the path of a local file."""
    return (
        isinstance(value, str)
        and value.startswith("file-")
        and os.sep not in value
        and not os.path.exists(value)
    )


def _report(file: TrainingFile, min_examples: int) -> TrainingFileReport:
    if isinstance(file, bytes):
        if len(file) > MAX_TRAINING_FILE_BYTES:
            raise _too_large(len(file), "the training data")
        return check_training_lines(
            file.splitlines(keepends=True), source="training data", min_examples=min_examples
        )
    path = os.fspath(file)
    size = os.path.getsize(path)
    if size > MAX_TRAINING_FILE_BYTES:
        raise _too_large(size, f"training file {os.path.basename(path)!r}")
    with open(path, "rb") as fh:
        return check_training_lines(fh, source=os.path.basename(path), min_examples=min_examples)


def _too_large(size: int, what: str) -> InputTooLargeError:
    return InputTooLargeError(
        f"{what} is {size:,} bytes; Azure takes fine-tuning files under 512 MB",
        size=size,
        limit=MAX_TRAINING_FILE_BYTES,
        setting="training_file",
        fix="upload large files through Azure Blob Storage (Azure's file import), or trim the data",
    )


class FineTuning(Service):
    """Fine-tuning: ``FineTuning(client)``, or ``FineTuning(endpoint=...,
    api_key=...)``. Methods take ``options=`` (:class:`~azoai.client.CallOptions`); async twins
    are prefixed with ``a``."""

    # -- requests --------------------------------------------------------------------------------

    def _resource(
        self, path: str, feature: Feature | None, query: Mapping[str, Any] | None = None
    ) -> str:
        s = self.settings
        if feature is not None:
            require_feature(s.api_version, feature, check=s.check_api_version)
        url = resource_url(s.endpoint, path, route=s.route, version=s.api_version)
        pairs = {k: v for k, v in (query or {}).items() if v is not None}
        if pairs:
            url += ("&" if "?" in url else "?") + urlencode(pairs)
        return url

    def _request(
        self, method: str, url: str, body: Any, label: str, options: CallOptions | None
    ) -> tuple[Call, HttpRequest]:
        opts = options or DEFAULT_OPTIONS
        content = dumps(body) if body is not None else b""
        call = Call(label, "fine_tuning", url, content, lookup_model(None), False, [])
        req = HttpRequest(
            url, content, False, label, opts.timeout, opts.extra_headers, method=method
        )
        return call, req

    def _json(
        self,
        method: str,
        url: str,
        body: Any = None,
        *,
        label: str,
        options: CallOptions | None = None,
    ) -> Any:
        call, req = self._request(method, url, body, label, options)
        return loads(self._send_request(call, req, options).content)

    async def _ajson(
        self,
        method: str,
        url: str,
        body: Any = None,
        *,
        label: str,
        options: CallOptions | None = None,
    ) -> Any:
        call, req = self._request(method, url, body, label, options)
        return loads((await self._asend_request(call, req, options)).content)

    @staticmethod
    def _job_path(job_id: str, tail: str = "") -> str:
        if not isinstance(job_id, str) or not job_id:
            raise ConfigError("job_id must be a fine-tuning job id (ftjob-...)", setting="job_id")
        return f"fine_tuning/jobs/{quote(job_id, safe='')}" + (f"/{tail}" if tail else "")

    # -- training files --------------------------------------------------------------------------

    def check_file(
        self, file: TrainingFile, *, min_examples: int = MIN_TRAINING_EXAMPLES
    ) -> TrainingFileReport:
        """Check a training or validation file without sending anything (see the module)."""
        return _report(file, min_examples)

    def _upload_request(self, file: TrainingFile, validate: bool, min_examples: int) -> Any:
        if validate:
            _report(file, min_examples)
        url = self._resource("files", None)
        fields = (("purpose", "fine-tune"),)
        if isinstance(file, bytes):
            form = encode(fields, [FilePart("file", "training.jsonl", file, "application/jsonl")])
            call, _ = self._request("POST", url, None, "fine-tune file upload", None)
            return call, HttpRequest(
                url, form.body, False, call.deployment, content_type=form.content_type
            )
        path = os.fspath(file)
        if not validate and os.path.getsize(path) > MAX_TRAINING_FILE_BYTES:
            raise _too_large(os.path.getsize(path), f"training file {os.path.basename(path)!r}")
        upload = Upload(path, os.path.basename(path), fields)
        call = Call("fine-tune file upload", "files", url, b"", lookup_model(None), False, [])
        return call, FileRequest("POST", url, "fine-tune file upload", upload=upload)

    def _file_attempts(self, call: Call) -> Any:
        auth = self.client.connection.auth.on_unauthorized
        return attempts_for(self.settings, call, DEFAULT_OPTIONS, auth)

    def upload_file(
        self,
        file: TrainingFile,
        *,
        validate: bool = True,
        min_examples: int = MIN_TRAINING_EXAMPLES,
        wait: bool = True,
        timeout: float = 600.0,
    ) -> FileInfo:
        """Upload a training or validation file (purpose ``fine-tune``), checked first unless
        ``validate=False``; with ``wait``, until Azure has processed it (a job can only use a
        processed file)."""
        call, req = self._upload_request(file, validate, min_examples)
        if isinstance(req, FileRequest):
            transport = FileTransport(self.settings, self.client.connection)
            reply: Reply = run(self._file_attempts(call), lambda: transport.send(req))
        else:
            reply = self._send_request(call, req, None)
        info = parse_file(loads(reply.content))
        deadline = time.monotonic() + timeout
        delay = 0.05
        while wait and info.status in _FILE_BUSY:
            if time.monotonic() + delay > deadline:
                break
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
            info = self.get_file(info.id)
        return info

    async def aupload_file(
        self,
        file: TrainingFile,
        *,
        validate: bool = True,
        min_examples: int = MIN_TRAINING_EXAMPLES,
        wait: bool = True,
        timeout: float = 600.0,  # noqa: ASYNC109 (the sync twin's name)
    ) -> FileInfo:
        call, req = await asyncio.to_thread(self._upload_request, file, validate, min_examples)
        if isinstance(req, FileRequest):
            transport = FileTransport(self.settings, self.client.connection)
            reply: Reply = await arun(self._file_attempts(call), lambda: transport.asend(req))
        else:
            reply = await self._asend_request(call, req, None)
        info = parse_file(loads(reply.content))
        deadline = time.monotonic() + timeout
        delay = 0.05
        while wait and info.status in _FILE_BUSY:
            if time.monotonic() + delay > deadline:
                break
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
            info = await self.aget_file(info.id)
        return info

    def get_file(self, file_id: str) -> FileInfo:
        url = self._resource(f"files/{quote(file_id, safe='')}", None)
        return parse_file(self._json("GET", url, label=f"file {file_id}"))

    async def aget_file(self, file_id: str) -> FileInfo:
        url = self._resource(f"files/{quote(file_id, safe='')}", None)
        return parse_file(await self._ajson("GET", url, label=f"file {file_id}"))

    # -- jobs ------------------------------------------------------------------------------------

    def _job_body(
        self, model: str, training: str, validation: str | None, kw: Mapping[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        url = self._resource("fine_tuning/jobs", Feature.FINE_TUNING)
        return url, job_body(model, training, validation_file=validation, **kw)

    def create_job(
        self,
        model: str,
        training_file: TrainingFile,
        *,
        validation_file: TrainingFile | None = None,
        hyperparameters: Mapping[str, Any] | None = None,
        suffix: str | None = None,
        seed: int | None = None,
        training_type: str | None = None,
        validate: bool = True,
        extra_body: Mapping[str, Any] | None = None,
        options: CallOptions | None = None,
    ) -> FineTuningJob:
        """Start fine-tuning ``model`` (a base model such as ``gpt-4o-mini-2024-07-18``, or a
        fine-tuned one to continue). ``training_file`` / ``validation_file``: a file id
        (``file-...``), or a path or bytes uploaded first (checked unless ``validate=False``).
        ``hyperparameters``: ``n_epochs``, ``batch_size``, ``learning_rate_multiplier``;
        ``training_type``: Azure's ``Standard``, ``GlobalStandard`` or ``developerTier``."""
        kw: dict[str, Any] = {
            "hyperparameters": hyperparameters,
            "suffix": suffix,
            "seed": seed,
            "training_type": training_type,
            "extra_body": extra_body,
        }
        job_body(model, "file-check", **kw)  # the job's own rules, before any upload
        if validate:  # both files checked before either is sent
            for f in (training_file, validation_file):
                if f is not None and not _is_file_id(f):
                    _report(f, MIN_TRAINING_EXAMPLES if f is training_file else 1)
        training = self._file_id(training_file, MIN_TRAINING_EXAMPLES)
        validation = None if validation_file is None else self._file_id(validation_file, 1)
        url, body = self._job_body(model, training, validation, kw)
        return parse_job(self._json("POST", url, body, label="fine-tuning job", options=options))

    def _file_id(self, file: TrainingFile, min_examples: int) -> str:
        if _is_file_id(file):
            return str(file)
        return self.upload_file(file, validate=False, min_examples=min_examples).id

    async def acreate_job(
        self,
        model: str,
        training_file: TrainingFile,
        *,
        validation_file: TrainingFile | None = None,
        hyperparameters: Mapping[str, Any] | None = None,
        suffix: str | None = None,
        seed: int | None = None,
        training_type: str | None = None,
        validate: bool = True,
        extra_body: Mapping[str, Any] | None = None,
        options: CallOptions | None = None,
    ) -> FineTuningJob:
        kw: dict[str, Any] = {
            "hyperparameters": hyperparameters,
            "suffix": suffix,
            "seed": seed,
            "training_type": training_type,
            "extra_body": extra_body,
        }
        job_body(model, "file-check", **kw)
        if validate:
            for f in (training_file, validation_file):
                if f is not None and not _is_file_id(f):
                    await asyncio.to_thread(
                        _report, f, MIN_TRAINING_EXAMPLES if f is training_file else 1
                    )
        ids: list[str | None] = []
        for f in (training_file, validation_file):
            if f is None or _is_file_id(f):
                ids.append(None if f is None else str(f))
            else:
                ids.append((await self.aupload_file(f, validate=False)).id)
        assert ids[0] is not None
        url, body = self._job_body(model, ids[0], ids[1], kw)
        answer = await self._ajson("POST", url, body, label="fine-tuning job", options=options)
        return parse_job(answer)

    def get_job(self, job_id: str, *, options: CallOptions | None = None) -> FineTuningJob:
        url = self._resource(self._job_path(job_id), Feature.FINE_TUNING)
        return parse_job(self._json("GET", url, label=job_id, options=options))

    async def aget_job(self, job_id: str, *, options: CallOptions | None = None) -> FineTuningJob:
        url = self._resource(self._job_path(job_id), Feature.FINE_TUNING)
        return parse_job(await self._ajson("GET", url, label=job_id, options=options))

    def list_jobs(self, *, limit: int = 20, after: str | None = None) -> list[FineTuningJob]:
        """One page of jobs, newest first (``after``: the last id of the previous page)."""
        url = self._resource(
            "fine_tuning/jobs", Feature.FINE_TUNING, {"limit": limit, "after": after}
        )
        items, _ = parse_page(self._json("GET", url, label="fine-tuning jobs"))
        return [parse_job(i) for i in items]

    async def alist_jobs(self, *, limit: int = 20, after: str | None = None) -> list[FineTuningJob]:
        url = self._resource(
            "fine_tuning/jobs", Feature.FINE_TUNING, {"limit": limit, "after": after}
        )
        items, _ = parse_page(await self._ajson("GET", url, label="fine-tuning jobs"))
        return [parse_job(i) for i in items]

    def events(
        self, job_id: str, *, limit: int = 100, after: str | None = None
    ) -> list[FineTuningEvent]:
        """A job's events, newest first, as Azure lists them."""
        url = self._resource(
            self._job_path(job_id, "events"), Feature.FINE_TUNING, {"limit": limit, "after": after}
        )
        items, _ = parse_page(self._json("GET", url, label=job_id))
        return [parse_event(i) for i in items]

    async def aevents(
        self, job_id: str, *, limit: int = 100, after: str | None = None
    ) -> list[FineTuningEvent]:
        url = self._resource(
            self._job_path(job_id, "events"), Feature.FINE_TUNING, {"limit": limit, "after": after}
        )
        items, _ = parse_page(await self._ajson("GET", url, label=job_id))
        return [parse_event(i) for i in items]

    def checkpoints(
        self, job_id: str, *, limit: int = 10, after: str | None = None
    ) -> list[FineTuningCheckpoint]:
        """The models saved during training (the last epochs'), deployable like the final one."""
        url = self._resource(
            self._job_path(job_id, "checkpoints"),
            Feature.FINE_TUNING_CHECKPOINTS,
            {"limit": limit, "after": after},
        )
        items, _ = parse_page(self._json("GET", url, label=job_id))
        return [parse_checkpoint(i) for i in items]

    async def acheckpoints(
        self, job_id: str, *, limit: int = 10, after: str | None = None
    ) -> list[FineTuningCheckpoint]:
        url = self._resource(
            self._job_path(job_id, "checkpoints"),
            Feature.FINE_TUNING_CHECKPOINTS,
            {"limit": limit, "after": after},
        )
        items, _ = parse_page(await self._ajson("GET", url, label=job_id))
        return [parse_checkpoint(i) for i in items]

    def _action(self, job_id: str, action: str) -> str:
        feature = (
            Feature.FINE_TUNING_PAUSE if action in ("pause", "resume") else Feature.FINE_TUNING
        )
        return self._resource(self._job_path(job_id, action), feature)

    def cancel(self, job_id: str) -> FineTuningJob:
        return parse_job(self._json("POST", self._action(job_id, "cancel"), label=job_id))

    async def acancel(self, job_id: str) -> FineTuningJob:
        return parse_job(await self._ajson("POST", self._action(job_id, "cancel"), label=job_id))

    def pause(self, job_id: str) -> FineTuningJob:
        """Pause a running job (Azure keeps a deployable checkpoint); :meth:`resume` goes on."""
        return parse_job(self._json("POST", self._action(job_id, "pause"), label=job_id))

    async def apause(self, job_id: str) -> FineTuningJob:
        return parse_job(await self._ajson("POST", self._action(job_id, "pause"), label=job_id))

    def resume(self, job_id: str) -> FineTuningJob:
        return parse_job(self._json("POST", self._action(job_id, "resume"), label=job_id))

    async def aresume(self, job_id: str) -> FineTuningJob:
        return parse_job(await self._ajson("POST", self._action(job_id, "resume"), label=job_id))

    # -- following -------------------------------------------------------------------------------

    @staticmethod
    def _new_events(events: Iterable[FineTuningEvent], seen: set[str]) -> list[FineTuningEvent]:
        """The events not seen before, oldest first (Azure lists the newest first)."""
        fresh = [e for e in events if e.id not in seen]
        seen.update(e.id for e in fresh)
        return fresh[::-1]

    def follow(
        self, job_id: str, *, poll_interval: float = 10.0, timeout: float | None = None
    ) -> Iterator[FineTuningUpdate]:
        """The job's progress until it finishes: an update whenever its status changes or new
        events arrive (the first update at once), the last one with the finished job. Raises
        :class:`~azoai.errors.TimeoutError` after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        seen: set[str] = set()
        status = None
        while True:
            job = self.get_job(job_id)
            fresh = self._new_events(self.events(job_id), seen)
            if fresh or job.status != status or job.done:
                status = job.status
                yield FineTuningUpdate(job, fresh)
            if job.done:
                return
            _check_deadline(job, deadline, poll_interval, timeout)
            time.sleep(poll_interval)

    async def afollow(
        self,
        job_id: str,
        *,
        poll_interval: float = 10.0,
        timeout: float | None = None,  # noqa: ASYNC109 (the sync twin's name)
    ) -> AsyncIterator[FineTuningUpdate]:
        deadline = None if timeout is None else time.monotonic() + timeout
        seen: set[str] = set()
        status = None
        while True:
            job = await self.aget_job(job_id)
            fresh = self._new_events(await self.aevents(job_id), seen)
            if fresh or job.status != status or job.done:
                status = job.status
                yield FineTuningUpdate(job, fresh)
            if job.done:
                return
            _check_deadline(job, deadline, poll_interval, timeout)
            await asyncio.sleep(poll_interval)

    def wait(
        self,
        job_id: str,
        *,
        poll_interval: float = 10.0,
        timeout: float | None = None,
        raise_on_failure: bool = True,
    ) -> FineTuningJob:
        """Follow the job to its end and return it; a job that failed or was cancelled raises
        :class:`~azoai.errors.FineTuningJobError` (with Azure's reason) unless
        ``raise_on_failure=False``."""
        last: FineTuningJob | None = None
        for update in self.follow(job_id, poll_interval=poll_interval, timeout=timeout):
            last = update.job
        assert last is not None
        return _finished(last, raise_on_failure)

    async def await_job(
        self,
        job_id: str,
        *,
        poll_interval: float = 10.0,
        timeout: float | None = None,  # noqa: ASYNC109 (the sync twin's name)
        raise_on_failure: bool = True,
    ) -> FineTuningJob:
        last: FineTuningJob | None = None
        async for update in self.afollow(job_id, poll_interval=poll_interval, timeout=timeout):
            last = update.job
        assert last is not None
        return _finished(last, raise_on_failure)

    # -- deploying -------------------------------------------------------------------------------

    def _management(self, management: DiscoverySettings | Mapping[str, Any] | None) -> Management:
        d = management if management is not None else self.settings.discovery
        if d is None:
            raise ConfigError(
                "deploying needs the management API: the subscription, resource group and "
                "account of the resource",
                setting="discovery",
                fix="set discovery={subscription_id, resource_group, account} in the settings "
                "(as for deployment discovery), or pass management={...} to deploy()",
            )
        if not isinstance(d, DiscoverySettings):
            d = DiscoverySettings.from_mapping(d)
        return Management(self.settings, d)

    def deploy(
        self,
        model: FineTuningJob | str,
        deployment_name: str,
        *,
        sku: str = "Standard",
        capacity: int = 1,
        management: DiscoverySettings | Mapping[str, Any] | None = None,
        wait: bool = True,
        timeout: float = 1800.0,
        poll_interval: float = 10.0,
    ) -> DeploymentRecord:
        """Deploy a fine-tuned model (a succeeded job, its ``fine_tuned_model`` name, or a
        checkpoint id ``ftchkpt-...``) as ``deployment_name`` with ``sku`` Standard,
        GlobalStandard, Developer or ProvisionedManaged. With ``wait``, returns once the
        deployment serves (then call it like any deployment); the client's discovered
        deployments are refreshed."""
        name = _model_name(model)
        arm = self._management(management)
        item = arm.put_deployment(deployment_name, name, sku=sku, capacity=capacity)
        if wait:
            item = arm.wait_deployment(
                deployment_name, timeout=timeout, poll_interval=poll_interval
            )
        discovery = self.client._discovery
        if discovery is not None:
            discovery.deployments(refresh=True)
        record = DeploymentRecord.from_arm(item)
        return record if record is not None else DeploymentRecord(name=deployment_name, model=name)

    async def adeploy(
        self,
        model: FineTuningJob | str,
        deployment_name: str,
        *,
        sku: str = "Standard",
        capacity: int = 1,
        management: DiscoverySettings | Mapping[str, Any] | None = None,
        wait: bool = True,
        timeout: float = 1800.0,  # noqa: ASYNC109 (the sync twin's name)
        poll_interval: float = 10.0,
    ) -> DeploymentRecord:
        # the management plane's calls are blocking HTTP (as discovery's): off the event loop
        return await asyncio.to_thread(
            self.deploy,
            model,
            deployment_name,
            sku=sku,
            capacity=capacity,
            management=management,
            wait=wait,
            timeout=timeout,
            poll_interval=poll_interval,
        )


def _model_name(model: FineTuningJob | str) -> str:
    if isinstance(model, FineTuningJob):
        if not model.succeeded or not model.fine_tuned_model:
            raise ConfigError(
                f"fine-tuning job {model.id} is {model.status}; only a succeeded job has a model "
                "to deploy",
                setting="model",
                fix="wait for the job (FineTuning.wait), or deploy one of its checkpoints",
            )
        return model.fine_tuned_model
    if not isinstance(model, str) or not model:
        raise ConfigError("model must be a fine-tuned model name or a job", setting="model")
    return model


def _check_deadline(
    job: FineTuningJob, deadline: float | None, poll_interval: float, timeout: float | None
) -> None:
    if deadline is not None and time.monotonic() + poll_interval > deadline:
        from azoai.errors import TimeoutError

        raise TimeoutError(
            f"fine-tuning job {job.id} was still {job.status} after {timeout:g} s",
            fix="raise timeout; the job goes on at Azure (follow it again by its id)",
        )


def _finished(job: FineTuningJob, raise_on_failure: bool) -> FineTuningJob:
    if raise_on_failure and not job.succeeded:
        reason = (job.error or {}).get("message") if job.error else None
        raise FineTuningJobError(
            f"fine-tuning job {job.id} ended {job.status}" + (f": {reason}" if reason else ""),
            job=job,
            code=str((job.error or {}).get("code")) if job.error else None,
            fix="read the job's events (FineTuning.events) for the details",
        )
    return job
