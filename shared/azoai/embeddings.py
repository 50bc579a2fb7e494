"""The embeddings engine: Azure-sized batches, long inputs split and recombined, order kept,
failures reported with the inputs they covered.

* Batches hold at most 2048 inputs (Azure's limit), so 10,000 short texts take
  ceil(10000 / 2048) = 5 requests, and at most ``max_tokens_per_request`` estimated tokens
  (default 300,000: Azure answers a larger batch "Requested N tokens, max 300000 tokens per
  request", langchain-ai/langchain#31227), scaled by the pacer's calibration (Azure's count per
  estimated token, learned from earlier responses on the connection); under a known quota a
  batch also stays within 90% of the deployment's tokens per minute.
* When the estimate was low and Azure still answers that 400, the batch is split in two and each
  half sent again, recursively; a single input over the cap on its own fails alone, by index.
* Token counts for packing and pacing are a cheap, high estimate (one token per three UTF-8
  bytes) that the quota pacer calibrates against Azure's reported usage; exact counting
  (tiktoken, when its encoding is on disk) runs only for inputs long enough to possibly exceed
  the model's limit (a token is at least one byte), which keeps the CPU per text near the floor.
* An input longer than the model's limit (8191 tokens) is split; its vector is the
  length-weighted average of the pieces' vectors, re-normalised (``split_long_inputs=False``
  rejects such inputs instead, naming their indices).
* An empty string is an error naming its index, or, with ``empty="zero"``, gets a zero vector.
* Batches run concurrently (``concurrency``, threads for sync callers, tasks for async ones).
  A batch that still fails after the client's retries is reported in
  :class:`EmbeddingBatchError` with the indices it covered; the vectors of every other batch
  are kept on the error (``partial``).
* Responses are untrusted: a malformed vector (bad base64, a wrong length, ``nan``, a missing or
  repeated ``index``) fails only its own input, reported by index like a failed batch. ``aembed``
  decodes large responses in a worker thread, off the event loop.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Literal, Protocol

from azoai.config.versions import Feature, require_feature, supports
from azoai.embedding_run import _Batch, _normalise, _Piece, _Run, _shown
from azoai.errors import (
    AzoaiError,
    ConfigError,
    QuotaStoreError,
)
from azoai.pipeline.policy import Call, CallOptions
from azoai.pipeline.waits import alistening, listening
from azoai.wire.common import dumps
from azoai.wire.embeddings import Decoded as _Decoded
from azoai.wire.embeddings import vectors
from azoai.wire.tokens import counter_for, estimate_tokens
from azoai.wire.types import EmbeddingResult, Usage

if TYPE_CHECKING:
    from azoai.config.catalog import ModelInfo
    from azoai.config.deployments import DeploymentRecord, Resolution
    from azoai.config.settings import Settings
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


__all__ = [
    "DEFAULT_MAX_TOKENS_PER_REQUEST",
    "MAX_INPUTS_PER_REQUEST",
    "OPENAI_MAX_TOKENS_PER_REQUEST",
    "EmbeddingBatchError",
    "EmbeddingEngine",
    "ProgressCallback",
]

#: Azure's limit on inputs per embeddings request.
MAX_INPUTS_PER_REQUEST = 2048
#: The service's cap on tokens summed over one embeddings request's inputs: the 400 users quote
#: reads "Requested 673477 tokens, max 300000 tokens per request" (langchain-ai/langchain#31227;
#: langchain-openai packs its batches under the same 300,000).
#: No cap by default: Azure documents 2,048 inputs of up to 8,192 tokens each and no cap on their
#: sum (facts §6); OpenAI's API caps a request at 300,000 tokens, and users quote that 400 from
#: OpenAI-compatible endpoints. A 400 of that kind is split and retried whatever the setting.
DEFAULT_MAX_TOKENS_PER_REQUEST: int | None = None
#: OpenAI's documented cap, for an OpenAI-compatible target that enforces it.
OPENAI_MAX_TOKENS_PER_REQUEST = 300_000
#: The per-input limit for current embedding models (8191 by OpenAI's tokenizer count).
DEFAULT_MAX_INPUT_TOKENS = 8191

#: Responses larger than this are decoded in a worker thread by ``aembed`` (2048 vectors of 1536
#: dimensions are about 17 MB and take a tenth of a second to decode: the event loop would stall).
OFF_LOOP_BYTES = 128 * 1024


ProgressCallback = Callable[[int, int], None] | Callable[[int, int, str | None], None]
"""Called as ``progress(done, total)`` with counts of input texts after each batch. A callback
that takes a third argument, ``progress(done, total, status=None)``, also hears why the call
waits: ``status`` is ``"waiting 12 s for quota"`` (or a 429's wait) while it waits, ``None``
after (see :mod:`azoai.pipeline.waits`)."""


class EmbeddingBatchError(AzoaiError):
    """Some inputs have no vector: their batch failed after retries, or the response's vector for
    them was malformed. ``failed_indices`` are the input positions without a vector; ``errors``
    maps each failed batch's first index, and each input whose vector was malformed, to its
    error; ``partial`` holds every vector that did arrive (``None`` where one is missing), in
    input order."""

    def __init__(
        self,
        message: str,
        *,
        failed_indices: list[int],
        errors: dict[int, AzoaiError],
        partial: list[list[float] | None],
    ) -> None:
        self.failed_indices = failed_indices
        self.errors = errors
        self.partial = partial
        first = next(iter(errors.values()), None)
        super().__init__(
            message,
            status_code=getattr(first, "status_code", None),
            fix=getattr(first, "fix", None),
        )


class EmbeddingEngine:
    def __init__(
        self,
        client: EmbeddingHost,
        *,
        batch_size: int = MAX_INPUTS_PER_REQUEST,
        max_tokens_per_request: int | None = DEFAULT_MAX_TOKENS_PER_REQUEST,
        max_input_tokens: int | None = None,
        split_long_inputs: bool = True,
        empty: Literal["error", "zero"] = "error",
        concurrency: int = 4,
        rate_limit_retries: int = 50,
    ) -> None:
        if not 1 <= batch_size <= MAX_INPUTS_PER_REQUEST:
            raise ConfigError(
                f"batch_size must be between 1 and {MAX_INPUTS_PER_REQUEST}", setting="batch_size"
            )
        if concurrency < 1:
            raise ConfigError("concurrency must be >= 1", setting="concurrency")
        if max_tokens_per_request is not None and (
            isinstance(max_tokens_per_request, bool)
            or not isinstance(max_tokens_per_request, int)
            or max_tokens_per_request < 1
        ):  # nan and inf are floats: a cap must be a whole, finite number of tokens
            raise ConfigError(
                "max_tokens_per_request must be a positive whole number of tokens (OpenAI's cap "
                f"is {OPENAI_MAX_TOKENS_PER_REQUEST:,}), or None for no cap; got "
                f"{max_tokens_per_request!r}",
                setting="max_tokens_per_request",
            )
        if empty not in ("error", "zero"):
            raise ConfigError("empty must be 'error' or 'zero'", setting="empty")
        self.client = client
        self.batch_size = batch_size
        self.max_tokens_per_request = max_tokens_per_request
        self.max_input_tokens = max_input_tokens
        self.split_long_inputs = split_long_inputs
        self.empty = empty
        self.concurrency = concurrency
        self.rate_limit_retries = rate_limit_retries

    # -- planning (pure) -------------------------------------------------------------------------

    def _plan(
        self,
        texts: Sequence[str],
        info: ModelInfo,
        quota_budget: int | None = None,
        *,
        request_cap: int | None = None,
    ) -> tuple[list[_Batch], list[int], dict[int, list[_Piece]]]:
        """Batches in input order, each under ``batch_size`` inputs, ``request_cap`` (the
        per-request token cap in estimate units; ``max_tokens_per_request`` when not given) and
        ``quota_budget``."""
        flat, empties, pieces_of = self._pieces(texts, info)
        return self._pack(flat, quota_budget, request_cap=request_cap), empties, pieces_of

    def _pieces(
        self, texts: Sequence[str], info: ModelInfo
    ) -> tuple[list[_Piece], list[int], dict[int, list[_Piece]]]:
        """Every input as pieces under the model's limit, in input order; the empty inputs."""
        if isinstance(texts, str):
            raise ConfigError("embed() takes a list of texts, not a single string", setting="texts")
        limit = self.max_input_tokens or info.max_input_tokens or DEFAULT_MAX_INPUT_TOKENS
        empties: list[int] = []
        too_long: list[int] = []
        unencodable: list[int] = []
        pieces_of: dict[int, list[_Piece]] = {}
        flat: list[_Piece] = []
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise ConfigError(
                    f"input {i} is a {type(text).__name__}, not a string", setting="texts"
                )
            if not text.strip():
                empties.append(i)
                continue
            try:
                nbytes = len(text) if text.isascii() else len(text.encode("utf-8"))
            except UnicodeEncodeError:  # a lone surrogate: no request can carry it
                unencodable.append(i)
                continue
            if nbytes <= limit or counter_for(info.encoding).count(text) <= limit:
                pieces = [_Piece(i, text, (nbytes + 2) // 3)]
            elif not self.split_long_inputs:
                too_long.append(i)
                continue
            else:
                pieces = [
                    _Piece(i, t, estimate_tokens(t))
                    for t in counter_for(info.encoding).split(text, limit)
                ]
            pieces_of[i] = pieces
            flat.extend(pieces)
        if empties and self.empty == "error":
            raise ConfigError(
                f"embeddings inputs must not be empty; empty input(s) at index {_shown(empties)}",
                setting="texts",
                fix="remove empty texts, or pass empty='zero' to get zero vectors for them",
            )
        if unencodable:
            raise ConfigError(
                f"input(s) at index {_shown(unencodable)} hold a lone surrogate (a code point "
                "from U+D800 to U+DFFF on its own), which UTF-8 and JSON cannot carry",
                setting="texts",
                fix="remove or replace those characters (text decoded with "
                "errors='surrogateescape' carries them), e.g. "
                "text.encode('utf-8', 'replace').decode('utf-8')",
            )
        if too_long:
            raise ConfigError(
                f"input(s) at index {_shown(too_long)} exceed {limit} tokens",
                setting="texts",
                fix="shorten them, or allow splitting (split_long_inputs=True averages the pieces' vectors)",
            )
        return flat, empties, pieces_of

    def _pack(
        self, flat: Sequence[_Piece], quota_budget: int | None, *, request_cap: int | None = None
    ) -> list[_Batch]:
        """``flat`` in batches (see :meth:`_plan`)."""
        if request_cap is None:
            request_cap = self.max_tokens_per_request
        caps = [c for c in (request_cap, quota_budget) if c]
        budget = min(caps) if caps else None
        batches: list[_Batch] = []
        current = _Batch()
        for p in flat:
            if current.pieces and (
                len(current.pieces) >= self.batch_size
                or (budget is not None and current.tokens + p.tokens > budget)
            ):
                batches.append(current)
                current = _Batch()
            current.pieces.append(p)
            current.tokens += p.tokens
        if current.pieces:
            batches.append(current)
        return batches

    def _request(
        self,
        batch: _Batch,
        deployment: str,
        info: ModelInfo,
        dimensions: int | None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> tuple[str, bytes]:
        s = self.client.settings
        body: dict[str, Any] = {"input": [p.text for p in batch.pieces]}
        if s.route == "v1" or s.api == "responses":
            body["model"] = deployment
        if dimensions is not None:
            body["dimensions"] = dimensions
        if supports(
            s.api_version, Feature.EMBEDDING_DIMENSIONS
        ):  # encoding_format arrived with dimensions
            body["encoding_format"] = "base64"
        if extra_body:
            body.update(extra_body)
        return self.client._url("embeddings", deployment), dumps(body)

    def _check(self, info: ModelInfo, dimensions: int | None) -> None:
        if dimensions is None:
            return
        if isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1:
            raise ConfigError(
                f"dimensions must be a positive integer, got {dimensions!r}", setting="dimensions"
            )
        require_feature(
            self.client.settings.api_version,
            Feature.EMBEDDING_DIMENSIONS,
            check=self.client.settings.check_api_version,
        )
        if info.known and not info.supports_dimensions:
            raise ConfigError(
                f"{info.name} does not accept dimensions (only text-embedding-3 and later do)",
                setting="dimensions",
            )

    @staticmethod
    def _vectors(content: bytes, batch: _Batch) -> _Decoded:
        """Each piece's vector from a response (see :func:`azoai.wire.embeddings.vectors`)."""
        return vectors(content, len(batch.pieces))

    def _assemble(
        self,
        n: int,
        empties: list[int],
        pieces_of: dict[int, list[_Piece]],
        piece_vectors: dict[int, list[float]],
        failed: set[int],
        fallback_dim: int,
    ) -> list[list[float] | None]:
        """Input-ordered vectors; a split input's vector is the token-weighted mean of its pieces."""
        out: list[list[float] | None] = [None] * n
        dim = len(next(iter(piece_vectors.values()))) if piece_vectors else fallback_dim
        for i in empties:
            out[i] = [0.0] * dim
        for i, pieces in pieces_of.items():
            if i in failed:
                continue
            if len(pieces) == 1:
                out[i] = piece_vectors[id(pieces[0])]
                continue
            total = sum(p.tokens for p in pieces) or 1
            acc = [0.0] * dim
            for p in pieces:
                w = p.tokens / total
                for k, x in enumerate(piece_vectors[id(p)]):
                    acc[k] += w * x
            out[i] = _normalise(acc)
        return out

    # -- running ---------------------------------------------------------------------------------

    def embed(
        self,
        texts: Sequence[str],
        *,
        model: str | None = None,
        dimensions: int | None = None,
        options: CallOptions | None = None,
        progress: ProgressCallback | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> EmbeddingResult:
        run = _Run(self, texts, model, dimensions, options, progress, extra_body)

        @listening(run.status.listener)  # a progress callback hears why a batch waits
        def work(batch: _Batch) -> None:
            pending = [batch]
            while pending:
                b = pending.pop()
                try:
                    resp = self.client._send(run.call_for(b), run.options)
                    run.succeeded(b, run.decode(b, resp.content))
                except QuotaStoreError:
                    raise  # the fleet's store is down: no batch can be paced
                except AzoaiError as err:
                    pending.extend(run.failed(b, err))
                finally:
                    run.pacer.settle()  # a probe ends with its batch, whatever happened

        if run.head is not None:
            try:
                work(run.head)
            finally:
                run.pacer.end_probe()
        elif run.later:
            run.pacer.wait_probe()
        if run.head is not None or run.later:
            run.batches = run.plan()
        if len(run.batches) <= 1 or self.concurrency == 1:
            for b in run.batches:
                work(b)
        else:
            workers = min(self.concurrency, len(run.batches))
            # each batch runs in a copy of the caller's context, as a task would: the call's
            # OpenTelemetry span and its record (azoai.pipeline.telemetry) reach the workers
            contexts = [contextvars.copy_context() for _ in run.batches]
            with ThreadPoolExecutor(workers, thread_name_prefix="azoai-embed") as pool:
                list(pool.map(lambda c, b: c.run(work, b), contexts, run.batches))
        return run.result()

    async def aembed(
        self,
        texts: Sequence[str],
        *,
        model: str | None = None,
        dimensions: int | None = None,
        options: CallOptions | None = None,
        progress: ProgressCallback | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> EmbeddingResult:
        import asyncio

        if self.client.settings.discovery is not None:
            await asyncio.to_thread(self.client.known_deployments)
        run = _Run(self, texts, model, dimensions, options, progress, extra_body)
        gate = asyncio.Semaphore(self.concurrency)

        @alistening(run.status.listener)
        async def work(batch: _Batch) -> None:
            pending = [batch]
            while pending:
                b = pending.pop()
                async with gate:
                    try:
                        resp = await self.client._asend(run.call_for(b), run.options)
                        content = resp.content
                        decoded = (
                            await asyncio.to_thread(run.decode, b, content)
                            if len(content) > OFF_LOOP_BYTES
                            else run.decode(b, content)
                        )
                        run.succeeded(b, decoded)
                    except QuotaStoreError:
                        raise  # the fleet's store is down: no batch can be paced
                    except AzoaiError as err:
                        pending.extend(run.failed(b, err))
                    finally:
                        run.pacer.settle()  # a probe ends with its batch, whatever happened

        if run.head is not None:
            try:
                await work(run.head)
            finally:
                run.pacer.end_probe()
        elif run.later:
            await run.pacer.await_probe()
        if run.head is not None or run.later:
            run.batches = run.plan()
        await asyncio.gather(*(work(b) for b in run.batches))
        return run.result()

    def _result(
        self,
        n: int,
        empties: list[int],
        pieces_of: dict[int, list[_Piece]],
        piece_vectors: dict[int, list[float]],
        failed: set[int],
        errors: dict[int, AzoaiError],
        usage: Usage,
        seen_model: list[str],
        deployment: str,
        fallback_dim: int,
    ) -> EmbeddingResult:
        vectors = self._assemble(n, empties, pieces_of, piece_vectors, failed, fallback_dim)
        if errors and not piece_vectors and len({type(e) for e in errors.values()}) == 1:
            # Nothing partial to keep and one cause (one batch, or every batch refused the same
            # way, e.g. the quota probe's batch and the rest): the original typed error, so
            # ``except RateLimitError`` and the like still catch it.
            raise next(iter(errors.values()))
        if errors:
            indices = sorted(failed)
            first = next(iter(errors.values()))
            raise EmbeddingBatchError(
                f"{len(indices)} of {n} embeddings inputs have no vector (index {_shown(indices)}): "
                f"{len(errors)} failed batch(es) or malformed vector(s); first error: {first.message}",
                failed_indices=indices,
                errors=errors,
                partial=vectors,
            )
        usage.total_tokens = usage.total_tokens or usage.input_tokens
        return EmbeddingResult(
            vectors=[v if v is not None else [] for v in vectors],
            usage=usage,
            model=seen_model[0] if seen_model else None,
            deployment=deployment,
        )
