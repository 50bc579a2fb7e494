"""The steps every inference request goes through before its API-specific handling.

Order: api-version (route rules) -> authentication -> JSON body -> deployment -> faults (the
request's header, then the deployment's) -> latency -> operation versus model -> [the API's own
validation] -> quota (:func:`admit`).
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from azoai_emulator import azure_errors
from azoai_emulator.api_versions import V1_VERSIONS, DatedVersion, Feature, dated_version, supports
from azoai_emulator.config import EmulatorDeployment
from azoai_emulator.faults import FAULT_HEADER, AppliedFaults, Fault
from azoai_emulator.filters import prompt_results
from azoai_emulator.identity import authenticate_data_plane
from azoai_emulator.models import ModelSpec
from azoai_emulator.protocol import Call
from azoai_emulator.ratelimit import Decision
from azoai_emulator.state import EmulatorState

__all__ = ["IN_BATCH", "DropConnection", "Target", "admit", "prepare", "sse", "success_headers"]

#: Set while a batch line runs (azoai_emulator.api_batches): no request latency, no credential
#: check (the batch's requests were authenticated) and no TPM/RPM quota (a batch deployment's
#: quota is its enqueued tokens).
IN_BATCH: ContextVar[bool] = ContextVar("azoai_emulator_in_batch", default=False)

#: Names Azure uses for each operation in quota messages, and in OperationNotSupported.
OPERATIONS = {
    "chat": ("ChatCompletions_Create", "chatCompletion"),
    "completions": ("Completions_Create", "completion"),
    "embeddings": ("Embeddings_Create", "embeddings"),
    "responses": ("Responses_Create", "responses"),
    "speech": ("Speech_Create", "audioSpeech"),
    "transcriptions": ("Transcriptions_Create", "audioTranscription"),
    "translations": ("Translations_Create", "audioTranslation"),
    "images": ("ImageGenerations_Create", "imageGeneration"),
    "image_edits": ("ImageGenerations_Edit", "imageEdit"),
}


class DropConnection(Exception):
    """Raised to answer nothing and close the socket."""


@dataclass(slots=True)
class Target:
    """What an inference request addresses, once the common checks passed."""

    operation: str
    route: str  # "deployments" or "v1"
    version: DatedVersion | None  # the dated version; None on the v1 route
    version_label: str  # for messages: the dated version, "v1" or "preview"
    deployment: EmulatorDeployment
    body: dict[str, Any]
    faults: AppliedFaults

    @property
    def info(self) -> ModelSpec:
        return self.deployment.info

    def supports(self, feature: Feature) -> bool:
        return self.version is None or supports(self.version, feature)

    def at_least(self, first: str) -> bool:
        """Whether the dated version is dated on or after ``first`` (a catalogue version; the v1
        route always is)."""
        floor = dated_version(first)
        assert floor is not None, first
        return self.version is None or self.version.day >= floor.day


def check_dated_version(call: Call, needs: Feature | None = None) -> DatedVersion:
    """The deployments route's api-version rules: missing -> 404, unknown -> 400, an operation
    the version lacks -> 404 (facts §4.6)."""
    raw = call.query.get("api-version")
    if raw is None:
        raise azure_errors.resource_not_found()
    version = dated_version(raw)
    if version is None:
        raise azure_errors.api_version_not_supported()
    if needs is not None and not supports(version, needs):
        raise azure_errors.resource_not_found()
    return version


def check_v1_version(call: Call) -> str:
    raw = call.query.get("api-version")
    if raw is not None and raw not in V1_VERSIONS:
        raise azure_errors.api_version_not_supported()
    return raw or "v1"


async def prepare(
    call: Call,
    state: EmulatorState,
    *,
    operation: str,
    route: str,
    path_deployment: str | None = None,
    websocket: bool = False,
    form: dict[str, Any] | None = None,
    serves: Callable[[EmulatorDeployment], bool] | None = None,
) -> Target:
    """``websocket``: a message on an open WebSocket (authenticated at the handshake, no
    request latency, always streamed). ``form``: the request's fields when its body is not JSON
    (a multipart upload, parsed by the caller); ``serves``: whether a deployment's model serves
    the operation, when :mod:`.models` does not say (audio models have their own table)."""
    needs = {
        "chat": Feature.CHAT_COMPLETIONS,
        "responses": Feature.RESPONSES,
        "speech": Feature.AUDIO_SPEECH,
        "transcriptions": Feature.AUDIO_TRANSCRIPTION,
        "translations": Feature.AUDIO_TRANSCRIPTION,
        "images": Feature.IMAGE_GENERATIONS,
        "image_edits": Feature.IMAGE_EDITS,
    }.get(operation)
    version: DatedVersion | None = None
    if route == "deployments":
        version = check_dated_version(call, needs)
        label = version.value
    else:
        label = check_v1_version(call)
    if not websocket and not IN_BATCH.get():  # a new HTTP request, not a WebSocket message
        if state.request_latency > 0:
            await state.wait(state.request_latency)
        how = authenticate_data_plane(
            call, api_key=state.api_key, issuer=state.issuer, v1=route == "v1"
        )
        if how == "entra" and route == "v1" and operation == "embeddings":
            raise azure_errors.entra_refused_for_v1_embeddings()
    body = parse_body(call) if form is None else form
    if not isinstance(body, dict):
        raise azure_errors.invalid_request("The request body must be a JSON object.")
    name = path_deployment
    if name is None:
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise azure_errors.missing_parameter("model")
        name = model
    call.record.deployment = name
    deployment = state.deployment(name)
    if deployment is None or not deployment.serving:
        raise azure_errors.deployment_not_found(v1=route == "v1")
    try:
        extra = Fault.parse(call.headers.get(FAULT_HEADER, ""))
    except ValueError as exc:
        raise azure_errors.invalid_request(
            f"Invalid {FAULT_HEADER} header: {exc}", param=FAULT_HEADER
        ) from None
    faults = state.take_faults(
        name, operation=operation, stream=websocket or body.get("stream") is True, extra=extra
    )
    wait = deployment.latency + faults.latency
    if wait > 0:
        await state.wait(wait)
    target = Target(operation, route, version, label, deployment, body, faults)
    if faults.terminal is not None:
        _raise_terminal(faults.terminal, target)
    if not (serves(deployment) if serves is not None else operation in deployment.info.apis):
        # e.g. embeddings on a chat model (models.py), a transcription on a tts model
        raise azure_errors.operation_not_supported(OPERATIONS[operation][1], deployment.model)
    return target


def parse_body(call: Call) -> Any:
    """The body as JSON, or OpenAI's 400 for a body that is not JSON."""
    try:
        return json.loads(call.raw_body or b"null")
    except ValueError:
        raise azure_errors.invalid_request(
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
            "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was "
            "sent was not valid JSON.)"
        ) from None


def _raise_terminal(fault: Fault, target: Target) -> None:
    if fault.kind == "close_connection":
        raise DropConnection()
    if fault.kind == "paused":
        raise azure_errors.deployment_paused(target.deployment.name)
    if fault.kind == "rate_limit":
        raise azure_errors.rate_limited(
            operation=OPERATIONS[target.operation][0],
            api_version=target.version_label,
            wait_ms=fault.retry_after_ms if fault.retry_after_ms is not None else 1000,
            kind="token",
            remaining_requests=0,
            remaining_tokens=0,
        )
    if fault.kind == "content_filter":
        if target.operation in ("images", "image_edits"):  # the Images API's own body
            raise azure_errors.image_prompt_filtered(prompt_results(fault.category))
        raise azure_errors.prompt_filtered(prompt_results(fault.category))
    raise azure_errors.service_error(fault.code, fault.message, retry_after_ms=fault.retry_after_ms)


def check_blocklist(target: Target, text: str) -> None:
    """A deployment's blocklist words filter the prompt, with a custom blocklist verdict."""
    lowered = text.lower()
    for word in target.deployment.blocklist:
        if word.lower() in lowered:
            raise azure_errors.prompt_filtered(
                prompt_results(blocklist=f"{target.deployment.name}-blocklist")
            )


def admit(state: EmulatorState, target: Target, estimate: int) -> Decision:
    """Take quota for ``estimate`` tokens, or raise Azure's 429."""
    d = target.deployment
    if IN_BATCH.get():
        rpm, tpm = d.requests_per_minute, d.tpm
        return Decision(True, 0.0, "token", rpm, tpm, rpm, tpm)
    decision = state.limiter.acquire(d.name, rpm=d.requests_per_minute, tpm=d.tpm, tokens=estimate)
    if not decision.allowed:
        raise azure_errors.rate_limited(
            operation=OPERATIONS[target.operation][0],
            api_version=target.version_label,
            wait_ms=max(1, math.ceil(decision.wait * 1000)),
            kind=decision.kind,
            remaining_requests=decision.remaining_requests,
            remaining_tokens=decision.remaining_tokens,
        )
    return decision


def success_headers(target: Target, decision: Decision) -> dict[str, str]:
    return {"x-ms-deployment-name": target.deployment.name, **decision.headers()}


def request_id_headers(call: Call, region: str) -> dict[str, str]:
    """Headers Azure puts on every response."""
    request_id = str(uuid.uuid4())
    headers = {"apim-request-id": request_id, "x-request-id": request_id, "x-ms-region": region}
    client_id = call.headers.get("x-ms-client-request-id")
    if client_id:
        headers["x-ms-client-request-id"] = client_id
    return headers


def sse(data: Any, event: str | None = None) -> bytes:
    """One server-sent event frame (``data: [DONE]`` when ``data`` is the string ``[DONE]``)."""
    payload = (
        data
        if isinstance(data, str)
        else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    )
    prefix = f"event: {event}\n" if event else ""
    return f"{prefix}data: {payload}\n\n".encode()


def reject_unknown(body: dict[str, Any], known: frozenset[str]) -> None:
    unknown = [k for k in body if k not in known]
    if unknown:
        raise azure_errors.unrecognized_arguments(unknown)
