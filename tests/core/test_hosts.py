"""Credentials and Azure-only headers go only where they belong (issue 14): a route's non-Azure
fallback never receives ``default_headers`` or per-call ``extra_headers``; deployment discovery
never follows a ``nextLink`` from https to http; endpoints are ASCII hosts checked at
construction; the deployment names ``.`` and ``..`` (which a URL path resolves away) are
refused."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from azoai.client import CallOptions, Client
from azoai.config.deployments import DiscoverySettings
from azoai.config.settings import RetryPolicy
from azoai.errors import AzoaiError, ConfigError
from azoai.wire import ChatRequest, Message
from azoai_emulator import Emulator, EmulatorDeployment, Fault

HI = ChatRequest(messages=[Message("user", "Lisbon is the capital of Portugal. Capital?")])
FAST = RetryPolicy(max_retries=1, initial_delay=0.01, max_delay=0.02, max_retry_after=2.0)
AZURE_HEADERS = {"Ocp-Apim-Subscription-Key": "apim-secret-1234", "x-tenant": "blue"}


@pytest.fixture(scope="module")
def azure() -> Iterator[Emulator]:
    with Emulator([EmulatorDeployment("gpt4o", model="gpt-4o")], region="East US") as e:
        yield e


@pytest.fixture(scope="module")
def third_party() -> Iterator[Emulator]:
    """Stands in for a non-Azure OpenAI-compatible API (its /openai/v1 root takes a bearer key)."""
    with Emulator([EmulatorDeployment("gpt-4o", model="gpt-4o")], api_key="openai-key") as e:
        yield e


@pytest.fixture(autouse=True)
def _reset(azure: Emulator, third_party: Emulator) -> None:
    azure.reset()
    third_party.reset()


def route(third_party: Emulator) -> dict[str, Any]:
    return {
        "chat": {
            "targets": [
                "gpt4o",
                {
                    "base_url": f"{third_party.endpoint}/openai/v1",
                    "model": "gpt-4o",
                    "api_key_env": "FALLBACK_KEY",
                    "name": "openai",
                },
            ]
        }
    }


def assert_only_azure_got_the_headers(azure: Emulator, third_party: Emulator) -> None:
    assert azure.requests, "the Azure target was tried first"
    for r in azure.requests:
        assert r.headers["x-tenant"] == "blue" and "ocp-apim-subscription-key" in r.headers
    assert third_party.requests, "the fallback served"
    for r in third_party.requests:
        assert "x-tenant" not in r.headers and "ocp-apim-subscription-key" not in r.headers
        assert "x-call" not in r.headers
        assert r.headers["authorization"] == "***"  # its own key, as a bearer token


def test_default_headers_never_reach_the_non_azure_fallback(
    azure: Emulator, third_party: Emulator
) -> None:
    c = Client(
        endpoint=azure.endpoint,
        api_key=azure.api_key,
        deployment="chat",
        default_headers=AZURE_HEADERS,
        routes=route(third_party),
        retry=FAST,
        env={"FALLBACK_KEY": third_party.api_key},
        config_file="",
    )
    azure.inject("*", Fault.status(503, count=None))
    call = CallOptions(extra_headers={"x-call": "per-call"})
    assert c.chat(HI, options=call).target == "openai"
    deltas = list(c.stream(HI, options=call))
    assert deltas[0].target == "openai"
    assert_only_azure_got_the_headers(azure, third_party)
    assert all(r.headers.get("x-call") == "per-call" for r in azure.requests)
    c.close()


async def test_default_headers_never_reach_the_fallback_async(
    azure: Emulator, third_party: Emulator
) -> None:
    c = Client(
        endpoint=azure.endpoint,
        api_key=azure.api_key,
        deployment="chat",
        default_headers=AZURE_HEADERS,
        routes=route(third_party),
        retry=FAST,
        env={"FALLBACK_KEY": third_party.api_key},
        config_file="",
    )
    azure.inject("*", Fault.status(503, count=None))
    call = CallOptions(extra_headers={"x-call": "per-call"})
    assert (await c.achat(HI, options=call)).target == "openai"
    deltas = [d async for d in c.astream(HI, options=call)]
    assert deltas[0].target == "openai"
    assert_only_azure_got_the_headers(azure, third_party)
    await c.aclose()


def test_langchain_default_headers_never_reach_the_fallback(
    azure: Emulator, third_party: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from langchain_azoai import AzureChatOpenAI

    monkeypatch.setenv("FALLBACK_KEY", third_party.api_key)
    llm = AzureChatOpenAI(
        azure_endpoint=azure.endpoint,
        api_key=azure.api_key,
        azure_deployment="chat",
        default_headers=AZURE_HEADERS,
        routes=route(third_party),
        max_retries=1,
        config_file="",
    )
    azure.inject("*", Fault.status(503, count=None))
    assert "Lisbon" in str(llm.invoke("Lisbon is the capital of Portugal. Capital?").content)
    assert_only_azure_got_the_headers(azure, third_party)
    llm.close()


# --- discovery ------------------------------------------------------------------------------------


class ArmOnOnePort:
    """A scripted ARM host on one loopback port that speaks both TLS and plain HTTP (it peeks at
    the first byte: 0x16 opens a TLS handshake), so a ``nextLink`` can switch from https to http
    and keep the host:port that discovery checks. It records every request's scheme and
    whether it carried a bearer token."""

    def __init__(self, certfile: Path, keyfile: Path) -> None:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(certfile, keyfile)
        self.seen: list[tuple[str, str, bool]] = []  # (scheme, path, bearer token present)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                scheme = "https" if isinstance(self.connection, ssl.SSLSocket) else "http"
                token = (self.headers.get("authorization") or "").startswith("Bearer ")
                outer.seen.append((scheme, self.path, token))
                body: dict[str, Any] = {"value": []}
                if "$skipToken" not in self.path:
                    body["value"] = [arm_item("chat")]
                    # a gateway (or an attacker on the path) rewrote the link to http://
                    body["nextLink"] = f"http://{self.headers['host']}{self.path}&$skipToken=1"
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self) -> tuple[socket.socket, Any]:
                sock, addr = self.socket.accept()
                sock.settimeout(5)
                if sock.recv(1, socket.MSG_PEEK) == b"\x16":
                    sock = tls.wrap_socket(sock, server_side=True)
                return sock, addr

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def host(self) -> str:
        return f"https://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> ArmOnOnePort:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def arm_item(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "sku": {"name": "Standard", "capacity": 10},
        "properties": {
            "model": {"format": "OpenAI", "name": "gpt-4o", "version": "2024-11-20"},
            "provisioningState": "Succeeded",
        },
    }


class ArmCredential:
    def get_token(self, *scopes: str, **kw: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken("arm-token-secret", int(time.time() + 3600))


def test_discovery_never_follows_a_next_link_from_https_to_http(
    azure: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Page one over https links page two over http on the same host and port: following it
    would send the management token in clear. Discovery refuses (a typed error, logged, and the
    static list is used) and the token never crosses plain HTTP."""
    from azoai_emulator.tls import write_tls_files

    files = write_tls_files(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(files.ca_bundle))
    with ArmOnOnePort(files.certfile, files.keyfile) as arm:
        c = Client(
            endpoint=azure.endpoint,
            api_key=azure.api_key,
            deployment="gpt4o",
            discovery={
                "subscription_id": "sub",
                "resource_group": "rg",
                "account": "acct",
                "arm_host": arm.host,
                "credential": ArmCredential(),
            },
            env={},
            config_file="",
        )
        listed = c.known_deployments()
        assert not [r for r in arm.seen if r[0] == "http"], "the token went over plain http"
        assert [(scheme, token) for scheme, _, token in arm.seen] == [("https", True)]
        assert listed == ()  # nothing is taken from a listing that was cut short
        assert c._discovery is not None
        err = c._discovery.last_error
        assert isinstance(err, AzoaiError) and "https" in str(err)
        assert "arm-token-secret" not in str(err)
        c.close()


@pytest.mark.parametrize(
    "arm_host",
    ["http://management.azure.com", "http://arm.example", "ftp://management.azure.com"],
)
def test_discovery_settings_refuse_a_management_host_without_https(arm_host: str) -> None:
    with pytest.raises(ConfigError) as exc:
        DiscoverySettings(subscription_id="s", resource_group="g", account="a", arm_host=arm_host)
    assert exc.value.setting == "discovery.arm_host"
    DiscoverySettings(
        subscription_id="s", resource_group="g", account="a", arm_host="http://127.0.0.1:9"
    )  # loopback (the emulator) may use http


# --- endpoints ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "named"),
    [
        ("https://myres\u3002openai.azure.com", "U+3002"),  # IDNA maps it to '.'
        ("https://gw\u3002example.com", "U+3002"),
        ("https://gw.example.com\u3002", "U+3002"),
        ("https://\uff47\uff57.example.com", "U+FF47"),  # full-width 'g'
        ("https://gw\u00a0.example.com", "U+00A0"),
        ("https://gw.example.com\u200b", "U+200B"),
        ("https://m\u00fcnchen.example.com", "xn--mnchen-3ya.example.com"),
        ("https://gw..example.com", "not a valid host name"),
        ("https://gw.example.com.", "not a valid host name"),
        ("https://gw%2eexample.com", "not a valid host name"),
    ],
)
def test_endpoints_that_are_not_ascii_host_names_are_refused_at_construction(
    endpoint: str, named: str
) -> None:
    with pytest.raises(ConfigError) as exc:
        Client(endpoint=endpoint, custom_endpoint=True, api_key="k", env={}, config_file="")
    assert exc.value.setting == "endpoint" and named in str(exc.value)


def test_route_targets_that_are_not_ascii_hosts_are_refused(third_party: Emulator) -> None:
    bad = route(third_party)
    bad["chat"]["targets"][1]["base_url"] = "https://api\u3002openai.com/v1"
    other = {
        "chat": {
            "targets": [
                "gpt4o",
                {"deployment": "gpt4o", "endpoint": "https://west\u3002openai.azure.com"},
            ]
        }
    }
    for routes, setting in (
        (bad, "routes.chat.targets[1].base_url"),
        (other, "routes.chat.targets[1].endpoint"),
    ):
        with pytest.raises(ConfigError) as exc:
            Client(
                endpoint="https://myres.openai.azure.com",
                api_key="k",
                routes=routes,
                env={"FALLBACK_KEY": "x"},
                config_file="",
            )
        assert exc.value.setting == setting and "U+3002" in str(exc.value)


def test_ascii_hosts_ip_literals_and_punycode_are_accepted() -> None:
    for endpoint in (
        "https://xn--mnchen-3ya.example.com",
        "https://gw_internal.example.com",
        "https://[::1]:8443",
        "https://10.0.0.4",
    ):
        c = Client(endpoint=endpoint, custom_endpoint=True, api_key="k", env={}, config_file="")
        assert c.settings.endpoint.base == endpoint


# --- deployment names -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", [".", "..", "azure-openai/.."])
def test_deployment_names_that_a_url_path_resolves_away_are_refused(
    azure: Emulator, name: str
) -> None:
    """On the deployments route ``/openai/deployments/../chat/completions`` becomes
    ``/openai/chat/completions``: the call would go to another path than the deployment's."""
    common: dict[str, Any] = {
        "endpoint": azure.endpoint,
        "api_key": azure.api_key,
        "api_version": "2024-10-21",
        "env": {},
        "config_file": "",
    }
    with pytest.raises(ConfigError) as exc:
        Client(deployment=name, **common)
    assert exc.value.setting == "deployment"
    with pytest.raises(ConfigError) as exc:
        Client(deployment="gpt4o", deployment_map={"gpt-4o": name}, **common)
    assert exc.value.setting is not None and exc.value.setting.startswith("deployment_map")
    bare = name.removeprefix("azure-openai/")
    for target in (bare, {"deployment": bare}):
        with pytest.raises(ConfigError) as exc:
            Client(deployment="chat", routes={"chat": {"targets": ["gpt4o", target]}}, **common)
        assert exc.value.setting is not None
        assert exc.value.setting.startswith("routes.chat.targets[1]")
    c = Client(deployment="gpt4o", **common)
    with pytest.raises(ConfigError) as exc:
        c.chat(HI, model=name)
    assert exc.value.setting == "model"
    with pytest.raises(ConfigError):
        c.embed(["text"], model=name)
    assert azure.requests == []
    c.close()
