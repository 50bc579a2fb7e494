"""The Batch API: a corpus of requests as JSONL files, run by Azure within 24 hours at half price.

::

    from azoai import Client
    from azoai.batch import Batches

    client = Client(endpoint=..., api_key=..., deployment="gpt-4o-batch")   # a Global Batch deployment
    batches = Batches(client, {"enqueued_token_limit": 50_000_000})
    job = batches.submit_chat(requests)          # ChatRequest objects, from any iterable
    print(job.id)                                # resumable from another process by this id
    for item in job.collect():                   # waits (polling with backoff), then in input order
        print(item.index, item.result.text if item.ok else item.error)

    job = batches.submit_embeddings(texts, model="embed-batch", dimensions=256)
    vectors = job.embeddings().vectors

    job = Batches(client).resume("job-...")      # after the first process died
    job.cancel()                                 # what had run is still collected

What a job does (see :mod:`azoai.batch.job`, :mod:`azoai.batch.plan`, :mod:`azoai.batch.results`):
the requests are written to JSONL files on disk (split over Azure's 100,000 requests and 200 MB
per file, and over the enqueued-token quota), uploaded (purpose ``batch``), one batch created per
file (completion window ``24h``), submitted as the quota allows, polled with backoff; output
and error files are downloaded and read back in input order, every input reported with its
result or its typed error. The job's record (files, batches, which inputs each line holds) is
kept in a directory of the user's choosing (default: the user cache directory).

Both routes: ``/openai/v1/files`` and ``/openai/v1/batches`` on ``v1``;
``/openai/files?api-version=`` and ``/openai/batches?api-version=`` (2024-07-01-preview or later,
GA from 2024-10-21) on the dated route.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from azoai.batch.job import BatchJob, FileStatus, JobStatus
from azoai.batch.ops import Runner, Steps, drive
from azoai.batch.options import BatchOptions, default_job_dir
from azoai.batch.plan import Failure, FileWriter, Line, embedding_lines, jsonl_lines, request_lines
from azoai.batch.record import JobRecord, JobStore
from azoai.batch.results import BatchItem
from azoai.config.versions import ApiVersion, Feature, parse_api_version, require_feature, supports
from azoai.errors import ApiVersionError, BatchDeploymentError, ConfigError
from azoai.io.files import FileRequest
from azoai.wire import chat_completions, responses
from azoai.wire.batch import BatchInfo, BatchKind, line_url, parse_batch, parse_list
from azoai.wire.common import loads
from azoai.wire.tokens import estimate_tokens

if TYPE_CHECKING:
    from azoai.client import Client
    from azoai.config.catalog import ModelInfo
    from azoai.wire.types import ChatRequest

__all__ = [
    "BATCH_SKUS",
    "BatchItem",
    "BatchJob",
    "BatchOptions",
    "Batches",
    "FileStatus",
    "JobStatus",
    "default_job_dir",
]

#: Deployment SKUs that run batches (ARM ``sku.name``; the portal's Global-Batch, Data Zone Batch).
BATCH_SKUS = frozenset({"globalbatch", "datazonebatch"})
#: The Batch API on the dated route: added in 2024-07-01-preview (the api-version changelog),
#: GA from 2024-10-21 (facts §1.3).
_FIRST_PREVIEW = parse_api_version("2024-07-01-preview")
_FIRST_GA = parse_api_version("2024-10-21")
_NEWEST_DATED = parse_api_version("2025-04-01-preview")


def _dated_has_batches(v: ApiVersion) -> bool:
    if not v.is_dated:
        return True
    assert v.date is not None and _FIRST_PREVIEW.date and _FIRST_GA.date and _NEWEST_DATED.date
    if v.date > _NEWEST_DATED.date:
        return True
    return v.date >= (_FIRST_PREVIEW.date if v.kind == "preview" else _FIRST_GA.date)


class Batches:
    """Batch API jobs for one :class:`~azoai.client.Client` (its endpoint, credential, retry
    policy and connection pool). ``options``: :class:`BatchOptions` or a mapping of its fields."""

    def __init__(
        self, client: Client, options: BatchOptions | Mapping[str, Any] | None = None
    ) -> None:
        self.client = client
        self.options = BatchOptions.coerce(options)
        self.store = JobStore(self.options.directory)

    def __repr__(self) -> str:
        return (
            f"Batches({self.client.settings.endpoint.base}, job_dir={str(self.store.directory)!r})"
        )

    # -- where jobs go ---------------------------------------------------------------------------

    def _route(self) -> tuple[str, ApiVersion]:
        s = self.client.settings
        if s.route == "v1" or s.endpoint.kind == "compatible":
            return "v1", s.api_version
        v = s.api_version
        if s.check_api_version and not _dated_has_batches(v):
            raise ApiVersionError(
                f"the Batch API needs api_version 2024-07-01-preview or a later preview, or GA "
                f"2024-10-21 and later, or route='v1'; api_version is {v.value!r}",
                feature="the Batch API",
                api_version=v.value,
                fix="set api_version='2024-10-21', or route='v1' (no api-version needed)",
            )
        return "deployments", v

    def _deployment(self, model: str | None) -> tuple[str, ModelInfo]:
        """The deployment a job goes to; one known (configured or discovered) with a SKU that is
        not a batch SKU is refused before anything is uploaded."""
        res = self.client.resolve(model)
        rec = res.record
        if rec is not None and rec.sku and rec.sku.lower() not in BATCH_SKUS:
            raise BatchDeploymentError(
                f"deployment '{res.deployment}' is a {rec.sku} deployment; the Batch API runs "
                "only on Global Batch and Data Zone Batch deployments (SKU GlobalBatch or "
                "DataZoneBatch)",
                setting="model",
                fix="deploy the model with the Global-Batch deployment type and pass that "
                "deployment's name as model= (or deployment=)",
                deployment=res.deployment,
            )
        return res.deployment, self.client._model_for(res)

    def _write(
        self,
        kind: str,
        deployment: str,
        url: str,
        route: str,
        version: ApiVersion,
        lines: Iterable[Line | Failure | tuple[Line | Failure, str | None]],
        *,
        dimensions: int | None = None,
    ) -> BatchJob:
        """Write the input files (see :mod:`azoai.batch.plan`) and the job's record."""
        job_id = f"job-{uuid.uuid4().hex}"
        folder = self.store.create(job_id)
        writer = FileWriter(folder, self.options)
        labels = None
        total = 0
        try:
            for entry in lines:
                if isinstance(entry, tuple):
                    entry, label = entry
                    if labels is None:
                        labels = open(folder / "labels.jsonl", "w", encoding="utf-8")  # noqa: SIM115
                    labels.write(_json_str(label) + "\n")
                if isinstance(entry, Line):
                    writer.add(entry)
                    total = entry.start + entry.count
                else:
                    writer.fail(entry)
                    total = entry.index + 1
            files = writer.close()
        except BaseException:
            writer.abort()
            if labels is not None:
                labels.close()
            self.store.remove(job_id)
            raise
        if labels is not None:
            labels.close()
        record = JobRecord(
            id=job_id,
            kind=kind,
            deployment=deployment,
            endpoint=self.client.settings.endpoint.base,
            route=route,
            api_version=version.value,
            url=url,
            total=total,
            created_at=time.time(),
            files=files,
            dimensions=dimensions,
            labels=labels is not None,
            refused=writer.refused,
        )
        self.store.save(record)
        return BatchJob(self.client, record, self.store, self.options)

    # -- planning ----------------------------------------------------------------------------------

    def _plan_chat(
        self, requests: Iterable[ChatRequest], model: str | None, api: str | None
    ) -> BatchJob:
        s = self.client.settings
        route, version = self._route()
        kind = api or s.api
        if kind not in ("chat", "responses"):
            raise ConfigError(f"api must be 'chat' or 'responses', got {kind!r}", setting="api")
        if kind == "responses" and route != "v1":
            raise ConfigError(
                "Azure's batch docs give Responses API batch lines (/v1/responses) for the v1 "
                "route only",
                setting="route",
                fix="use route='v1' for a Responses batch, or api='chat'",
            )
        deployment, info = self._deployment(model)
        url = line_url("responses" if kind == "responses" else "chat", route)

        def build(request: ChatRequest) -> tuple[Mapping[str, Any], int]:
            if kind == "responses":
                body, _ = responses.build_body(
                    request,
                    deployment=deployment,
                    model=info,
                    version=s.api_version,
                    strict=s.strict,
                    check_version=s.check_api_version,
                )
            else:  # "v1" puts the deployment in the body, as every batch line needs
                body, _ = chat_completions.build_body(
                    request,
                    deployment=deployment,
                    route="v1",
                    model=info,
                    version=s.api_version,
                    strict=s.strict,
                    check_version=s.check_api_version,
                )
            tokens = sum(estimate_tokens(m.text) + 4 for m in request.messages) + 3
            return body, tokens

        return self._write(
            kind, deployment, url, route, version, request_lines(requests, build, url)
        )

    def _plan_embeddings(
        self,
        texts: Iterable[str],
        model: str | None,
        dimensions: int | None,
        empty: str,
        extra_body: Mapping[str, Any] | None,
    ) -> BatchJob:
        if isinstance(texts, str):
            raise ConfigError(
                "submit_embeddings() takes texts, not a single string", setting="texts"
            )
        if empty not in ("error", "zero"):
            raise ConfigError("empty must be 'error' or 'zero'", setting="empty")
        s = self.client.settings
        route, version = self._route()
        deployment, info = self._deployment(model)
        body: dict[str, Any] = {"model": deployment}
        if dimensions is not None:
            if isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1:
                raise ConfigError(
                    f"dimensions must be a positive integer, got {dimensions!r}",
                    setting="dimensions",
                )
            require_feature(version, Feature.EMBEDDING_DIMENSIONS, check=s.check_api_version)
            if info.known and not info.supports_dimensions:
                raise ConfigError(
                    f"{info.name} does not accept dimensions (only text-embedding-3 and later do)",
                    setting="dimensions",
                )
            body["dimensions"] = dimensions
        if supports(version, Feature.EMBEDDING_DIMENSIONS):  # encoding_format came with them
            body["encoding_format"] = "base64"
        body.update(extra_body or {})
        url = line_url("embeddings", route)
        lines = embedding_lines(
            texts,
            body,
            url,
            per_line=self.options.embeddings_per_line,
            max_input_tokens=info.max_input_tokens or 8191,
            encoding=info.encoding,
            zero_empty=empty == "zero",
        )
        return self._write(
            "embeddings",
            deployment,
            url,
            route,
            version,
            lines,
            dimensions=dimensions or info.embedding_dimensions,
        )

    def _plan_jsonl(self, path: str | Path, model: str | None) -> BatchJob:
        route, version = self._route()
        deployment, _ = self._deployment(model)
        ops: dict[str, BatchKind] = {
            "chat/completions": "chat",
            "responses": "responses",
            "embeddings": "embeddings",
        }

        def url_for(url: str) -> str:
            op = ops.get(url.removeprefix("/v1").strip("/"))
            if op is None:
                raise ConfigError(
                    f"url {url!r} is not a batch operation (/v1/chat/completions, "
                    "/v1/responses, /v1/embeddings)",
                    setting="file",
                )
            return line_url(op, route)

        first = _first_url(Path(path), url_for)
        return self._write(
            "jsonl", deployment, first, route, version, jsonl_lines(Path(path), deployment, url_for)
        )

    # -- submitting ---------------------------------------------------------------------------------

    def submit_chat(
        self,
        requests: Iterable[ChatRequest],
        *,
        model: str | None = None,
        api: Literal["chat", "responses"] | None = None,
    ) -> BatchJob:
        """A job of chat requests (:class:`~azoai.wire.ChatRequest`) for ``model`` (a Global
        Batch deployment; default: the client's), through Chat Completions or, with
        ``api='responses'`` (default: the client's ``api``), the Responses API. Returns once
        what the quota allows is uploaded and created."""
        job = self._plan_chat(requests, model, api)
        job.submit()
        return job

    async def asubmit_chat(
        self,
        requests: Iterable[ChatRequest],
        *,
        model: str | None = None,
        api: Literal["chat", "responses"] | None = None,
    ) -> BatchJob:
        import asyncio

        job = await asyncio.to_thread(self._plan_chat, requests, model, api)
        await job.asubmit()
        return job

    def submit_embeddings(
        self,
        texts: Iterable[str],
        *,
        model: str | None = None,
        dimensions: int | None = None,
        empty: Literal["error", "zero"] = "error",
        extra_body: Mapping[str, Any] | None = None,
    ) -> BatchJob:
        """A job embedding ``texts`` (``embeddings_per_line`` per request). An empty text is a
        failure by index, or with ``empty='zero'`` a zero vector."""
        job = self._plan_embeddings(texts, model, dimensions, empty, extra_body)
        job.submit()
        return job

    async def asubmit_embeddings(
        self,
        texts: Iterable[str],
        *,
        model: str | None = None,
        dimensions: int | None = None,
        empty: Literal["error", "zero"] = "error",
        extra_body: Mapping[str, Any] | None = None,
    ) -> BatchJob:
        import asyncio

        job = await asyncio.to_thread(
            self._plan_embeddings, texts, model, dimensions, empty, extra_body
        )
        await job.asubmit()
        return job

    def submit_jsonl(self, path: str | Path, *, model: str | None = None) -> BatchJob:
        """A job from a JSONL file of batch requests (``custom_id``, ``method``, ``url``,
        ``body``): every line goes to ``model`` (default: the client's deployment) on the
        client's route; results keep each line's ``custom_id`` as their label."""
        job = self._plan_jsonl(path, model)
        job.submit()
        return job

    # -- finding jobs ----------------------------------------------------------------------------

    def resume(self, job_id: str) -> BatchJob:
        """The job ``job_id`` from its record, in this process (after the first one died, say)."""
        record = self.store.load(job_id)
        base = self.client.settings.endpoint.base
        if record.endpoint != base:
            raise ConfigError(
                f"batch job {job_id} was submitted to {record.endpoint}, not {base}",
                setting="endpoint",
                fix=f"resume it with a client for {record.endpoint}",
            )
        return BatchJob(self.client, record, self.store, self.options, resumed=True)

    def jobs(self) -> list[JobRecord]:
        """The jobs recorded in the job directory (any endpoint), oldest first."""
        records = []
        for job_id in self.store.job_ids():
            try:
                records.append(self.store.load(job_id))
            except ConfigError:
                continue
        return sorted(records, key=lambda r: r.created_at)

    def remote(self, limit: int = 20) -> list[BatchInfo]:
        """Azure's most recent batches on this resource (one page of ``GET /batches``)."""
        route, version = self._route()
        from azoai.config.endpoints import resource_url

        url = resource_url(self.client.settings.endpoint, "batches", route=route, version=version)
        url += ("&" if "?" in url else "?") + f"limit={int(limit)}"
        reply: Any = drive(
            _one(FileRequest("GET", url, "batch list")), Runner(self.client, "(batches)")
        )
        data, _ = parse_list(loads(reply.content))
        return [parse_batch(b) for b in data]


def _one(req: FileRequest) -> Steps[Any]:
    return (yield req)


def _json_str(value: str | None) -> str:
    import json

    return json.dumps(value)


def _first_url(path: Path, url_for: Any) -> str:
    """The route url of the first request line of a JSONL file."""
    import json

    with open(path, encoding="utf-8-sig") as fh:
        for raw in fh:
            try:
                obj = json.loads(raw)
            except ValueError:
                continue
            if isinstance(obj, dict) and isinstance(obj.get("url"), str):
                return str(url_for(obj["url"]))
    raise ConfigError(f"{path} holds no batch request line", setting="file")
