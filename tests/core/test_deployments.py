"""Deployment resolution and discovery through ARM (with a fake ARM server injected)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pytest

from azoai.config.deployments import (
    DeploymentDiscovery,
    DeploymentRecord,
    DiscoverySettings,
    parse_model_id,
    resolve_deployment,
)
from azoai.errors import ConfigError

KNOWN = (DeploymentRecord("prod-4o", "gpt-4o"), DeploymentRecord("reasoner", "o3-mini"))


@pytest.mark.parametrize(
    ("requested", "default", "dmap", "known", "expected", "rule"),
    [
        ("gpt-4o", "prod-4o", {"gpt-4o": "eu-4o"}, KNOWN, "eu-4o", "deployment_map"),
        ("reasoner", "prod-4o", {}, KNOWN, "reasoner", "known deployment"),
        (None, "prod-4o", {}, KNOWN, "prod-4o", "default deployment"),
        ("gpt-4o", "prod-4o", {}, KNOWN, "prod-4o", "is not a known deployment"),
        ("anything", "prod-4o", {}, (), "anything", "pass-through"),
        ("anything", None, {}, KNOWN, "anything", "pass-through"),
        ("azure-openai/reasoner", None, {}, KNOWN, "reasoner", "known deployment"),
        ("azure-openai/team/dep", None, {}, (), "team/dep", "pass-through"),
    ],
)
def test_resolution_order(requested, default, dmap, known, expected, rule, caplog) -> None:
    with caplog.at_level(logging.DEBUG, logger="azoai.deployments"):
        res = resolve_deployment(requested, default=default, deployment_map=dmap, known=known)
    assert res.deployment == expected
    assert rule in res.rule
    assert "chosen by rule" in caplog.text


def test_known_default_does_not_shadow_real_deployments() -> None:
    res = resolve_deployment("reasoner", default="prod-4o", deployment_map={}, known=KNOWN)
    assert res.deployment == "reasoner" and res.record is not None and res.record.info.reasoning


def test_no_deployment_at_all_names_the_settings() -> None:
    # the adapters' names (azure_deployment=, engine=) replace it (Settings.names)
    with pytest.raises(ConfigError, match="no deployment given: pass deployment=, set"):
        resolve_deployment(None, default=None, deployment_map={})


def test_model_ids() -> None:
    assert parse_model_id("azure-openai/my-deployment") == "my-deployment"
    assert parse_model_id("azure-openai/a/b") == "a/b"
    assert parse_model_id("plain") == "plain"
    with pytest.raises(
        ConfigError, match="expected format azure-openai/<deployment-name>, but got 'azure-openai/'"
    ):
        parse_model_id("azure-openai/")


# --- discovery ----------------------------------------------------------------------------------

SETTINGS = DiscoverySettings(subscription_id="sub", resource_group="rg", account="acct", ttl=60)


def arm_item(name: str, model: str, state: str = "Succeeded", **props: Any) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/sub/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/acct/deployments/{name}",
        "name": name,
        "type": "Microsoft.CognitiveServices/accounts/deployments",
        "sku": {"name": "GlobalStandard", "capacity": 50},
        "properties": {
            "model": {"format": "OpenAI", "name": model, "version": "2024-08-06"},
            "provisioningState": state,
            "capabilities": {"chatCompletion": "true", "maxContextToken": "128000"},
            "rateLimits": [{"key": "request", "renewalPeriod": 10, "count": 300}],
            **props,
        },
    }


class FakeARM:
    def __init__(self, pages: list[Mapping[str, Any]], status: int = 200) -> None:
        self.pages = pages
        self.status = status
        self.urls: list[str] = []
        self.headers: list[Mapping[str, str]] = []

    def get(self, url: str, headers: Mapping[str, str]) -> tuple[int, Any]:
        self.urls.append(url)
        self.headers.append(headers)
        if self.status != 200:
            return self.status, {"error": {"code": "AuthorizationFailed", "message": "no access"}}
        return 200, self.pages[len(self.urls) - 1]


def test_discovery_pages_filters_and_records_details() -> None:
    base = "https://management.azure.com/subscriptions/sub/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/acct/deployments"
    arm = FakeARM(
        [
            {
                "value": [arm_item("chat", "gpt-4o"), arm_item("creating", "gpt-4o", "Creating")],
                "nextLink": base + "?page=2",
            },
            {
                "value": [
                    arm_item("embed", "text-embedding-3-small", capabilities={"embeddings": "true"})
                ],
                "nextLink": base + "?page=3",
            },
            {"value": [arm_item("paused", "gpt-4o", deploymentState="Paused"), {"bad": "item"}]},
        ]
    )
    tokens = []
    d = DeploymentDiscovery(
        SETTINGS, get_token=lambda: tokens.append(1) or "arm-token", http_get=arm.get
    )
    recs = d.deployments()
    assert [r.name for r in recs] == ["chat", "embed"]
    assert arm.urls[0] == base + "?api-version=2024-10-01"
    assert len(arm.urls) == 3
    assert all(h["Authorization"] == "Bearer arm-token" for h in arm.headers)
    chat, embed = recs
    assert (chat.model, chat.model_version, chat.format, chat.sku, chat.capacity) == (
        "gpt-4o",
        "2024-08-06",
        "OpenAI",
        "GlobalStandard",
        50,
    )
    assert chat.capabilities["maxContextToken"] == "128000" and chat.kind == "chat"
    assert embed.kind == "embedding" and chat.tokens_per_minute == 50_000
    assert {r.state for r in d.all_records} == {"Succeeded", "Creating", "Paused"}


def test_discovery_is_cached_for_its_ttl() -> None:
    arm = FakeARM([{"value": [arm_item("chat", "gpt-4o")]}] * 3)
    d = DeploymentDiscovery(SETTINGS, get_token=lambda: "t", http_get=arm.get)
    d.deployments()
    d.deployments()
    assert d.list_calls == 1
    d.deployments(refresh=True)
    assert d.list_calls == 2


def test_discovery_failure_warns_and_falls_back(caplog: pytest.LogCaptureFixture) -> None:
    arm = FakeARM([], status=403)
    static = (DeploymentRecord("static"),)
    d = DeploymentDiscovery(SETTINGS, get_token=lambda: "t", http_get=arm.get, fallback=static)
    with caplog.at_level(logging.WARNING):
        assert d.deployments() == static
    assert "deployment discovery failed" in caplog.text and "HTTP 403: no access" in caplog.text
    assert d.last_error is not None


def test_token_failure_falls_back() -> None:
    def boom() -> str:
        raise RuntimeError("no credential")

    d = DeploymentDiscovery(SETTINGS, get_token=boom, http_get=FakeARM([]).get)
    assert d.deployments() == ()


def test_next_link_to_another_host_is_refused() -> None:
    arm = FakeARM(
        [{"value": [arm_item("chat", "gpt-4o")], "nextLink": "https://evil.example.com/steal"}]
    )
    d = DeploymentDiscovery(SETTINGS, get_token=lambda: "t", http_get=arm.get)
    assert d.deployments() == ()
    assert len(arm.urls) == 1 and "refusing to follow nextLink" in str(d.last_error)


def test_unexpected_body_falls_back() -> None:
    d = DeploymentDiscovery(
        SETTINGS, get_token=lambda: "t", http_get=lambda u, h: (200, {"nothing": 1})
    )
    assert d.deployments() == () and "unexpected body" in str(d.last_error)


def test_discovery_settings_validation() -> None:
    with pytest.raises(ConfigError, match="missing: subscription_id, resource_group, account"):
        DiscoverySettings.from_mapping({})
    with pytest.raises(ConfigError, match="must be an https URL"):
        DiscoverySettings.from_mapping(
            {
                "subscription_id": "s",
                "resource_group": "g",
                "account": "a",
                "arm_host": "http://arm.example",
            }
        )
    with pytest.raises(ConfigError, match="unknown discovery setting"):
        DiscoverySettings.from_mapping(
            {"subscription_id": "s", "resource_group": "g", "account": "a", "sub": 1}
        )


def test_static_records_coerce() -> None:
    assert (
        DeploymentRecord.coerce(
            {"name": "d", "model": "gpt-4o", "version": "2024-08-06"}
        ).model_version
        == "2024-08-06"
    )
    with pytest.raises(ConfigError, match="unknown key"):
        DeploymentRecord.coerce({"name": "d", "modle": "x"})
    with pytest.raises(ConfigError, match="needs a name"):
        DeploymentRecord.coerce({"model": "x"})
    with pytest.raises(ConfigError):
        DeploymentRecord.coerce(3)  # type: ignore[arg-type]
