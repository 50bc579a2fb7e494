"""Where a setting's value comes from: explicit arguments, then the config file, then the
environment (:data:`ENV_VARS` lists every variable read), recording the source of each value
(:attr:`~azoai.config.settings.Settings.sources`, printed by ``azoai doctor``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from azoai.config.policies import parse_bool
from azoai.errors import ConfigError

__all__ = [
    "API_VERSION_VARS",
    "CAPTURE_CONTENT_VAR",
    "DEPLOYMENT_VARS",
    "ENDPOINT_VARS",
    "ENV_VARS",
    "TELEMETRY_VAR",
    "Sources",
    "auth_env_offers",
    "capture_content",
]

#: Every environment variable azoai reads, with what it sets. The README's table is tested
#: against this mapping, so the two cannot drift.
ENV_VARS: Mapping[str, str] = MappingProxyType(
    {
        "AZURE_OPENAI_ENDPOINT": "endpoint, e.g. https://<resource>.openai.azure.com",
        "AZURE_OPENAI_BASE_URL": "alias of AZURE_OPENAI_ENDPOINT",
        "AZURE_OPENAI_API_KEY": "API key (sent as the api-key header)",
        "AZURE_OPENAI_KEY": "alias of AZURE_OPENAI_API_KEY",
        "AZURE_OPENAI_AD_TOKEN": "a static Entra ID access token",
        "AZURE_OPENAI_API_VERSION": "api_version",
        "OPENAI_API_VERSION": "api_version, when AZURE_OPENAI_API_VERSION is unset (LangChain's name)",
        "AZURE_OPENAI_DEPLOYMENT": "default deployment",
        "AZURE_OPENAI_DEFAULT_DEPLOYMENT": "alias of AZURE_OPENAI_DEPLOYMENT",
        "AZURE_USE_MANAGED_IDENTITY": "true: authenticate with ManagedIdentityCredential",
        "AZURE_USE_DEFAULT_CREDENTIAL": "true: authenticate with DefaultAzureCredential",
        "AZURE_MANAGED_IDENTITY_CLIENT_ID": "client id of a user-assigned managed identity",
        "AZURE_TENANT_ID": "tenant for workload identity or a service principal (azure-identity)",
        "AZURE_CLIENT_ID": "client id for workload identity or a service principal (azure-identity)",
        "AZURE_CLIENT_SECRET": "service principal secret, with auth_mode='client_secret' (azure-identity)",
        "AZURE_FEDERATED_TOKEN_FILE": "workload identity token file; with AZURE_CLIENT_ID and AZURE_TENANT_ID selects workload identity",
        "AZURE_AUTHORITY_HOST": "Entra authority for sovereign clouds (azure-identity)",
        "AZURE_SUBSCRIPTION_ID": "subscription for deployment discovery (when discovery is on)",
        "AZURE_RESOURCE_GROUP": "resource group for deployment discovery (when discovery is on)",
        "AZOAI_CONFIG": "path of the azoai TOML config file",
        "AZOAI_TELEMETRY": "false: no OpenTelemetry spans or metrics from azoai (default true)",
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true (or SPAN_ONLY, SPAN_AND_EVENT): message content on azoai's spans (off by default)",
        "AZOAI_QUOTA_STORE": "quota_store: a Redis URL where a fleet of processes shares each deployment's quota",
    }
)

# The names read for one setting, first found wins (see ENV_VARS).
ENDPOINT_VARS = ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_BASE_URL")
API_VERSION_VARS = ("AZURE_OPENAI_API_VERSION", "OPENAI_API_VERSION")
DEPLOYMENT_VARS = ("AZURE_OPENAI_DEPLOYMENT", "AZURE_OPENAI_DEFAULT_DEPLOYMENT")
TELEMETRY_VAR = "AZOAI_TELEMETRY"
#: OpenTelemetry's GenAI opt-in for message content (the name the conventions give).
CAPTURE_CONTENT_VAR = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
#: Its values that put content on spans: ``true`` (the openai-v2 instrumentation's spelling) and
#: the modes of opentelemetry-util-genai; ``EVENT_ONLY`` asks for events, which azoai does not emit.
_CAPTURE_ON_SPANS = frozenset({"true", "1", "yes", "on", "span_only", "span_and_event"})
_CAPTURE_OFF = frozenset({"", "false", "0", "no", "off", "no_content", "event_only"})

log = logging.getLogger("azoai.settings")


def capture_content(value: str | None) -> bool:
    """Whether :data:`CAPTURE_CONTENT_VAR`'s value asks for content on spans. The variable is
    shared with other instrumentations, so an unknown value is a warning (and no content),
    never an error."""
    v = (value or "").strip().lower()
    if v in _CAPTURE_ON_SPANS:
        return True
    if v not in _CAPTURE_OFF:
        log.warning(
            "azoai: %s=%r is not one of true, false, SPAN_ONLY, SPAN_AND_EVENT, EVENT_ONLY, "
            "NO_CONTENT; no message content is recorded",
            CAPTURE_CONTENT_VAR,
            value,
        )
    return False


class Sources:
    """Picks each setting from the first source that has it and records which one did."""

    def __init__(
        self, args: dict[str, Any], file: dict[str, Any], env: Mapping[str, str], path: str | None
    ):
        self.args = args
        self.file = file
        self.file_auth: dict[str, Any] = dict(file.get("auth") or {})
        self.env = env
        self.path = path
        self.sources: dict[str, str] = {}

    def pick_str(self, name: str, env_names: Sequence[str] = ()) -> str | None:
        """Like :meth:`pick`, for settings that must be strings (a TOML file can hold anything)."""
        value = self.pick(name, env_names)
        if value is not None and not isinstance(value, str):
            raise ConfigError(
                f"{name} must be a string, got {type(value).__name__} ({self.sources.get(name)})",
                setting=name,
            )
        return value

    def pick(
        self,
        name: str,
        env_names: Sequence[str] = (),
        *,
        file_key: str | None = None,
        section: dict[str, Any] | None = None,
    ) -> Any:
        """One value from the first source that has it: an argument, the file's ``file_key``
        (in ``section``, a table of the file, when given), then the first of ``env_names`` set."""
        if name in self.args:
            self.sources[name] = "argument"
            return self.args[name]
        src = self.file if section is None else section
        key = file_key or name
        if key in src:
            self.sources[name] = f"file {self.path}"
            return src[key]
        for env_name in env_names:
            value = self.env.get(env_name)
            if value is not None and value.strip() != "":
                self.sources[name] = f"env {env_name}"
                return value.strip()
        return None


def auth_env_offers(env: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """What the environment offers for authentication (``api_key``, ``token`` and the
    ``managed_identity`` / ``default_credential`` / ``workload_identity`` flags), and for each
    offered secret the variable it came from (the first of its names that is set)."""
    offered: dict[str, Any] = {}
    names: dict[str, str] = {}
    for name, key in (
        ("AZURE_OPENAI_API_KEY", "api_key"),
        ("AZURE_OPENAI_KEY", "api_key"),
        ("AZURE_OPENAI_AD_TOKEN", "token"),
    ):
        value = env.get(name)
        if value and value.strip() and key not in offered:
            offered[key] = value
            names[key] = name
    if parse_bool(env.get("AZURE_USE_MANAGED_IDENTITY", ""), setting="AZURE_USE_MANAGED_IDENTITY"):
        offered["managed_identity"] = True
    if parse_bool(
        env.get("AZURE_USE_DEFAULT_CREDENTIAL", ""), setting="AZURE_USE_DEFAULT_CREDENTIAL"
    ):
        offered["default_credential"] = True
    if all(
        env.get(n) for n in ("AZURE_FEDERATED_TOKEN_FILE", "AZURE_CLIENT_ID", "AZURE_TENANT_ID")
    ):
        offered["workload_identity"] = True
    return offered, names
