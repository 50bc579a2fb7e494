"""Fault parsing and bookkeeping, token buckets, tokens and configuration, without a server."""

from __future__ import annotations

from pathlib import Path

import pytest
from emu_helpers import FakeClock

from azoai.io.auth import jwt_expiry
from azoai_emulator import DEFAULT_DEPLOYMENTS, EmulatorDeployment, Fault, load_config
from azoai_emulator.faults import FaultBook
from azoai_emulator.identity import TokenIssuer
from azoai_emulator.ratelimit import RateLimiter


def test_fault_header_syntax() -> None:
    faults = Fault.parse(
        "status=500,retry_after_ms=200; rate_limit=2000; paused; latency=0.5,per_token=0.01; cut_stream=3;"
        " close_connection; content_filter=completion,category=hate,after_chunks=2"
    )
    assert faults == [
        Fault.status(500, retry_after_ms=200),
        Fault.rate_limit(retry_after_ms=2000),
        Fault.paused(count=1),
        Fault.latency(0.5, per_token=0.01, count=1),
        Fault.cut_stream(3),
        Fault.close_connection(),
        Fault.content_filter("completion", "hate", after_chunks=2),
    ]
    assert Fault.parse("content_filter") == [Fault.content_filter("prompt", "violence")]
    assert Fault.parse("status=429") == [Fault.rate_limit(retry_after_ms=1000)]


@pytest.mark.parametrize(
    "header",
    [
        "explode",
        "status",
        "status=abc",
        "status=200",
        "latency",
        "cut_stream=-1",
        "content_filter=middle",
        "content_filter=prompt,category=protected_material_text",
        "paused,extra=1",
        "status=500,oops",
    ],
)
def test_bad_fault_headers_are_rejected(header: str) -> None:
    with pytest.raises(ValueError):
        Fault.parse(header)


def test_fault_counts_and_precedence() -> None:
    book = FaultBook()
    book.add("chat", Fault.cut_stream(2))
    book.add("chat", Fault.status(503, count=2))
    book.add("*", Fault.latency(0.1))
    first = book.take("chat", operation="chat", stream=True)
    # the error wins; the stream fault stays for a later request; latency always applies
    assert first.terminal == Fault.status(503, count=2)
    assert first.cut_after is None
    assert first.latency == pytest.approx(0.1)
    assert book.take("chat", operation="chat", stream=True).terminal is not None
    third = book.take("chat", operation="chat", stream=True)
    assert third.terminal is None
    assert third.cut_after == 2
    assert book.take("chat", operation="chat", stream=True).cut_after is None
    assert book.pending["*"] == [Fault.latency(0.1)]  # count=None: until cleared


def test_faults_only_apply_where_they_make_sense() -> None:
    book = FaultBook()
    book.add("embed", Fault.cut_stream())
    book.add("embed", Fault.content_filter("completion"))
    applied = book.take("embed", operation="embeddings", stream=False)
    assert applied.cut_after is None
    assert applied.completion_filter is None
    assert len(book.pending["embed"]) == 2


def test_token_buckets_refill_continuously() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock)
    assert limiter.acquire("d", rpm=2, tpm=1000, tokens=600).allowed
    refused = limiter.acquire("d", rpm=2, tpm=1000, tokens=600)
    assert not refused.allowed
    assert refused.kind == "token"
    assert refused.wait == pytest.approx(200 / (1000 / 60))
    assert refused.remaining_tokens == 400
    clock.advance(refused.wait)
    second = limiter.acquire("d", rpm=2, tpm=1000, tokens=600)
    assert second.allowed
    assert second.remaining_requests == 0
    calls = limiter.acquire("d", rpm=2, tpm=1000, tokens=0)
    assert (calls.allowed, calls.kind) == (False, "call")
    never = limiter.acquire("other", rpm=2, tpm=1000, tokens=5000)
    assert never.wait == 86400


def test_tokens_are_jwt_shaped_and_checked() -> None:
    clock = FakeClock()
    issuer = TokenIssuer(clock=clock, lifetime=60)
    token, expires = issuer.mint()
    assert token.count(".") == 2
    assert jwt_expiry(token) == expires == int(clock.now) + 60
    assert issuer.check(token)[1] == "ok"
    assert issuer.check(token[:-2] + "xx")[1] == "invalid"
    assert TokenIssuer(clock=clock).check(token)[1] == "invalid"  # another emulator's secret
    clock.advance(60)
    assert issuer.check(token)[1] == "expired"


def test_toml_config(tmp_path: Path) -> None:
    path = tmp_path / "deployments.toml"
    path.write_text(
        'api_key = "k"\ntoken_lifetime = 5\n\n[[deployments]]\nname = "c"\nmodel = "gpt-4o"\ntpm = 2000\n'
        'blocklist = ["x"]\n\n[[deployments]]\nname = "e"\nmodel = "text-embedding-3-small"\nstate = "Failed"\n'
    )
    config = load_config(path)
    assert config.api_key == "k"
    assert config.token_lifetime == 5.0
    assert config.deployments == (
        EmulatorDeployment("c", model="gpt-4o", tpm=2000, blocklist=("x",)),
        EmulatorDeployment("e", model="text-embedding-3-small", state="Failed"),
    )
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    assert load_config(empty).deployments == DEFAULT_DEPLOYMENTS


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour = 1", "unknown setting"),
        ('[[deployments]]\nname = "a"', "needs name and model"),
        ('[[deployments]]\nname = "a"\nmodel = "m"\nspeed = 1', "unknown key"),
        (
            '[[deployments]]\nname = "a"\nmodel = "m"\n[[deployments]]\nname = "a"\nmodel = "m"',
            "duplicate",
        ),
        ('[[deployments]]\nname = "a"\nmodel = "m"\nstate = "Sleeping"', "state"),
        ("not toml =", "deployments.toml"),
    ],
)
def test_bad_toml_config_names_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "deployments.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_config(path)


def test_deployment_derived_values() -> None:
    d = EmulatorDeployment("chat", model="gpt-4o", tpm=30_000)
    assert d.requests_per_minute == 180
    assert d.response_model == "gpt-4o-2024-11-20"
    assert (
        EmulatorDeployment("e", model="text-embedding-3-small").response_model
        == "text-embedding-3-small"
    )
    with pytest.raises(ValueError, match="no '/'"):
        EmulatorDeployment("a/b", model="gpt-4o")
