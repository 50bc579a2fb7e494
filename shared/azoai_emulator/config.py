"""What an emulator serves: its deployments and resource-level settings, in code or from TOML.

A deployment is a name (what clients put in the URL or in ``model``) bound to a real model name
(what decides the behaviour: reasoning rules, embeddings, context window; see the emulator's own
table, :func:`azoai_emulator.models.model_spec`), with its capacity (TPM/RPM) and optional latency.

TOML shape (``python -m azoai_emulator --config deployments.toml``)::

    api_key = "emulator-key"        # optional
    token_lifetime = 3600           # optional, seconds
    region = "East US"              # optional
    arm_page_size = 100             # optional
    ws_max_age = 3600               # optional, seconds a Responses WebSocket lives
    request_latency = 0.05          # optional, seconds per HTTP request / WebSocket handshake
    batch_lines_per_second = 50     # optional, batch lines run per second (default: no limit)
    batch_stage_seconds = 1         # optional, seconds a batch spends validating/finalizing
    fine_tuning_stage_seconds = 1   # optional, seconds a fine-tuning job spends in each stage

    [[deployments]]
    name = "chat"
    model = "gpt-4o"                # any model name: gpt-5.4, model-router, gpt-oss-120b, ...
    tpm = 100000                    # optional; rpm defaults to 6 per 1000 TPM, as on Azure
    latency = 0.05                  # optional, seconds before the response
    token_latency = 0.01            # optional, seconds per streamed chunk

    [[deployments]]
    name = "chat-batch"
    model = "gpt-4o"
    sku = "GlobalBatch"             # a Global Batch deployment: takes batches (api_batches)
    enqueued_tokens = 5000000       # optional, its enqueued-token quota
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from azoai_emulator.models import ModelSpec, model_spec

__all__ = [
    "DEFAULT_ACCOUNT",
    "DEFAULT_API_KEY",
    "DEFAULT_DEPLOYMENTS",
    "DEFAULT_IDENTITY_HEADER",
    "DEFAULT_REGION",
    "DEFAULT_RESOURCE_GROUP",
    "DEFAULT_SUBSCRIPTION_ID",
    "EmulatorConfig",
    "EmulatorDeployment",
    "load_config",
]

#: The API key an emulator accepts unless told otherwise. Not a secret: it only opens the emulator.
DEFAULT_API_KEY = "azoai-emulator-key"
#: The value the App Service token endpoint expects in ``X-IDENTITY-HEADER``.
DEFAULT_IDENTITY_HEADER = "azoai-emulator-identity-header"
DEFAULT_REGION = "East US"
DEFAULT_SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000000"
DEFAULT_RESOURCE_GROUP = "azoai-emulator-rg"
DEFAULT_ACCOUNT = "azoai-emulator"

#: Provisioning states ARM reports (facts §3.3); only ``Succeeded`` deployments serve requests.
PROVISIONING_STATES = (
    "Accepted",
    "Creating",
    "Deleting",
    "Moving",
    "Failed",
    "Succeeded",
    "Disabled",
    "Canceled",
    "Updating",
)

# Versions Azure reports for the models people deploy most; anything else reports "1".
_MODEL_VERSIONS = {
    "gpt-4o": "2024-11-20",
    "gpt-4o-mini": "2024-07-18",
    "gpt-4.1": "2025-04-14",
    "gpt-4.1-mini": "2025-04-14",
    "gpt-4.1-nano": "2025-04-14",
    "o1": "2024-12-17",
    "o3": "2025-04-16",
    "o3-mini": "2025-01-31",
    "o4-mini": "2025-04-16",
    "gpt-5": "2025-08-07",
    "gpt-5-mini": "2025-08-07",
    "gpt-5-nano": "2025-08-07",
    # models @00bb554: the dated versions of the GPT-5.x rows.
    "gpt-5.1": "2025-11-13",
    "gpt-5.2": "2025-12-11",
    "gpt-5.2-chat": "2026-02-10",
    "gpt-5.3-chat": "2026-03-03",
    "gpt-5.3-codex": "2026-02-24",
    "gpt-5.4": "2026-03-05",
    "gpt-5.4-pro": "2026-03-05",
    "gpt-5.4-mini": "2026-03-17",
    "gpt-5.4-nano": "2026-03-17",
    "gpt-5.5": "2026-04-24",
    # Azure model-router concepts page: the router's own version (its underlying set).
    "model-router": "2025-11-18",
    "gpt-35-turbo": "0125",
    "text-embedding-ada-002": "2",
}


@dataclass(frozen=True, slots=True)
class EmulatorDeployment:
    """One deployment the emulator serves.

    ``tpm``/``rpm`` size the per-deployment token buckets (``rpm`` defaults to 6 requests per
    1,000 TPM, Azure's ratio). ``latency`` is added before every response and ``token_latency``
    between streamed chunks (and, per completion token, to non-streamed responses).
    ``state`` is the ARM provisioning state; anything but ``Succeeded`` answers
    ``DeploymentNotFound`` on the data plane but is still listed by ARM. ``blocklist`` words make
    the prompt filter fire with a custom blocklist verdict, like an Azure RAI blocklist.
    """

    name: str
    model: str
    version: str | None = None
    tpm: int = 1_000_000
    rpm: int | None = None
    latency: float = 0.0
    token_latency: float = 0.0
    state: str = "Succeeded"
    sku: str = "GlobalStandard"
    blocklist: tuple[str, ...] = ()
    #: Embeddings: tokens one request may carry (None: Azure's 300,000, see api_embeddings).
    max_tokens_per_request: int | None = None
    #: A batch deployment's (sku GlobalBatch/DataZoneBatch) enqueued-token quota: the input
    #: tokens of its batches not yet finished (None: no limit). See api_batches.
    enqueued_tokens: int | None = None

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name:
            raise ValueError(f"deployment name {self.name!r} must be non-empty and contain no '/'")
        if not self.model:
            raise ValueError(f"deployment {self.name!r} needs a model")
        if self.tpm <= 0 or (self.rpm is not None and self.rpm <= 0):
            raise ValueError(f"deployment {self.name!r}: tpm and rpm must be positive")
        if self.max_tokens_per_request is not None and self.max_tokens_per_request < 1:
            raise ValueError(f"deployment {self.name!r}: max_tokens_per_request must be >= 1")
        if self.enqueued_tokens is not None and self.enqueued_tokens < 1:
            raise ValueError(f"deployment {self.name!r}: enqueued_tokens must be >= 1")
        if self.latency < 0 or self.token_latency < 0:
            raise ValueError(f"deployment {self.name!r}: latencies must be >= 0")
        if self.state not in PROVISIONING_STATES:
            raise ValueError(
                f"deployment {self.name!r}: state {self.state!r} is not one of {', '.join(PROVISIONING_STATES)}"
            )
        object.__setattr__(self, "blocklist", tuple(self.blocklist))

    @property
    def info(self) -> ModelSpec:
        return model_spec(self.model)

    @property
    def requests_per_minute(self) -> int:
        return self.rpm if self.rpm is not None else max(1, self.tpm * 6 // 1000)

    @property
    def model_version(self) -> str:
        return self.version or _MODEL_VERSIONS.get(self.model, "1")

    @property
    def response_model(self) -> str:
        """The ``model`` field Azure puts in responses: the model name with its dated version; a
        router names the underlying model that answered."""
        routed = self.info.answers_as
        if routed is not None:
            return routed
        version = self.model_version
        return f"{self.model}-{version}" if len(version) == 10 and version[4] == "-" else self.model

    @property
    def serving(self) -> bool:
        return self.state == "Succeeded"


#: The fixture's and CLI's deployments when none are given.
DEFAULT_DEPLOYMENTS: tuple[EmulatorDeployment, ...] = (
    EmulatorDeployment("chat", model="gpt-4o"),
    EmulatorDeployment("chat-mini", model="gpt-4o-mini"),
    EmulatorDeployment("reasoner", model="o3-mini"),
    EmulatorDeployment("gpt-5-mini", model="gpt-5-mini"),
    EmulatorDeployment("embed", model="text-embedding-3-small"),
    EmulatorDeployment("embed-ada", model="text-embedding-ada-002"),
)


@dataclass(frozen=True, slots=True)
class EmulatorConfig:
    """Everything an :class:`~azoai_emulator.Emulator` can be built from (see :func:`load_config`)."""

    deployments: tuple[EmulatorDeployment, ...] = DEFAULT_DEPLOYMENTS
    api_key: str = DEFAULT_API_KEY
    token_lifetime: float = 3600.0
    region: str = DEFAULT_REGION
    arm_page_size: int = 100
    identity_header: str = DEFAULT_IDENTITY_HEADER
    subscription_id: str = DEFAULT_SUBSCRIPTION_ID
    resource_group: str = DEFAULT_RESOURCE_GROUP
    account: str = DEFAULT_ACCOUNT
    ws_max_age: float = 3600.0
    request_latency: float = 0.0
    #: Batches (api_batches): lines run per second (None: as fast as reads allow), seconds in
    #: validating/finalizing/cancelling, Azure's per-file limits.
    batch_lines_per_second: float | None = None
    batch_stage_seconds: float = 0.0
    batch_max_requests_per_file: int = 100_000
    batch_max_file_bytes: int = 200_000_000
    #: Fine-tuning (api_fine_tuning): seconds per job stage, and before a new deployment serves.
    fine_tuning_stage_seconds: float = 1.0
    fine_tuning_deploy_seconds: float = 0.5

    def emulator_kwargs(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


_DEPLOYMENT_KEYS = {f.name for f in fields(EmulatorDeployment)}
_TOP_KEYS = {f.name for f in fields(EmulatorConfig)}


def _deployment(raw: Any, index: int) -> EmulatorDeployment:
    if not isinstance(raw, Mapping):
        raise ValueError(f"deployments[{index}] must be a table")
    unknown = sorted(set(raw) - _DEPLOYMENT_KEYS)
    if unknown:
        raise ValueError(
            f"deployments[{index}]: unknown key(s) {', '.join(unknown)}; use {', '.join(sorted(_DEPLOYMENT_KEYS))}"
        )
    if "name" not in raw or "model" not in raw:
        raise ValueError(f"deployments[{index}] needs name and model")
    values = dict(raw)
    if "blocklist" in values:
        values["blocklist"] = tuple(values["blocklist"])
    try:
        return EmulatorDeployment(**values)
    except TypeError as exc:
        raise ValueError(f"deployments[{index}]: {exc}") from exc


def config_from_mapping(data: Mapping[str, Any]) -> EmulatorConfig:
    """Build an :class:`EmulatorConfig` from parsed TOML (or any mapping of the same shape)."""
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise ValueError(
            f"unknown setting(s) {', '.join(unknown)}; use {', '.join(sorted(_TOP_KEYS))}"
        )
    values: dict[str, Any] = {k: v for k, v in data.items() if k != "deployments"}
    raw_deployments = data.get("deployments")
    if raw_deployments is not None:
        if not isinstance(raw_deployments, Sequence) or isinstance(raw_deployments, str):
            raise ValueError("deployments must be an array of tables ([[deployments]])")
        deployments = tuple(_deployment(d, i) for i, d in enumerate(raw_deployments))
        names = [d.name for d in deployments]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate deployment name(s): {', '.join(duplicates)}")
        values["deployments"] = deployments
    for seconds in (
        "token_lifetime",
        "ws_max_age",
        "request_latency",
        "batch_stage_seconds",
        "fine_tuning_stage_seconds",
        "fine_tuning_deploy_seconds",
    ):
        if seconds in values:
            values[seconds] = float(values[seconds])
    return EmulatorConfig(**values)


def load_config(path: str | Path) -> EmulatorConfig:
    """Read a deployments TOML file (see the module docstring). Errors are ``ValueError``s that
    name the offending key."""
    with open(path, "rb") as fh:
        try:
            data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: {exc}") from exc
    try:
        return config_from_mapping(data)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc
