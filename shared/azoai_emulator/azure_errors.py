"""Azure OpenAI's error bodies, exactly as the service sends them (azure-openai-facts §4).

Two shapes exist on the wire: Azure's own ``{"error": {"code": ..., "message": ...}}`` (401, 404,
429, content filter, service errors) and the OpenAI-style ``{"error": {"message", "type",
"param", "code"}}`` that parameter validation passes through (400s).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from azoai_emulator.protocol import ApiError

__all__ = [
    "api_version_not_supported",
    "azure_error",
    "deployment_not_found",
    "deployment_paused",
    "entra_refused_for_v1_embeddings",
    "image_output_filtered",
    "image_prompt_filtered",
    "invalid_request",
    "key_denied",
    "missing_parameter",
    "model_needs_newer_version",
    "operation_not_supported",
    "prompt_filtered",
    "rate_limited",
    "resource_not_found",
    "service_error",
    "token_denied",
    "unrecognized_arguments",
    "unsupported_parameter",
    "unsupported_value",
]

KEY_DENIED_MESSAGE = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a "
    "valid key for an active subscription and use a correct regional API endpoint for your resource."
)
TOKEN_DENIED_MESSAGE = (
    "Unauthorized. Access token is missing, invalid, audience is incorrect "
    "(https://cognitiveservices.azure.com), or have expired."
)
DEPLOYMENT_NOT_FOUND_MESSAGE = (
    "The API deployment for this resource does not exist. If you created the deployment within "
    "the last 5 minutes, please wait a moment and try again."
)
CONTENT_FILTER_MESSAGE = (
    "The response was filtered due to the prompt triggering Azure OpenAI's content management "
    "policy. Please modify your prompt and retry. To learn more about our content filtering "
    "policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766"
)
_SERVICE_ERRORS: dict[int, tuple[str, str]] = {
    500: (
        "InternalServerError",
        "The server had an error while processing your request. Sorry about that!",
    ),
    502: ("BadGateway", "Bad gateway."),
    503: (
        "ServiceUnavailable",
        "The service is temporarily unable to process your request. Please try again later.",
    ),
    504: ("Timeout", "The operation was timeout."),
    408: ("Timeout", "The operation was timeout."),
}


def azure_error(
    status: int,
    code: str,
    message: str,
    *,
    type_: str | None = None,
    headers: dict[str, str] | None = None,
) -> ApiError:
    error: dict[str, Any] = {"code": code, "message": message}
    if type_ is not None:
        error = {"type": type_, **error}
    return ApiError(status, {"error": error}, headers)


def invalid_request(
    message: str, *, param: str | None = None, code: str | None = None, status: int = 400
) -> ApiError:
    """The OpenAI-style validation error Azure passes through."""
    return ApiError(
        status,
        {
            "error": {
                "message": message,
                "type": "invalid_request_error",
                "param": param,
                "code": code,
            }
        },
    )


def resource_not_found() -> ApiError:
    """Unknown path, missing api-version, or an operation the api-version lacks (facts §4.6)."""
    return azure_error(404, "404", "Resource not found")


def api_version_not_supported() -> ApiError:
    """A well-formed but unknown api-version, as Azure answers it."""
    return azure_error(400, "BadRequest", "API version not supported")


def key_denied() -> ApiError:
    """401 for a missing or wrong key (facts §4.3)."""
    return azure_error(401, "401", KEY_DENIED_MESSAGE)


def token_denied() -> ApiError:
    """401 for a bearer token that is invalid, for another audience, or expired. Azure's gateway
    answers this one in its own shape (``statusCode``/``message``), not under ``error``."""
    return ApiError(401, {"statusCode": 401, "message": TOKEN_DENIED_MESSAGE})


def entra_refused_for_v1_embeddings() -> ApiError:
    """401 for an Entra ID token on ``/openai/v1/embeddings``. Azure documents the limit ("The
    Azure OpenAI embeddings API doesn't currently support Microsoft Entra ID with the v1 API. Use
    API key authentication.", facts §2.4) but not the response; this one is modelled on its other
    401s: ``PermissionDenied`` with that sentence."""
    return azure_error(
        401,
        "PermissionDenied",
        "The Azure OpenAI embeddings API doesn't currently support Microsoft Entra ID with the "
        "v1 API. Use API key authentication.",
    )


def deployment_not_found(*, v1: bool) -> ApiError:
    """404 ``DeploymentNotFound``; the v1 route adds ``type`` (facts §4.6)."""
    return azure_error(
        404,
        "DeploymentNotFound",
        DEPLOYMENT_NOT_FOUND_MESSAGE,
        type_="invalid_request_error" if v1 else None,
    )


def deployment_paused(name: str) -> ApiError:
    """423: inference on a paused deployment (facts §3.3)."""
    return azure_error(
        423,
        "DeploymentPaused",
        f"The deployment '{name}' is paused. Resume the deployment to send inference requests.",
    )


def operation_not_supported(operation: str, model: str) -> ApiError:
    """400 for, e.g., embeddings on a chat deployment."""
    return azure_error(
        400,
        "OperationNotSupported",
        f"The {operation} operation does not work with the specified model, {model}. Please choose "
        "different model and try again. You can learn more about which models can be used with "
        "each operation here: https://go.microsoft.com/fwlink/?linkid=2197993.",
    )


def model_needs_newer_version(first_version: str) -> ApiError:
    """Azure's answer to a reasoning model on an older api-version. The unformatted placeholder
    is what the service sends: users quote "Model {modelName} is enabled only for api versions
    2024-12-01-preview and later" word for word for o1, o1-mini, o1-preview and o3-mini
    (Azure/github-models#10, microsoft/semantic-kernel#12268), so the emulator keeps it; azoai
    refuses such a call before sending, naming the model and the version."""
    return azure_error(
        400,
        "BadRequest",
        f"Model {{modelName}} is enabled only for api versions {first_version} and later",
    )


def unrecognized_arguments(names: Iterable[str]) -> ApiError:
    """What older api-versions say about newer arguments (facts §4.10)."""
    names = sorted(names)
    if len(names) == 1:
        return invalid_request(f"Unrecognized request argument supplied: {names[0]}")
    return invalid_request(f"Unrecognized request arguments supplied: {', '.join(names)}")


def unsupported_parameter(name: str, hint: str = "") -> ApiError:
    """Reasoning models reject sampling parameters by their presence (facts §4.10)."""
    return invalid_request(
        f"Unsupported parameter: '{name}' is not supported with this model.{hint}",
        param=name,
        code="unsupported_parameter",
    )


def unsupported_value(param: str, message: str) -> ApiError:
    return invalid_request(f"Unsupported value: {message}", param=param, code="unsupported_value")


def missing_parameter(name: str) -> ApiError:
    return invalid_request(
        f"Missing required parameter: '{name}'.", param=name, code="missing_required_parameter"
    )


def rate_limited(
    *,
    operation: str,
    api_version: str,
    wait_ms: int,
    kind: str,
    remaining_requests: int,
    remaining_tokens: int,
) -> ApiError:
    """429 with Azure's body and retry headers (facts §4.8). ``kind`` is ``token`` or ``call``."""
    whole = max(1, math.ceil(wait_ms / 1000))
    message = (
        f"Requests to the {operation} Operation under Azure OpenAI API version {api_version} have "
        f"exceeded {kind} rate limit of your current OpenAI S0 pricing tier. Please retry after "
        f"{whole} second{'s' if whole != 1 else ''}. Please go here: https://aka.ms/oai/quotaincrease "
        "if you would like to further increase the default rate limit."
    )
    headers = {
        "retry-after-ms": str(wait_ms),
        "retry-after": str(whole),
        "x-ratelimit-remaining-requests": str(remaining_requests),
        "x-ratelimit-remaining-tokens": str(remaining_tokens),
    }
    return azure_error(429, "429", message, headers=headers)


def prompt_filtered(results: Mapping[str, Any]) -> ApiError:
    """400 ``content_filter`` with ``innererror.content_filter_result`` (facts §4.9)."""
    return ApiError(
        400,
        {
            "error": {
                "message": CONTENT_FILTER_MESSAGE,
                "type": None,
                "param": "prompt",
                "code": "content_filter",
                "status": 400,
                "innererror": {
                    "code": "ResponsibleAIPolicyViolation",
                    "content_filter_result": dict(results),
                },
            }
        },
    )


def service_error(
    status: int, message: str | None = None, *, retry_after_ms: int | None = None
) -> ApiError:
    """A 5xx (or any other status) in Azure's shape."""
    code, default = _SERVICE_ERRORS.get(status, (str(status), _phrase(status)))
    headers = {}
    if retry_after_ms is not None:
        headers = {
            "retry-after-ms": str(retry_after_ms),
            "retry-after": str(max(1, math.ceil(retry_after_ms / 1000))),
        }
    return azure_error(status, code, message or default, headers=headers)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


#: The Images API's refusal of a prompt (litellm#16072 quotes Azure's dall-e-3 answer word for
#: word; the spec's dalleErrorResponse: ``inner_error`` with ``content_filter_results`` and
#: ``revised_prompt``).
IMAGE_PROMPT_FILTERED_MESSAGE = (
    "Your request was rejected as a result of our safety system. Your prompt may contain text "
    "that is not allowed by our safety system."
)


def image_prompt_filtered(
    results: Mapping[str, Any], revised_prompt: str | None = None
) -> ApiError:
    """400 ``content_policy_violation``: the Images API's prompt filter."""
    inner: dict[str, Any] = {
        "code": "ResponsibleAIPolicyViolation",
        "content_filter_results": dict(results),
    }
    if revised_prompt is not None:
        inner["revised_prompt"] = revised_prompt
    return ApiError(
        400,
        {
            "error": {
                "code": "content_policy_violation",
                "inner_error": inner,
                "message": IMAGE_PROMPT_FILTERED_MESSAGE,
                "type": "invalid_request_error",
            }
        },
    )


def image_output_filtered() -> ApiError:
    """A generated image the output filter withheld (how-to dall-e: ``"code": "contentFilter"``,
    "Generated image was filtered as a result of our safety system.")."""
    return ApiError(
        400,
        {
            "error": {
                "code": "contentFilter",
                "message": "Generated image was filtered as a result of our safety system.",
            }
        },
    )
