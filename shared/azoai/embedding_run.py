"""One ``embed()`` call's batches: the pieces the inputs were cut into, the planned batches, the
quota probe while a deployment's quota is unknown, and the run's state (vectors that arrived,
batches that failed and how they are retried), shared by :class:`azoai.embeddings.EmbeddingEngine`'s
sync and async loops."""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from azoai.errors import (
    AzoaiError,
    BadRequestError,
    InvalidResponseError,
    RateLimitError,
)
from azoai.pipeline.pacing import pacer_for
from azoai.pipeline.policy import DEFAULT_OPTIONS, Call, CallOptions
from azoai.pipeline.waits import ProgressStatus
from azoai.wire.embeddings import Decoded as _Decoded
from azoai.wire.embeddings import prompt_tokens, vectors
from azoai.wire.types import EmbeddingResult, Usage

if TYPE_CHECKING:
    from azoai.config.catalog import ModelInfo
    from azoai.config.deployments import DeploymentRecord, Resolution
    from azoai.config.settings import Settings
    from azoai.embeddings import EmbeddingEngine, ProgressCallback
    from azoai.io.exchange import Reply
    from azoai.io.http import Connection


class EmbeddingHost(Protocol):
    """What the engine needs from the client that runs it (:class:`azoai.client.Client`): its
    settings and connection, deployment resolution, URLs, and one call sent through the
    request loop."""

    settings: Settings

    @property
    def connection(self) -> Connection: ...

    def resolve(self, model: str | None = None) -> Resolution: ...

    def known_deployments(self) -> tuple[DeploymentRecord, ...]: ...

    def _model_for(self, res: Resolution) -> ModelInfo: ...

    def _url(self, op: str, deployment: str) -> str: ...

    def _send(self, call: Call, options: CallOptions) -> Reply: ...

    async def _asend(self, call: Call, options: CallOptions) -> Reply: ...


#: While a deployment's quota is unknown, the first batch (the pacer's probe) holds at most this
#: many inputs and estimated tokens (one input at least): it fits any quota Azure sells.
_PROBE_INPUTS = 16
_PROBE_TOKENS = 1024


@dataclass(slots=True)
class _Piece:
    owner: int  # index of the input text
    text: str
    tokens: int


@dataclass(slots=True)
class _Batch:
    pieces: list[_Piece] = field(default_factory=list)
    tokens: int = 0
    place: str = ""  # in the quota pacer's line: batches go out in the planned order


class _Run:
    """One embed() call's state, shared by the sync and async loops: the plan, the pacer, the
    vectors that arrived and the batches that failed. Thread-safe."""

    def __init__(
        self,
        engine: EmbeddingEngine,
        texts: Sequence[str],
        model: str | None,
        dimensions: int | None,
        options: CallOptions | None,
        progress: ProgressCallback | None,
        extra_body: Mapping[str, Any] | None,
    ) -> None:
        client = engine.client
        self.engine = engine
        self.options = options or DEFAULT_OPTIONS
        self.n = len(texts)
        self.res = client.resolve(model)
        self.info = client._model_for(self.res)
        engine._check(self.info, dimensions)
        self.dimensions = dimensions
        self.extra_body = extra_body
        self.progress = progress
        self.status = ProgressStatus(progress, lambda: (min(self.done, self.n), self.n))
        self.pacer = pacer_for(client.connection, self.res.deployment, client.settings)
        record = self.res.record
        if self.pacer.limit_tokens is None and record is not None and record.tokens_per_minute:
            self.pacer.limit_tokens = record.tokens_per_minute  # discovery knows the quota up front
        flat, self.empties, self.pieces_of = engine._pieces(texts, self.info)
        # While the deployment's quota is unknown, a small first batch goes alone (the pacer's
        # probe) and the rest is packed after its answer, under the quota it reports: a batch
        # over the quota is split before it is sent, not after Azure refuses it.
        self.head: _Batch | None = None
        # another call's probe is out: plan after its answer
        unknown = bool(flat) and self.pacer.quota_unknown()
        self.later = unknown and not self.pacer.claim_probe()
        if unknown and not self.later:
            head: list[_Piece] = []
            tokens = 0
            budget = min(_PROBE_TOKENS, engine.max_tokens_per_request or _PROBE_TOKENS)
            for p in flat[: min(_PROBE_INPUTS, engine.batch_size)]:
                if head and tokens + p.tokens > budget:
                    break
                head.append(p)
                tokens += p.tokens
            self.head = _Batch(pieces=head, tokens=tokens)
            flat = flat[len(head) :]
        self.rest = flat
        self.batches = [] if self.head is not None or self.later else self.plan()
        self.piece_vectors: dict[int, list[float]] = {}
        self.dim = dimensions  # every vector's length: asked for, or the first one's
        self.usage = Usage()
        self.errors: dict[int, AzoaiError] = {}
        self.failed_owners: set[int] = set()
        self.done = 0
        self.models: list[str] = []
        self.probed = False
        self.lock = threading.Lock()

    def plan(self) -> list[_Batch]:
        """The batches still to send, packed under the request cap and the quota as now known."""
        cap = self.engine.max_tokens_per_request
        if cap is not None:  # in estimate units: Azure's count per estimated token, learned
            cap = max(1, cap * cap // self.pacer.cost(cap))
        batches = self.engine._pack(self.rest, self.pacer.estimate_budget(), request_cap=cap)
        for b in batches:
            b.place = self.pacer.place()
        return batches

    def call_for(self, batch: _Batch) -> Call:
        url, body = self.engine._request(
            batch, self.res.deployment, self.info, self.dimensions, self.extra_body
        )
        return Call(
            self.res.deployment,
            "embeddings",
            url,
            body,
            self.info,
            False,
            [],
            pacer=self.pacer,
            estimate=batch.tokens,
            rate_limit_retries=self.engine.rate_limit_retries,
            counted=_counted,
            place=batch.place,
        )

    @staticmethod
    def decode(batch: _Batch, content: bytes) -> _Decoded:
        """A response's vectors (CPU only, no shared state: ``aembed`` runs it in a thread)."""
        return vectors(content, len(batch.pieces))

    def succeeded(self, batch: _Batch, decoded: _Decoded) -> None:
        """Keep a response's vectors; a malformed one fails its input alone (by index)."""
        vectors, u, m = decoded
        self.pacer.calibrate(batch.tokens, u.input_tokens)
        with self.lock:
            for p, v in zip(batch.pieces, vectors, strict=True):
                if isinstance(v, list):
                    if self.dim is None:
                        self.dim = len(v)
                    elif len(v) != self.dim:
                        v = (
                            f"it has {len(v)} numbers, not the {self.dim} dimensions asked for"
                            if self.dimensions is not None
                            else f"it has {len(v)} numbers where the other vectors have {self.dim}"
                        )
                if isinstance(v, str):
                    self.errors.setdefault(
                        p.owner,
                        InvalidResponseError(
                            f"the embeddings response's vector for input {p.owner} is "
                            f"malformed: {v}",
                            deployment=self.res.deployment,
                        ),
                    )
                    self.failed_owners.add(p.owner)
                else:
                    self.piece_vectors[id(p)] = v
            self.usage.input_tokens += u.input_tokens
            self.usage.total_tokens += u.total_tokens
            if m:
                self.models.append(m)
            self.done += len({p.owner for p in batch.pieces})
            self.status.report(min(self.done, self.n), self.n)

    def failed(self, batch: _Batch, err: AzoaiError) -> list[_Batch]:
        """Record a failed batch, or return its halves when it was too big for the quota or for
        the per-request token cap.

        A batch is split when Azure answers that it holds more tokens than one request may carry
        (the estimate it was packed by was low), when the pacer knows the deployment's token
        limit and the batch is over it, or, while the limit is still unknown, once per call on
        Azure's "retry after a day" answer (the halves' responses then carry the limit)."""
        if _over_request_cap(err):
            if len(batch.pieces) > 1:
                return _halves(batch)
            owner = batch.pieces[0].owner
            err = BadRequestError(
                f"embeddings input {owner} alone is over the endpoint's per-request token cap: "
                f"{err.message}",
                status_code=err.status_code,
                code=err.code,
                fix="shorten that input, or lower max_input_tokens (LangChain: "
                "embedding_ctx_length) so long inputs are sent in smaller pieces",
                request_id=err.request_id,
                deployment=err.deployment,
                route=err.route,
                headers=err.headers,
                body=err.body,
            )
        if isinstance(err, RateLimitError) and len(batch.pieces) > 1:
            budget = self.pacer.estimate_budget()
            over_known = budget is not None and batch.tokens > budget
            with self.lock:
                probe = budget is None and err.quota_exhausted and not self.probed
                if probe:
                    self.probed = True
            if over_known or probe:
                return _halves(batch)
        with self.lock:
            self.errors.setdefault(batch.pieces[0].owner, err)
            self.failed_owners.update(p.owner for p in batch.pieces)
        return []

    def result(self) -> EmbeddingResult:
        dim = self.dimensions or self.info.embedding_dimensions or 0
        return self.engine._result(
            self.n,
            self.empties,
            self.pieces_of,
            self.piece_vectors,
            self.failed_owners,
            self.errors,
            self.usage,
            self.models,
            self.res.deployment,
            dim,
        )


def _counted(reply: Any) -> int | None:
    """Azure's token count for an embeddings answer (a :class:`~azoai.io.exchange.Reply`)."""
    content = getattr(reply, "content", None)
    return prompt_tokens(content) if isinstance(content, bytes) else None


def _halves(batch: _Batch) -> list[_Batch]:
    half = len(batch.pieces) // 2
    parts = [batch.pieces[:half], batch.pieces[half:]]
    return [_Batch(pieces=ps, tokens=sum(p.tokens for p in ps)) for ps in parts]


def _over_request_cap(err: AzoaiError) -> bool:
    """Azure's 400 for a request whose inputs sum to more tokens than the per-request cap."""
    return isinstance(err, BadRequestError) and (
        err.code == "max_tokens_per_request" or "tokens per request" in err.message.lower()
    )


def _shown(indices: list[int]) -> str:
    return ", ".join(map(str, indices[:20])) + (" ..." if len(indices) > 20 else "")


def _normalise(v: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in v))
    return [x / norm for x in v] if norm > 0 else v
