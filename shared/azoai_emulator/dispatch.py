"""Which handler serves which URL, and the conversion of every outcome to a result.

=========================================================================  ===================
path                                                                       handler
=========================================================================  ===================
``POST /openai/deployments/{d}/chat/completions?api-version=``              Chat Completions
``POST /openai/deployments/{d}/embeddings?api-version=``                    Embeddings
``POST /openai/deployments/{d}/completions?api-version=``                   legacy Completions
``GET  /openai/deployments?api-version=`` (2022-12-01 .. 2023-03-15-preview) legacy listing
``POST /openai/responses?api-version=`` (>= 2025-03-01-preview)             Responses
``GET  /openai/models?api-version=``                                        models
``POST /openai/v1/{chat/completions|embeddings|responses}``                 the v1 route
``GET  /openai/v1/models``                                                  models
``POST /openai/[deployments/{d}/|v1/]audio/{speech|transcriptions|translations}``  audio
``/openai/[v1/]fine_tuning/jobs[/{id}[/events|checkpoints|cancel|pause|resume]]``  fine-tuning
``PUT|GET|DELETE /subscriptions/.../accounts/{a}/deployments/{d}``            ARM, one deployment
``POST /openai/[deployments/{d}/|v1/]images/{generations|edits}``            images
``GET|DELETE /openai/[v1/]responses/{id}``, ``GET .../{id}/input_items``    stored responses
``/openai/[v1/]files[/{id}[/content]]``, ``/openai/[v1/]batches[/{id}[/cancel]]``  files, batches
``/api/projects/{p}/openai/v1/...`` (every ``/openai/v1`` path above)        a Foundry project
``GET  /msi/token``, ``GET /metadata/identity/oauth2/token``                token endpoints
``GET  /subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.CognitiveServices/accounts/{a}/deployments``  ARM
=========================================================================  ===================

Anything else answers Azure's 404 ``Resource not found``.

A Foundry project endpoint (``https://<account>.services.ai.azure.com/api/projects/<p>``) serves
the v1 API below its path, for the account's deployments: ``AIProjectClient.get_openai_client()``
uses ``{project endpoint}/openai/v1``. Its gateway takes Entra tokens for ``https://ai.azure.com``
only and says so in its 401 ("audience is incorrect (https://ai.azure.com)",
microsoft/agent-framework#7201, Azure/azure-sdk-for-net#55036); API keys work as on v1. Any
project name is served unless the emulator was given ``projects``; an unknown project answers
the generic 404 (Azure's exact body for it is not documented).
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Awaitable, Callable

from azoai_emulator import azure_errors
from azoai_emulator.api_audio import audio_routes
from azoai_emulator.api_batches import batch_routes
from azoai_emulator.api_chat import handle_chat
from azoai_emulator.api_completions import handle_completions
from azoai_emulator.api_embeddings import handle_embeddings
from azoai_emulator.api_fine_tuning import arm_deployment_routes, fine_tuning_routes
from azoai_emulator.api_images import image_routes
from azoai_emulator.api_responses import handle_response_item, handle_responses
from azoai_emulator.arm import (
    LEGACY_LIST_VERSIONS,
    list_arm_deployments,
    list_legacy_deployments,
    list_models,
)
from azoai_emulator.identity import app_service_token, authenticate_data_plane, imds_token
from azoai_emulator.pipeline import (
    DropConnection,
    check_dated_version,
    check_v1_version,
    request_id_headers,
)
from azoai_emulator.protocol import ApiError, Call, HttpResult, StreamResult
from azoai_emulator.state import EmulatorState, StopServing

__all__ = ["handle"]

log = logging.getLogger("azoai_emulator")

Result = HttpResult | StreamResult
Handler = Callable[[Call, EmulatorState, re.Match[str]], Awaitable[Result]]

_SEGMENT = r"([^/]+)"


async def _dated_chat(call: Call, state: EmulatorState, m: re.Match[str]) -> Result:
    return await handle_chat(call, state, route="deployments", deployment=m.group(1))


async def _dated_embeddings(call: Call, state: EmulatorState, m: re.Match[str]) -> Result:
    return await handle_embeddings(call, state, route="deployments", deployment=m.group(1))


async def _dated_completions(call: Call, state: EmulatorState, m: re.Match[str]) -> Result:
    return await handle_completions(call, state, deployment=m.group(1))


async def _dated_responses(call: Call, state: EmulatorState, m: re.Match[str]) -> Result:
    return await handle_responses(call, state, route="deployments")


async def _v1_chat(call: Call, state: EmulatorState, m: re.Match[str]) -> Result:
    return await handle_chat(call, state, route="v1", deployment=None)


async def _v1_embeddings(call: Call, state: EmulatorState, m: re.Match[str]) -> Result:
    return await handle_embeddings(call, state, route="v1", deployment=None)


async def _v1_responses(call: Call, state: EmulatorState, m: re.Match[str]) -> Result:
    return await handle_responses(call, state, route="v1")


def _response_item(route: str, *, input_items: bool = False) -> Handler:
    async def handler(call: Call, state: EmulatorState, m: re.Match[str]) -> Result:
        return await handle_response_item(
            call, state, route=route, response_id=m.group(1), input_items=input_items
        )

    return handler


async def _v1_models(call: Call, state: EmulatorState, m: re.Match[str]) -> Result:
    check_v1_version(call)
    authenticate_data_plane(call, api_key=state.api_key, issuer=state.issuer, v1=True)
    return HttpResult(200, list_models(state))


async def _dated_models(call: Call, state: EmulatorState, m: re.Match[str]) -> Result:
    check_dated_version(call)
    authenticate_data_plane(call, api_key=state.api_key, issuer=state.issuer, v1=False)
    return HttpResult(200, list_models(state))


async def _legacy_deployments(call: Call, state: EmulatorState, m: re.Match[str]) -> Result:
    check_dated_version(call)
    if call.query.get("api-version") not in LEGACY_LIST_VERSIONS:
        raise azure_errors.resource_not_found()
    authenticate_data_plane(call, api_key=state.api_key, issuer=state.issuer, v1=False)
    return HttpResult(200, list_legacy_deployments(state))


async def _app_service(call: Call, state: EmulatorState, m: re.Match[str]) -> Result:
    return app_service_token(call, issuer=state.issuer, identity_header=state.identity_header)


async def _imds(call: Call, state: EmulatorState, m: re.Match[str]) -> Result:
    return imds_token(call, issuer=state.issuer)


async def _arm(call: Call, state: EmulatorState, m: re.Match[str]) -> Result:
    return list_arm_deployments(
        call, state, subscription=m.group(1), group=m.group(2), account=m.group(3)
    )


ROUTES: list[tuple[frozenset[str], re.Pattern[str], Handler]] = [
    (
        frozenset({"POST"}),
        re.compile(rf"/openai/deployments/{_SEGMENT}/chat/completions"),
        _dated_chat,
    ),
    (
        frozenset({"POST"}),
        re.compile(rf"/openai/deployments/{_SEGMENT}/embeddings"),
        _dated_embeddings,
    ),
    (
        frozenset({"POST"}),
        re.compile(rf"/openai/deployments/{_SEGMENT}/completions"),
        _dated_completions,
    ),
    (frozenset({"GET"}), re.compile(r"/openai/deployments/?"), _legacy_deployments),
    (frozenset({"POST"}), re.compile(r"/openai/responses"), _dated_responses),
    (
        frozenset({"GET", "DELETE"}),
        re.compile(rf"/openai/responses/{_SEGMENT}"),
        _response_item("deployments"),
    ),
    (
        frozenset({"GET"}),
        re.compile(rf"/openai/responses/{_SEGMENT}/input_items"),
        _response_item("deployments", input_items=True),
    ),
    (frozenset({"GET"}), re.compile(r"/openai/models"), _dated_models),
    (frozenset({"POST"}), re.compile(r"/openai/v1/chat/completions"), _v1_chat),
    (frozenset({"POST"}), re.compile(r"/openai/v1/embeddings"), _v1_embeddings),
    (frozenset({"POST"}), re.compile(r"/openai/v1/responses"), _v1_responses),
    (
        frozenset({"GET", "DELETE"}),
        re.compile(rf"/openai/v1/responses/{_SEGMENT}"),
        _response_item("v1"),
    ),
    (
        frozenset({"GET"}),
        re.compile(rf"/openai/v1/responses/{_SEGMENT}/input_items"),
        _response_item("v1", input_items=True),
    ),
    (frozenset({"GET"}), re.compile(r"/openai/v1/models"), _v1_models),
    *audio_routes(),
    *fine_tuning_routes(),
    *arm_deployment_routes(),
    *image_routes(),
    *batch_routes(),
    (frozenset({"GET"}), re.compile(r"/msi/token"), _app_service),
    (frozenset({"GET"}), re.compile(r"/metadata/identity/oauth2/token"), _imds),
    (
        frozenset({"GET"}),
        re.compile(
            rf"/subscriptions/{_SEGMENT}/resourceGroups/{_SEGMENT}/providers/Microsoft\.CognitiveServices/accounts/{_SEGMENT}/deployments",
            re.I,
        ),
        _arm,
    ),
]


#: ``/api/projects/{p}`` followed by a v1 path.
_PROJECT_PATH = re.compile(rf"/api/projects/{_SEGMENT}(/openai/v1/.+)")
#: The one audience a project endpoint accepts.
PROJECT_AUDIENCE = "https://ai.azure.com"
PROJECT_TOKEN_DENIED = (
    "Unauthorized. Access token is missing, invalid, audience is incorrect "
    f"({PROJECT_AUDIENCE}), or have expired."
)


def _enter_project(call: Call, state: EmulatorState, project: str) -> None:
    """A project's own checks before the v1 handler runs (which authenticates as on v1): a
    bearer that is not the API key must be a valid token for ``https://ai.azure.com``, and the
    project must exist."""
    scheme, _, token = call.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if (
        "api-key" not in call.headers
        and scheme.lower() == "bearer"
        and token
        and not hmac.compare_digest(token.encode(), state.api_key.encode())
    ):
        claims, verdict = state.issuer.check(token)
        if verdict != "ok" or claims is None or claims.get("aud") != PROJECT_AUDIENCE:
            raise ApiError(401, {"statusCode": 401, "message": PROJECT_TOKEN_DENIED})
    if state.projects is not None and project not in state.projects:
        raise azure_errors.resource_not_found()


async def handle(call: Call, state: EmulatorState) -> Result:
    """Serve ``call``; never raises (errors become Azure's error responses)."""
    result: Result
    try:
        result = await _route(call, state)
    except ApiError as exc:
        result = exc.result()
    except (DropConnection, StopServing):
        result = HttpResult(0, None, drop=True)
    except Exception as exc:  # an emulator bug: answer 500 and say what broke
        log.exception("azoai emulator: error handling %s %s", call.method, call.path)
        result = azure_errors.service_error(
            500, f"Emulator error: {type(exc).__name__}: {exc}"
        ).result()
    result.headers = {**request_id_headers(call, state.region), **result.headers}
    return result


async def _route(call: Call, state: EmulatorState) -> Result:
    path = call.path
    in_project = _PROJECT_PATH.fullmatch(path)
    if in_project is not None:
        _enter_project(call, state, in_project.group(1))
        path = in_project.group(2)
    for methods, pattern, handler in ROUTES:
        if in_project is not None and not pattern.pattern.startswith("/openai/v1/"):
            continue
        m = pattern.fullmatch(path)
        if m is not None:
            if call.method not in methods:
                raise azure_errors.resource_not_found()
            return await handler(call, state, m)
    raise azure_errors.resource_not_found()
