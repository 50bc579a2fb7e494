"""Endpoint validation and normalisation (issue 2, settings: endpoint)."""

from __future__ import annotations

import pytest

from azoai.config.endpoints import (
    CHINA,
    PUBLIC,
    US_GOV,
    endpoint_from_resource_name,
    parse_endpoint,
)
from azoai.errors import ConfigError


@pytest.mark.parametrize(
    ("raw", "base", "kind", "cloud"),
    [
        ("https://myres.openai.azure.com", "https://myres.openai.azure.com", "openai", PUBLIC),
        ("https://myres.openai.azure.com/", "https://myres.openai.azure.com", "openai", PUBLIC),
        ("https://myres.openai.azure.com//", "https://myres.openai.azure.com", "openai", PUBLIC),
        (
            "https://myres.openai.azure.com/openai",
            "https://myres.openai.azure.com",
            "openai",
            PUBLIC,
        ),
        (
            "https://myres.openai.azure.com/openai/",
            "https://myres.openai.azure.com",
            "openai",
            PUBLIC,
        ),
        (
            "https://myres.openai.azure.com/openai/v1/",
            "https://myres.openai.azure.com",
            "openai",
            PUBLIC,
        ),
        ("https://MyRes.OpenAI.Azure.com", "https://myres.openai.azure.com", "openai", PUBLIC),
        ("myres.openai.azure.com", "https://myres.openai.azure.com", "openai", PUBLIC),
        (
            "https://r.cognitiveservices.azure.com",
            "https://r.cognitiveservices.azure.com",
            "cognitiveservices",
            PUBLIC,
        ),
        (
            "https://r.services.ai.azure.com/openai/v1",
            "https://r.services.ai.azure.com",
            "foundry",
            PUBLIC,
        ),
        ("https://r.openai.azure.us", "https://r.openai.azure.us", "openai", US_GOV),
        ("https://r.openai.azure.cn/", "https://r.openai.azure.cn", "openai", CHINA),
        (
            "https://eastus.api.cognitive.microsoft.com",
            "https://eastus.api.cognitive.microsoft.com",
            "regional",
            PUBLIC,
        ),
        ("http://127.0.0.1:8123", "http://127.0.0.1:8123", "loopback", PUBLIC),
        ("http://localhost:8123/openai", "http://localhost:8123", "loopback", PUBLIC),
        ("http://[::1]:9000", "http://[::1]:9000", "loopback", PUBLIC),
    ],
)
def test_accepted_endpoints(raw: str, base: str, kind: str, cloud: object) -> None:
    ep = parse_endpoint(raw)
    assert (ep.base, ep.kind, ep.cloud) == (base, kind, cloud)
    assert ep.openai_base == base + "/openai"


def test_custom_endpoint_keeps_its_path_and_needs_the_flag() -> None:
    with pytest.raises(ConfigError, match="custom_endpoint=True") as exc:
        parse_endpoint("https://apim.contoso.com/aoai")
    assert exc.value.setting == "custom_endpoint"
    ep = parse_endpoint("https://apim.contoso.com/aoai/openai/", custom_endpoint=True)
    assert (ep.base, ep.kind, ep.resource_name) == ("https://apim.contoso.com/aoai", "custom", None)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "is empty"),
        ("http://myres.openai.azure.com", "http:// on a non-loopback host"),
        ("ftp://myres.openai.azure.com", "must be an https URL"),
        (
            "https://myres.openai.azure.com/openai/deployments/gpt4/chat/completions",
            "contains an API path",
        ),
        ("https://myres.openai.azure.com?api-version=2024-10-21", "has a query or fragment"),
        ("https://user:pw@myres.openai.azure.com", "must not contain credentials"),
        ("https://myres.openai.azure.com/other", "unexpected path"),
        ("https://.openai.azure.com", "not a valid host name"),
        ("https://evil.com/x.openai.azure.com", "not an Azure OpenAI host"),
    ],
)
def test_rejected_endpoints(raw: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_endpoint(raw)


def test_query_strings_never_reach_the_message() -> None:
    with pytest.raises(ConfigError) as exc:
        parse_endpoint("https://myres.openai.azure.com/?api-key=SECRETKEY123")
    assert "SECRETKEY123" not in str(exc.value)


def test_resource_name() -> None:
    assert endpoint_from_resource_name("MyRes") == "https://myres.openai.azure.com"
    assert parse_endpoint("https://myres.openai.azure.com").resource_name == "myres"
    with pytest.raises(ConfigError, match="resource_name"):
        endpoint_from_resource_name("bad name/")


def test_entra_needs_a_custom_subdomain() -> None:
    assert parse_endpoint("https://r.openai.azure.com").supports_entra
    assert not parse_endpoint("https://eastus.api.cognitive.microsoft.com").supports_entra


@pytest.mark.parametrize(
    "raw", ["[", "https://[", "https://[]", "https://host:notaport", "https://[::1"]
)
def test_malformed_urls_are_config_errors(raw: str) -> None:
    # found by tests/core/test_fuzz.py: urlsplit's ValueError used to escape
    with pytest.raises(ConfigError):
        parse_endpoint(raw)
