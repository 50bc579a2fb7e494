"""The management API's deployment listing (azure-openai-facts §3.3), and the data plane's
model lists.

``GET /subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.CognitiveServices/accounts/{a}/deployments?api-version=...``
needs a bearer token for ``https://management.azure.com``, pages through ``nextLink`` (an
absolute URL with ``$skipToken``) ``arm_page_size`` items at a time, and lists every deployment
whatever its provisioning state; a paused deployment shows ``deploymentState: "Paused"``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from azoai_emulator import azure_errors
from azoai_emulator.config import EmulatorDeployment
from azoai_emulator.identity import authenticate_arm
from azoai_emulator.models import COMPLETIONS, IMAGES
from azoai_emulator.protocol import Call, HttpResult
from azoai_emulator.state import EmulatorState

__all__ = [
    "LEGACY_LIST_VERSIONS",
    "arm_deployment",
    "check_account",
    "list_arm_deployments",
    "list_legacy_deployments",
    "list_models",
]

_ARM_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")
#: The data plane's ``GET /openai/deployments`` only works with these old versions (facts §3.1).
LEGACY_LIST_VERSIONS = (
    "2022-12-01",
    "2022-03-01-preview",
    "2022-06-01-preview",
    "2023-03-15-preview",
)
_CREATED = 1_700_000_000


def _capabilities(d: EmulatorDeployment) -> dict[str, str]:
    info = d.info
    if info.is_embedding:
        return {
            "embeddings": "true",
            "embeddingsMaxInputs": "2048",
            "maxContextToken": str(info.context_window),
        }
    if IMAGES in info.apis:  # an image model (gpt-image, dall-e) lists only this
        return {"imageGenerations": "true"}
    # Capability values are strings (facts §3.3); a completions-only model (instruct) lists
    # "completion" instead of "chatCompletion".
    caps = {
        ("chatCompletion" if info.is_chat else "completion"): "true",
        "maxContextToken": str(info.context_window),
        "maxOutputToken": str(info.max_output),
        "jsonObjectResponse": str(info.json_object).lower(),
    }
    if info.responses_api:
        caps["responses"] = "true"
    return caps


def arm_deployment(state: EmulatorState, d: EmulatorDeployment, paused: bool) -> dict[str, Any]:
    """One deployment as ARM describes it."""
    base = (
        f"/subscriptions/{state.subscription_id}/resourceGroups/{state.resource_group}"
        f"/providers/Microsoft.CognitiveServices/accounts/{state.account}"
    )
    capacity = max(1, d.tpm // 1000)
    return {
        "id": f"{base}/deployments/{d.name}",
        "name": d.name,
        "type": "Microsoft.CognitiveServices/accounts/deployments",
        "sku": {"name": d.sku, "capacity": capacity},
        "properties": {
            "model": {"format": "OpenAI", "name": d.model, "version": d.model_version},
            "versionUpgradeOption": "OnceNewDefaultVersionAvailable",
            "currentCapacity": capacity,
            "capabilities": _capabilities(d),
            "provisioningState": d.state,
            "deploymentState": "Paused" if paused else "Running",
            "raiPolicyName": "Microsoft.DefaultV2",
            "rateLimits": [
                {"key": "request", "renewalPeriod": 60, "count": d.requests_per_minute},
                {"key": "token", "renewalPeriod": 60, "count": d.tpm},
            ],
        },
    }


def check_account(
    call: Call, state: EmulatorState, *, subscription: str, group: str, account: str
) -> str:
    """ARM's checks of the api-version and the account path (after authentication); the
    api-version."""
    version = call.query.get("api-version")
    if not version:
        raise azure_errors.azure_error(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
    if not _ARM_VERSION.match(version):
        raise azure_errors.azure_error(
            400,
            "InvalidApiVersionParameter",
            f"The api-version '{version}' is invalid. The supported versions are '2024-10-01, 2025-06-01'.",
        )
    if subscription.lower() != state.subscription_id.lower():
        raise azure_errors.azure_error(
            404, "SubscriptionNotFound", f"The subscription '{subscription}' could not be found."
        )
    if group.lower() != state.resource_group.lower():
        raise azure_errors.azure_error(
            404, "ResourceGroupNotFound", f"Resource group '{group}' could not be found."
        )
    if account.lower() != state.account.lower():
        raise azure_errors.azure_error(
            404,
            "ResourceNotFound",
            f"The Resource 'Microsoft.CognitiveServices/accounts/{account}' under resource group '{group}' was not "
            "found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
        )
    return version


def list_arm_deployments(
    call: Call, state: EmulatorState, *, subscription: str, group: str, account: str
) -> HttpResult:
    authenticate_arm(call, state.issuer)
    version = check_account(call, state, subscription=subscription, group=group, account=account)
    raw_skip = call.query.get("$skipToken", "0")
    if not raw_skip.isdigit():
        raise azure_errors.azure_error(
            400, "InvalidSkipToken", f"The skip token '{raw_skip}' is not valid."
        )
    skip = int(raw_skip)
    deployments = state.all_deployments()
    page = deployments[skip : skip + state.arm_page_size]
    body: dict[str, Any] = {
        "value": [arm_deployment(state, d, state.is_paused(d.name)) for d in page]
    }
    if skip + state.arm_page_size < len(deployments):
        body["nextLink"] = (
            f"{call.base_url}{call.path}?api-version={quote(version)}&$skipToken={skip + state.arm_page_size}"
        )
    return HttpResult(200, body)


def list_models(state: EmulatorState) -> dict[str, Any]:
    """``GET /openai/v1/models`` (and the dated ``/openai/models``): the models behind the
    deployments, as Azure lists base models (not deployments)."""
    seen: dict[str, EmulatorDeployment] = {}
    for d in state.all_deployments():
        seen.setdefault(d.model, d)
    data = []
    for model, d in seen.items():
        info = d.info
        data.append(
            {
                "id": model,
                "object": "model",
                "created_at": _CREATED,
                "status": "succeeded",
                "lifecycle_status": "generally-available",
                "capabilities": {
                    "fine_tune": False,
                    "inference": True,
                    "completion": COMPLETIONS in info.apis,
                    "chat_completion": info.is_chat,
                    "embeddings": info.is_embedding,
                },
            }
        )
    return {"object": "list", "data": data}


def list_legacy_deployments(state: EmulatorState) -> dict[str, Any]:
    """The data plane's legacy ``GET /openai/deployments`` (2022-12-01 shape)."""
    data = [
        {
            "scale_settings": {"scale_type": "standard"},
            "model": d.model,
            "owner": "organization-owner",
            "id": d.name,
            "status": "succeeded" if d.serving else d.state.lower(),
            "created_at": _CREATED,
            "updated_at": _CREATED,
            "object": "deployment",
        }
        for d in state.all_deployments()
    ]
    return {"data": data, "object": "list"}
