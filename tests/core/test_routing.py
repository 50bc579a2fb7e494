"""Routing across deployments and regions (issue 9): failover, weighted balancing, cool-down
honouring retry-after, streams failing over only before the first chunk, config validation."""

from __future__ import annotations

import collections
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from azoai import errors as E
from azoai.client import Client
from azoai.config.settings import RetryPolicy, Settings
from azoai.wire import ChatRequest, Message
from azoai_emulator import Emulator, EmulatorDeployment, Fault

HI = ChatRequest(
    messages=[
        Message(
            "user",
            "Context: Lisbon is the capital of Portugal.\n\nWhat is the capital of Portugal?",
        )
    ]
)
FAST = RetryPolicy(max_retries=2, initial_delay=0.01, max_delay=0.05, max_retry_after=2.0)


@pytest.fixture(scope="module")
def east() -> Iterator[Emulator]:
    with Emulator(
        [
            EmulatorDeployment("gpt4o-a", model="gpt-4o"),
            EmulatorDeployment("gpt4o-b", model="gpt-4o"),
        ],
        region="East US",
    ) as e:
        yield e


@pytest.fixture(scope="module")
def west() -> Iterator[Emulator]:
    with Emulator(
        [EmulatorDeployment("gpt4o", model="gpt-4o"), EmulatorDeployment("gpt-4o", model="gpt-4o")],
        region="West US",
        api_key="west-key",
    ) as e:
        yield e


@pytest.fixture(autouse=True)
def _reset(east: Emulator, west: Emulator) -> None:
    east.reset()
    west.reset()


def routed(east: Emulator, west: Emulator, strategy: str = "failover", **route: object) -> Client:
    return Client(
        endpoint=east.endpoint,
        api_key=east.api_key,
        deployment="chat",
        retry=FAST,
        routes={
            "chat": {
                "strategy": strategy,
                "targets": [
                    {"deployment": "gpt4o-a", "weight": 3},
                    {"deployment": "gpt4o-b", "weight": 1},
                    {
                        "deployment": "gpt4o",
                        "endpoint": west.endpoint,
                        "api_key_env": "WEST_KEY",
                        "name": "west",
                    },
                ],
                **route,
            }
        },
        env={"WEST_KEY": west.api_key},
        config_file="",
    )


def test_failover_moves_on_at_once_and_says_who_served(east: Emulator, west: Emulator) -> None:
    east.inject("gpt4o-a", Fault.rate_limit(retry_after_ms=5000))
    c = routed(east, west)
    started = time.monotonic()
    r = c.chat(HI)
    assert time.monotonic() - started < 1.5  # no sleeping on the 429
    assert r.target == "gpt4o-b" and "Lisbon" in r.text
    assert [(q.deployment, q.status) for q in east.requests] == [("gpt4o-a", 429), ("gpt4o-b", 200)]
    # gpt4o-a is cooling for the retry-after it gave: the next call skips it
    r2 = c.chat(HI)
    assert r2.target == "gpt4o-b" and len(east.requests) == 3


def test_failover_crosses_regions_with_that_regions_key(east: Emulator, west: Emulator) -> None:
    east.inject("*", Fault.status(503, count=None))
    r = routed(east, west).chat(HI)
    assert r.target == "west" and r.headers["x-ms-region"] == "West US"
    assert west.requests[-1].headers["api-key"] == "***" and west.requests[-1].status == 200


def test_non_failover_errors_are_raised_not_routed(east: Emulator, west: Emulator) -> None:
    east.inject("gpt4o-a", Fault.content_filter("prompt"))
    with pytest.raises(E.ContentFilterError):
        routed(east, west).chat(HI)
    assert len(east.requests) == 1 and west.requests == []


def test_all_targets_cooling_waits_for_the_earliest_then_gives_a_typed_error(
    east: Emulator, west: Emulator
) -> None:
    east.inject("*", Fault.rate_limit(retry_after_ms=300, count=2))
    west.inject("*", Fault.rate_limit(retry_after_ms=300, count=1))
    started = time.monotonic()
    r = routed(east, west).chat(HI)
    assert time.monotonic() - started >= 0.25 and r.text
    east.inject("*", Fault.rate_limit(retry_after_ms=60_000, count=None))
    west.inject("*", Fault.rate_limit(retry_after_ms=60_000, count=None))
    with pytest.raises(E.RateLimitError):
        routed(east, west).chat(
            HI
        )  # recovery is beyond max_retry_after: fail, do not sleep a minute


def test_weighted_balancing_follows_the_weights(east: Emulator, west: Emulator) -> None:
    c = routed(east, west, strategy="weighted")
    served = collections.Counter(c.chat(HI).target for _ in range(100))
    assert served["gpt4o-a"] > served["gpt4o-b"] and served["west"] > 5
    assert sum(served.values()) == 100


def test_streams_fail_over_before_the_first_chunk_only(east: Emulator, west: Emulator) -> None:
    east.inject("gpt4o-a", Fault.status(500))
    deltas = list(routed(east, west).stream(HI))
    assert deltas[0].target == "gpt4o-b" and "Lisbon" in "".join(d.text for d in deltas)
    east.reset()
    east.inject("gpt4o-a", Fault.cut_stream(after_chunks=3))
    with pytest.raises(E.StreamInterruptedError):
        list(routed(east, west).stream(HI))
    assert [q.deployment for q in east.requests] == ["gpt4o-a"]  # no failover after chunks arrived


async def test_async_failover(east: Emulator, west: Emulator) -> None:
    east.inject("gpt4o-a", Fault.close_connection())
    c = routed(east, west)
    r = await c.achat(HI)
    assert r.target == "gpt4o-b"
    east.inject("gpt4o-b", Fault.status(502))
    # gpt4o-a is cooling from the dropped connection, gpt4o-b fails: west serves
    got = [d async for d in c.astream(HI)]
    assert got[0].target == "west"
    await c.aclose()


def test_a_route_can_be_the_default_deployment_or_named_per_call(
    east: Emulator, west: Emulator
) -> None:
    c = routed(east, west)
    assert c.chat(HI).target == "gpt4o-a"
    assert c.chat(HI, model="gpt4o-b").target is None  # a plain deployment, not routed
    assert east.requests[-1].deployment == "gpt4o-b"


def test_route_config_from_toml(tmp_path: Path, east: Emulator, west: Emulator) -> None:
    cfg = tmp_path / "azoai.toml"
    cfg.write_text(
        f'endpoint = "{east.endpoint}"\ndeployment = "chat"\n[auth]\napi_key = "{east.api_key}"\n'
        f'[routes.chat]\nstrategy = "failover"\ncooldown = 1\n'
        f'targets = [{{deployment = "gpt4o-a"}}, {{deployment = "gpt4o", endpoint = "{west.endpoint}", api_key_env = "WEST_KEY"}}]\n'
    )
    s = Settings.build(config_file=cfg, env={"WEST_KEY": west.api_key})
    assert s.routes["chat"].cooldown == 1 and len(s.routes["chat"].targets) == 2
    assert west.api_key not in repr(s.routes["chat"].targets[1])
    east.inject("gpt4o-a", Fault.status(503))
    assert Client(s).chat(HI).target.endswith("/gpt4o")


@pytest.mark.parametrize(
    ("routes", "message"),
    [
        ({"chat": {"strategy": "random", "targets": ["a"]}}, "strategy 'random' is not valid"),
        ({"chat": {"targets": []}}, "targets must be a non-empty list"),
        (
            {"chat": {"targets": [{"deployment": "a", "weight": 0}]}},
            "weight must be a positive number",
        ),
        (
            {"chat": {"targets": [{"deployment": "a", "api_key_env": "MISSING"}]}},
            "MISSING, which is not set",
        ),
        ({"chat": {"targets": [{"deploy": "a"}]}}, "unknown key"),
        ({"chat": "a"}, "must be a table"),
        (
            {
                "chat": {
                    "targets": [
                        {"base_url": "https://api.openai.com/v1", "model": "m", "api_key": "k"},
                        "a",
                    ]
                }
            },
            "can only be the last target",
        ),
        (
            {"chat": {"targets": ["a", {"base_url": "https://api.openai.com/v1", "api_key": "k"}]}},
            "needs model",
        ),
        (
            {"chat": {"targets": ["a", {"base_url": "https://api.openai.com/v1", "model": "m"}]}},
            "needs its own key",
        ),
        (
            {"chat": {"targets": ["a", {"base_url": "http://gw.example/v1", "model": "m"}]}},
            "http:// on a non-loopback host",
        ),
    ],
)
def test_route_config_errors(routes: dict[str, object], message: str) -> None:
    with pytest.raises(E.ConfigError, match=message):
        Settings.build(
            endpoint="https://r.openai.azure.com",
            api_key="k",
            routes=routes,
            env={},
            config_file="",
        )


def test_a_key_for_one_resource_is_not_sent_to_another(east: Emulator, west: Emulator) -> None:
    c = Client(
        endpoint=east.endpoint,
        api_key=east.api_key,
        routes={
            "chat": {"targets": ["gpt4o-a", {"deployment": "gpt4o", "endpoint": west.endpoint}]}
        },
        env={},
        config_file="",
    )
    with pytest.raises(E.ConfigError, match="an API key belongs to one resource"):
        c.chat(HI, model="chat")


def test_routes_fail_over_across_regions_over_websocket_too(east: Emulator, west: Emulator) -> None:
    """transport="websocket" with a route: each target keeps its own socket (with its own
    region's key), a failing region's error moves the call on, and close() closes them all."""
    c = Client(
        endpoint=east.endpoint,
        api_key=east.api_key,
        deployment="chat",
        api="responses",
        transport="websocket",
        retry=FAST,
        routes={
            "chat": {
                "targets": [
                    "gpt4o-a",
                    {"deployment": "gpt4o", "endpoint": west.endpoint, "api_key_env": "WEST_KEY"},
                ]
            }
        },
        env={"WEST_KEY": west.api_key},
        config_file="",
    )
    try:
        assert "Lisbon" in c.chat(HI).text  # east serves over its socket
        east.inject("gpt4o-a", Fault.status(503, count=None))
        r = c.chat(HI)
        assert r.target is not None and r.target.endswith("/gpt4o") and "Lisbon" in r.text
        assert [q.method for q in west.requests] == ["GET", "WS"]  # handshake, then the call
        assert west.requests[0].headers["api-key"] == "***"
    finally:
        c.close()
    deadline = time.monotonic() + 5
    while (east.websockets_open or west.websockets_open) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert east.websockets_open == west.websockets_open == 0


def test_an_openai_compatible_api_is_the_last_fallback_with_its_own_key(
    east: Emulator, west: Emulator
) -> None:
    """A non-Azure OpenAI-compatible API (here the west emulator's /openai/v1 root, which takes
    its key as a bearer token as OpenAI does) serves only when every Azure target failed or is
    cooling, and gets its own key: never the Azure caller's Entra token."""
    c = Client(
        endpoint=east.endpoint,
        token_provider=east.issue_token,  # Entra ID for Azure
        deployment="chat",
        retry=FAST,
        routes={
            "chat": {
                "strategy": "weighted",
                "targets": [
                    "gpt4o-a",
                    "gpt4o-b",
                    {
                        "base_url": f"{west.endpoint}/openai/v1",
                        "model": "gpt-4o",
                        "api_key_env": "OPENAI_API_KEY",
                        "name": "openai",
                    },
                ],
            }
        },
        env={"OPENAI_API_KEY": west.api_key},
        config_file="",
    )
    served = collections.Counter(c.chat(HI).target for _ in range(20))
    assert served["openai"] == 0 and west.requests == []  # healthy Azure targets come first
    east.inject("*", Fault.status(503, count=None))
    r = c.chat(HI)
    assert r.target == "openai" and "Lisbon" in r.text
    (sent,) = west.requests
    assert (sent.path, sent.query, sent.status) == ("/openai/v1/chat/completions", {}, 200)
    assert sent.body is not None and sent.body["model"] == "gpt-4o"
    assert "api-key" not in sent.headers and sent.headers["authorization"] == "***"
    deltas = list(c.stream(HI))  # streams fall back the same way
    assert deltas[0].target == "openai" and "Lisbon" in "".join(d.text for d in deltas)
    c.close()
