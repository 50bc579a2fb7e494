"""Which API serves one chat call, and what azoai learns from Azure's refusals.

A Chat Completions client (``api="chat"``) sends a call to the Responses API instead when Chat
Completions would refuse it, so the adapters get the same neutral result either way:

* function tools with reasoning on gpt-5.2 and later: "Function tools with reasoning_effort are
  not supported for gpt-5.4 in /v1/chat/completions. Please use /v1/responses instead." (the
  catalogue's ``tools_need_responses`` rule, or learned per deployment from the first such 400);
* file parts (PDFs): Azure's Chat Completions takes none on any api-version ("Invalid Value:
  'file'. This model does not support file content types."; the dated specs list text, image
  and audio parts only), while its Responses API reads them as ``input_file``.

``auto_responses=False`` keeps every call on Chat Completions: a file part is refused before
sending and Azure's tools 400 becomes :class:`~azoai.errors.ResponsesRequiredError`. The
Responses call goes where :func:`~azoai.config.endpoints.operation_url` puts it (the dated
``/openai/responses`` from its first version, else the v1 route); an endpoint that does not
serve it there is the same typed error, naming the fix.

Also here: reading the api-version minimum Azure states in a 400 ("Model {modelName} is enabled
only for api versions 2024-12-01-preview and later") into an :class:`~azoai.errors.ApiVersionError`,
and the hint a learning warning gives (the real fix, which is not always ``model=``).
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import TYPE_CHECKING

from azoai.config.catalog import ModelInfo, lookup_model
from azoai.config.versions import REASONING_UNSUPPORTED
from azoai.errors import (
    ApiVersionError,
    AzoaiError,
    BadRequestError,
    DeploymentNotFoundError,
    NotFoundError,
    ResponsesRequiredError,
    UnsupportedParameterError,
)
from azoai.wire.types import ChatRequest, FilePart

if TYPE_CHECKING:
    from azoai.config.settings import Settings
    from azoai.pipeline.policy import Call

__all__ = [
    "api_for",
    "learn_reasoning",
    "learn_tools_rule",
    "learning_hint",
    "note_routed",
    "recover",
    "responses_unreachable",
    "tools_refusal",
    "version_minimum",
]

log = logging.getLogger("azoai.client")

_TOOLS_REFUSAL = re.compile(
    r"function tools with reasoning_effort are not supported for (?P<model>\S+) in", re.I
)
_VERSION_MINIMUM = re.compile(
    r"enabled only for api versions (?P<version>\d{4}-\d{2}-\d{2}(?:-preview)?) and later", re.I
)
_TO_RESPONSES = (
    "use_responses_api=True in the adapters (api='responses' in the core), or leave "
    "auto_responses on (the default) so azoai sends such calls there"
)


def effort_of(request: ChatRequest) -> str | None:
    """The reasoning effort the call asks for (``None``: the model's default)."""
    if request.reasoning_effort is not None:
        return request.reasoning_effort
    extra = request.extra_body or {}
    value = extra.get("reasoning_effort")
    return value if isinstance(value, str) else None


def has_files(request: ChatRequest) -> bool:
    """Whether a message carries a file part (a PDF, say)."""
    return any(
        isinstance(part, FilePart)
        for m in request.messages
        if isinstance(m.content, list)
        for part in m.content
    )


def tools_refused(rule: str | None, effort: str | None) -> bool:
    """Whether Chat Completions refuses function tools with ``effort`` under ``rule`` (see
    :attr:`ModelInfo.tools_need_responses`)."""
    if rule is None or effort == "none":
        return False
    return effort is not None or rule == "unless_none"


def _reason(request: ChatRequest, info: ModelInfo) -> str | None:
    if has_files(request):
        return "files"
    if request.tools and tools_refused(info.tools_need_responses, effort_of(request)):
        return "tools"
    return None


def _model_label(info: ModelInfo, deployment: str) -> str:
    return (
        f"deployment '{deployment}' (model {info.name})"
        if info.name
        else f"deployment '{deployment}'"
    )


def api_for(settings: Settings, request: ChatRequest, info: ModelInfo, deployment: str) -> str:
    """``"chat"`` or ``"responses"`` for one call of a client configured with ``settings``;
    raises :class:`ResponsesRequiredError` before sending a call that cannot succeed where it
    would go (files with ``auto_responses=False``, or on a model without the Responses API)."""
    if settings.api == "responses":
        return "responses"
    reason = _reason(request, info)
    if reason is None:
        return "chat"
    label = _model_label(info, deployment)
    if reason == "files" and info.known and not info.responses_api:
        raise ResponsesRequiredError(
            f"{label} cannot read file parts on Azure: Chat Completions refuses them ('Invalid "
            f"Value: 'file''), and the {info.family} family has no Responses API",
            reason=reason,
            setting="deployment",
            fix="send the document's text (extract it first), or use a deployment of a model "
            "with the Responses API (gpt-4o, gpt-4.1, o-series, gpt-5)",
            deployment=deployment,
        )
    if not settings.auto_responses:
        if reason == "tools":
            return "chat"  # sent as configured; Azure's 400 becomes the typed error
        raise ResponsesRequiredError(
            f"{label}: Azure's Chat Completions takes no file parts ('Invalid Value: 'file'', on "
            "every api-version); its Responses API reads them (input_file), and auto_responses "
            "is off",
            reason=reason,
            setting="auto_responses",
            fix=f"{_TO_RESPONSES}; or send the document's text instead",
            deployment=deployment,
        )
    return "responses"


def note_routed(
    said: set[tuple[str, str]],
    deployment: str,
    request: ChatRequest,
    info: ModelInfo,
    notes: list[str],
) -> None:
    """A Chat Completions client's call goes to the Responses API: noted on the call, and
    logged once per deployment and reason (``said`` remembers which were)."""
    reason = _reason(request, info) or "tools"
    note = (
        "sent to the Responses API: Chat Completions refuses function tools with reasoning on "
        "this model"
        if reason == "tools"
        else "sent to the Responses API: Chat Completions takes no file parts"
    )
    notes.append(note)
    if (deployment, reason) not in said:
        said.add((deployment, reason))
        log.info("azoai: deployment %r: %s", deployment, note)


# --- learning from Azure's answers ----------------------------------------------------------------


def learn_reasoning(
    settings: Settings, learned: dict[str, ModelInfo], call: Call, err: UnsupportedParameterError
) -> bool:
    """An unknown model rejected a sampling parameter: its deployment is a reasoning model from
    now on (``learned`` is the client's deployment -> model info). ``False``: nothing learned."""
    if call.model.known or call.model.reasoning:
        return False
    if (err.param or "") not in (*REASONING_UNSUPPORTED, "max_tokens"):
        return False
    log.warning(
        "azoai: deployment %r rejected %r; treating it as a reasoning model from now on (%s)",
        call.deployment,
        err.param,
        learning_hint(call.model, call.deployment, settings),
    )
    learned[call.deployment] = replace(call.model, reasoning=True, parallel_tool_calls=False)
    return True


def recover(
    settings: Settings,
    learned: dict[str, ModelInfo],
    call: Call,
    request: ChatRequest,
    err: AzoaiError,
) -> bool:
    """After Azure refused ``call`` with ``err``: ``True`` when the refusal taught something
    and the call is to be prepared and sent once more (the tools 400: to the Responses API);
    raises the typed error naming the fix for the refusals azoai reads (the tools 400 with
    ``auto_responses`` off, an api-version minimum, a Responses API the endpoint does not
    serve); ``False`` for anything else (the caller re-raises ``err``)."""
    reported = tools_refusal(err)
    if reported is not None and call.api == "chat":
        learned[call.deployment] = learn_tools_rule(call.model, request, reported)
        if not settings.auto_responses:
            raise tools_error(err, call.model, call.deployment) from err
        log.warning(
            "azoai: deployment %r refuses function tools with reasoning on Chat Completions; "
            "such calls go to the Responses API from now on (%s)",
            call.deployment,
            learning_hint(call.model, call.deployment, settings, reported),
        )
        return True
    minimum = version_minimum(err, settings, call.model, call.deployment)
    if minimum is not None:
        error, learned[call.deployment] = minimum
        raise error from err
    if call.api == "responses" and settings.api == "chat":
        reason = _reason(request, call.model) or "tools"
        unreachable = responses_unreachable(err, settings, reason, call.deployment)
        if unreachable is not None:
            raise unreachable from err
    return False


# --- Azure's answers ------------------------------------------------------------------------------


def tools_refusal(err: AzoaiError) -> str | None:
    """The model name Azure's "Function tools with reasoning_effort are not supported for <model>
    in /v1/chat/completions" 400 names (``""`` if none), or ``None`` for any other error."""
    if not isinstance(err, BadRequestError) or isinstance(err, ResponsesRequiredError):
        return None
    m = _TOOLS_REFUSAL.search(err.message)
    return m.group("model").rstrip(".,") if m else None


def learn_tools_rule(info: ModelInfo, request: ChatRequest, reported: str) -> ModelInfo:
    """What a deployment is known as after Azure refused ``request``'s function tools: the model
    Azure named (when the catalogue knows it and the configured one is unknown), with the rule
    the refusal proves (the default effort refused too when the call set none)."""
    base = info
    named = lookup_model(reported) if reported else None
    if named is not None and named.known and not info.known:
        base = named
    proved = "effort" if effort_of(request) is not None else "unless_none"
    rule = "unless_none" if "unless_none" in (proved, base.tools_need_responses) else proved
    return replace(base, tools_need_responses=rule)


def tools_error(err: AzoaiError, info: ModelInfo, deployment: str) -> ResponsesRequiredError:
    """Azure's tools 400 as the typed error, when azoai may not send the call to Responses."""
    return ResponsesRequiredError(
        f"{_model_label(info, deployment)}: Azure's Chat Completions refuses function tools with "
        f"reasoning on this model, and auto_responses is off: {err.message}",
        reason="tools",
        setting="auto_responses",
        fix=f"{_TO_RESPONSES}; or set reasoning_effort='none' (no reasoning)",
        **_carried(err, deployment),
    )


def responses_unreachable(
    err: AzoaiError, settings: Settings, reason: str, deployment: str
) -> ResponsesRequiredError | None:
    """A 404 from the Responses call azoai chose for a Chat Completions client: the endpoint (an
    API gateway, say) does not serve the Responses API where azoai sent it. ``None`` for any
    other error."""
    if not isinstance(err, NotFoundError) or isinstance(err, DeploymentNotFoundError):
        return None
    why = (
        "function tools with reasoning on this model"
        if reason == "tools"
        else "file parts (Chat Completions takes none)"
    )
    alternative = (
        ", or set reasoning_effort='none' and auto_responses=False"
        if reason == "tools"
        else ", or send the document's text"
    )
    return ResponsesRequiredError(
        f"deployment '{deployment}': this call needs the Responses API ({why}), but the endpoint "
        f"did not serve it (404 on route {settings.route}, api-version "
        f"{settings.api_version.value}): {err.message}",
        reason=reason,
        setting="api_version" if settings.route == "deployments" else "endpoint",
        fix="use an api_version that has the Responses API (2025-03-01-preview or later, e.g. "
        "2025-04-01-preview) or route='v1', and make sure a gateway in front of Azure passes "
        f"/openai/responses or /openai/v1/responses on{alternative}",
        **_carried(err, deployment),
    )


def version_minimum(
    err: AzoaiError, settings: Settings, info: ModelInfo, deployment: str
) -> tuple[ApiVersionError, ModelInfo] | None:
    """Azure's "Model {modelName} is enabled only for api versions X and later" 400 as an
    :class:`ApiVersionError` naming X, and the deployment's model info with X as its first dated
    version (so the next call is refused before sending); ``None`` for any other error."""
    if not isinstance(err, BadRequestError):
        return None
    m = _VERSION_MINIMUM.search(err.message)
    if m is None:
        return None
    first = m.group("version")
    version = settings.api_version.value
    error = ApiVersionError(
        f"{_model_label(info, deployment)} is served from api_version {first} on (Azure: "
        f"{err.message!r}); api_version is {version!r}",
        feature=f"model {info.name or info.family}",
        api_version=version,
        fix=f"set api_version='{first}' or later, or route='v1' (no api-version needed)",
    )
    error.status_code = err.status_code
    error.request_id = err.request_id
    error.deployment = deployment
    error.headers = err.headers
    error.body = err.body
    return error, replace(info, first_dated_version=first)


def _carried(err: AzoaiError, deployment: str) -> dict[str, object]:
    return {
        "status_code": err.status_code,
        "code": err.code,
        "request_id": err.request_id,
        "deployment": deployment,
        "route": err.route,
        "headers": err.headers,
        "body": err.body,
    }


def learning_hint(info: ModelInfo, deployment: str, settings: Settings, reported: str = "") -> str:
    """The real fix a warning about a learned rule names: telling azoai the model behind the
    deployment helps only when it does not know it yet and the catalogue knows that model."""
    if info.known:
        return (
            f"azoai's catalogue has no such rule for the {info.family} family yet; it is kept "
            "for this deployment for the client's lifetime"
        )
    if info.name:
        named = lookup_model(reported) if reported else None
        if named is not None and named.known:
            return (
                f"Azure reports model {reported!r}; configured model {info.name!r} is not in "
                f"azoai's catalogue: set it to {named.family!r} so the family's rules apply from "
                "the first call"
            )
        return (
            f"model {info.name!r} is not in azoai's catalogue, so its rules are learned from "
            "Azure's answers, once per deployment (a newer azoai may know the family)"
        )
    real = (
        f"'{lookup_model(reported).family}'"
        if reported and lookup_model(reported).known
        else "<its real model>"
    )
    if deployment == settings.deployment:
        where = f"set model={real}"
    else:
        where = (
            f"list it as deployments=[{{'name': '{deployment}', 'model': {real}}}] "
            f"(or deployment_map={{{real}: '{deployment}'}})"
        )
    return (
        f"{where}, or enable discovery (discovery=True) so azoai reads the deployment's model "
        "from Azure, and the family's rules apply from the first call"
    )
