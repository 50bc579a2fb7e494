"""Starting and stopping, the pytest fixture, the CLI, and cheap imports."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from azoai_emulator import DEFAULT_DEPLOYMENTS, Emulator, EmulatorDeployment
from azoai_emulator.__main__ import main


def _emulator_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("azoai-emulator")]


def _refused(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_start_and_stop_are_fast_and_leave_nothing_behind() -> None:
    before = len(_emulator_threads())
    emu = Emulator(deployments=[EmulatorDeployment("chat", model="gpt-4o")])
    t0 = time.perf_counter()
    emu.start()
    started = time.perf_counter() - t0
    assert emu.running
    assert emu.endpoint == f"http://127.0.0.1:{emu.port}"
    with httpx.Client() as client:  # a keep-alive connection stays open across stop()
        r = client.get(f"{emu.endpoint}/openai/v1/models", headers={"api-key": emu.api_key})
        assert r.status_code == 200
        t0 = time.perf_counter()
        emu.stop()
        stopped = time.perf_counter() - t0
    assert started < 1.0
    assert stopped < 1.0
    assert not emu.running
    assert len(_emulator_threads()) == before
    assert _refused(emu.port)
    emu.stop()  # idempotent


@pytest.mark.parametrize("stream", [False, True])
def test_stop_does_not_wait_for_simulated_time(
    stream: bool, caplog: pytest.LogCaptureFixture
) -> None:
    slow = EmulatorDeployment(
        "slow", model="gpt-4o", latency=0 if stream else 5, token_latency=5 if stream else 0
    )
    emu = Emulator(deployments=[slow]).start()
    outcome: list[object] = []

    def call() -> None:
        try:
            outcome.append(
                httpx.post(
                    f"{emu.endpoint}/openai/v1/chat/completions",
                    headers={"api-key": emu.api_key},
                    json={
                        "model": "slow",
                        "messages": [{"role": "user", "content": "hi"}],
                        "stream": stream,
                    },
                    timeout=30,
                )
            )
        except httpx.HTTPError as exc:
            outcome.append(exc)

    client = threading.Thread(target=call)
    client.start()
    while not emu.requests:
        time.sleep(0.01)
    t0 = time.perf_counter()
    emu.stop()
    assert time.perf_counter() - t0 < 1.0
    client.join(timeout=5)
    assert isinstance(outcome[0], httpx.RemoteProtocolError)
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_restart_and_fixed_port() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    emu = Emulator(port=port)
    with emu:
        assert emu.port == port
    with emu:  # the same object starts again on the same port
        assert (
            httpx.get(
                f"{emu.endpoint}/openai/v1/models", headers={"api-key": emu.api_key}
            ).status_code
            == 200
        )
    with pytest.raises(OSError), Emulator(port=port) as a, Emulator(port=a.port):
        pass


def test_not_started_and_double_start() -> None:
    emu = Emulator()
    with pytest.raises(RuntimeError, match="not been started"):
        _ = emu.endpoint
    with emu, pytest.raises(RuntimeError, match="already running"):
        emu.start()
    with pytest.raises(ValueError, match="duplicate"):
        Emulator(deployments=[EmulatorDeployment("a", model="gpt-4o")] * 2)


def test_fixture_yields_a_running_emulator_with_the_defaults(azoai_emulator: Emulator) -> None:
    assert azoai_emulator.running
    assert azoai_emulator.deployments == DEFAULT_DEPLOYMENTS
    names = {d.name: d.model for d in azoai_emulator.deployments}
    assert names["chat"] == "gpt-4o"
    assert names["chat-mini"] == "gpt-4o-mini"
    assert names["reasoner"] == "o3-mini"
    assert names["embed"] == "text-embedding-3-small"


@pytest.mark.azoai_emulator(deployments=[EmulatorDeployment("only", model="gpt-4o")], api_key="k-1")
def test_marker_configures_the_fixture(azoai_emulator: Emulator) -> None:
    assert [d.name for d in azoai_emulator.deployments] == ["only"]
    assert azoai_emulator.api_key == "k-1"


def test_plugin_is_registered_through_the_entry_point(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.pluginmanager.has_plugin("azoai")


def test_imports_stay_light() -> None:
    code = (
        "import sys, azoai_emulator.pytest_plugin;"
        "assert not [m for m in sys.modules if m.startswith(('starlette', 'uvicorn', 'azoai_emulator.'))"
        " and m != 'azoai_emulator.pytest_plugin'];"
        "from azoai_emulator import Emulator, Fault;"
        "assert not [m for m in sys.modules if m.startswith(('starlette', 'uvicorn'))]"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_cli_runs_for_a_duration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "deployments.toml"
    config.write_text(
        'api_key = "cli-key"\n[[deployments]]\nname = "mine"\nmodel = "gpt-4o-mini"\n'
    )
    assert main(["--port", "0", "--config", str(config), "--duration", "0.05"]) == 0
    out = capsys.readouterr().out
    assert "listening on http://127.0.0.1:" in out
    assert "AZURE_OPENAI_API_KEY=cli-key" in out
    assert "mine (gpt-4o-mini)" in out


def test_cli_reports_bad_configuration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[[deployments]]\nname = 1\n")
    assert main(["--config", str(config), "--duration", "0"]) == 2
    assert "needs name and model" in capsys.readouterr().err
    assert main(["--config", str(tmp_path / "missing.toml"), "--duration", "0"]) == 2


def test_python_dash_m_entry_point(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "azoai_emulator", "--duration", "0.01"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "listening on" in result.stdout
