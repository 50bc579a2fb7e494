"""`azoai doctor` and `azoai deployments` against the emulator: explanations, pass/fail lines,
one-line fixes, exit codes, JSON, and no secret in any output."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from azoai.cli import main
from azoai_emulator import Emulator, EmulatorDeployment, Fault


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as e:
        yield e


@pytest.fixture(autouse=True)
def _env(emu: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    emu.reset()
    for name in (
        "AZURE_OPENAI_ENDPOINT",
        "AZURE_OPENAI_API_KEY",
        "AZURE_OPENAI_DEPLOYMENT",
        "OPENAI_API_VERSION",
        "AZURE_OPENAI_API_VERSION",
        "AZOAI_CONFIG",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray ./azoai.toml
    monkeypatch.setenv("COLUMNS", "200")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out + out.err


def test_doctor_passes_and_explains_sources(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", emu.endpoint)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", emu.api_key)
    code, out = run(capsys, "doctor", "--deployment", "chat", "--check", "chat", "--check", "embed")
    assert code == 0, out
    assert (
        "env AZURE_OPENAI_ENDPOINT" in out
        and "env AZURE_OPENAI_API_KEY" in out
        and "argument" in out
    )
    assert (
        "PASS  call chat: chat: gpt-4o" in out
        and "PASS  call embed: embeddings: 1536 dimensions" in out
    )
    assert "WARN  model chat" in out and "set model='gpt-4o'" in out
    assert emu.api_key not in out


def test_doctor_fails_with_a_fix_and_exit_code(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", emu.endpoint)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", emu.api_key)
    emu.inject("chat-mini", Fault.rate_limit(retry_after_ms=86_400_000))
    code, out = run(capsys, "doctor", "--check", "nope", "--check", "chat-mini")
    assert code == 1
    assert (
        "FAIL  call nope: Deployment 'nope' not found" in out
        and "[deployment 'nope', route v1" in out
    )
    assert "fix: the deployment does not exist" in out
    assert "FAIL  call chat-mini" in out and "quota is used up" in out


def test_doctor_json(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", emu.endpoint)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", emu.api_key)
    code, out = run(capsys, "doctor", "--json", "--check", "reasoner")
    report = json.loads(out)
    assert code == 0 and report["ok"] is True
    assert report["config"]["sources"]["api_key"] == "env AZURE_OPENAI_API_KEY"
    assert [c["name"] for c in report["checks"]][:3] == ["configuration", "token", "discovery"]
    row = report["deployments"][0]
    assert row["model"].startswith("o3-mini") and any("dropped" in r for r in row["rules"])
    assert emu.api_key not in out


def test_doctor_reports_configuration_errors(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "doctor")
    assert code == 1 and "FAIL  configuration: no endpoint" in out


def test_doctor_with_managed_identity_shows_scope_and_expiry_not_the_token(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", emu.endpoint)
    monkeypatch.setenv("AZURE_USE_MANAGED_IDENTITY", "true")
    monkeypatch.setenv("IDENTITY_ENDPOINT", emu.identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", emu.identity_header)
    code, out = run(capsys, "doctor", "--json", "--deployment", "chat")
    report = json.loads(out)
    token = next(c for c in report["checks"] if c["name"] == "token")
    assert code == 0 and token["status"] == "pass"
    assert (
        "https://cognitiveservices.azure.com/.default" in token["detail"]
        and "minutes" in token["detail"]
    )
    assert "eyJ" not in out  # no JWT in the output


def test_deployments_lists_discovered_deployments_with_rules(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    deps = [
        EmulatorDeployment("gpt4o", model="gpt-4o"),
        EmulatorDeployment("think", model="gpt-5-mini"),
        EmulatorDeployment("emb", model="text-embedding-3-large"),
    ]
    with Emulator(deps) as emu:
        monkeypatch.setenv("IDENTITY_ENDPOINT", emu.identity_endpoint)
        monkeypatch.setenv("IDENTITY_HEADER", emu.identity_header)
        cfg = tmp_path / "azoai.toml"
        cfg.write_text(
            f'endpoint = "{emu.endpoint}"\n[auth]\nmode = "managed_identity"\n'
            f'[discovery]\nsubscription_id = "{emu.subscription_id}"\nresource_group = "{emu.resource_group}"\n'
            f'account = "{emu.account}"\narm_host = "{emu.arm_endpoint}"\n'
        )
        code, out = run(capsys, "deployments", "--config", str(cfg), "--json")
        assert code == 0, out
        rows = {r["name"]: r for r in json.loads(out)["deployments"]}
        assert rows["think"]["model"] == "gpt-5-mini" and any(
            "dropped" in r for r in rows["think"]["rules"]
        )
        assert rows["emb"]["kind"] == "embedding" and "3072 dimensions" in rows["emb"]["rules"][0]
        code, out = run(capsys, "deployments", "--config", str(cfg))
        # piped (as here), the table is tab-separated under a header line
        assert code == 0 and "gpt-5-mini" in out and out.startswith("deployment\tmodel\t")


def test_doctor_calls_every_route_target_with_its_own_credentials(
    emu: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    with Emulator(region="West US", api_key="west-key-123") as west:
        monkeypatch.setenv("WEST_KEY", west.api_key)
        cfg = tmp_path / "routes.toml"
        cfg.write_text(
            f'endpoint = "{emu.endpoint}"\ndeployment = "chat"\n[auth]\napi_key = "{emu.api_key}"\n'
            "[routes.pool]\n"
            f'targets = ["chat-mini", "nope", {{deployment = "chat", endpoint = "{west.endpoint}", '
            'api_key_env = "WEST_KEY", name = "west"}]\n'
        )
        code, out = run(capsys, "doctor", "--config", str(cfg))
        assert code == 1, out  # one target is broken
        assert "PASS  route pool -> chat-mini: chat: gpt-4o-mini" in out
        assert "PASS  route pool -> west: chat: gpt-4o-2024-11-20 in West US" in out
        assert "FAIL  route pool -> nope: Deployment 'nope' not found" in out
        assert west.requests[-1].headers["api-key"] == "***"  # its own key, redacted in its log
        assert west.api_key not in out and emu.api_key not in out
