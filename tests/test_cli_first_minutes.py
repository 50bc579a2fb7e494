"""The command line as a new user meets it (issue 21): the installed ``azoai`` command run in a
subprocess, against the emulator over loopback. A bare command, the demo's choice of backend,
deployments that were not verified, the emulator's discovery values, whole names at 80 columns,
plain tab-separated output when piped, ``--json``, fix lines that say what to change (a TOML
error's file, line and column), and flag names in messages."""

from __future__ import annotations

import json
import os
import re
import select
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from azoai_emulator import Emulator

AZOAI = Path(sys.executable).parent / "azoai"
LONG = "no-such-deployment-with-a-rather-long-name"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as e:
        yield e


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any Azure or azoai setting (a new user's shell), plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AZURE_", "OPENAI_", "AZOAI_", "IDENTITY_")) and k != "COLUMNS"
    }
    env.update(extra)
    return env


def azoai(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    assert AZOAI.exists(), f"the azoai command is not installed in {AZOAI.parent}"
    return subprocess.run(
        [str(AZOAI), *args],
        cwd=cwd,
        env=env if env is not None else clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def in_terminal(args: Sequence[str], *, cwd: Path, env: dict[str, str], columns: int) -> str:
    """Run ``args`` with a pseudo-terminal of ``columns`` columns as its stdout and stderr; the
    output with colours removed."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    proc = subprocess.Popen(
        list(args), cwd=cwd, env={**env, "TERM": "xterm"}, stdout=slave, stderr=slave
    )
    os.close(slave)
    out = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    proc.wait(timeout=10)
    os.close(master)
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.decode(errors="replace"))


# --- a bare command -----------------------------------------------------------------------------


def test_bare_azoai_prints_usage_and_exits_2(tmp_path: Path) -> None:
    r = azoai(cwd=tmp_path)
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.startswith("usage: azoai") and "demo" in r.stderr and "doctor" in r.stderr
    assert "azoai demo" in r.stderr.splitlines()[-1]


# --- the demo explains its backend --------------------------------------------------------------


def test_demo_with_an_azure_endpoint_set_says_why_and_how_to_use_the_emulator(
    tmp_path: Path,
) -> None:
    env = clean_env(
        AZURE_OPENAI_ENDPOINT="https://myres.openai.azure.com", AZURE_OPENAI_API_KEY="k"
    )
    r = azoai("demo", cwd=tmp_path, env=env)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "uses Azure because AZURE_OPENAI_ENDPOINT is set" in r.stderr
    assert "--chat-deployment" in r.stderr and "azoai demo --emulator" in r.stderr
    assert "Traceback" not in r.stderr


def test_demo_emulator_banner_is_true_when_azure_is_configured(tmp_path: Path) -> None:
    env = clean_env(
        AZURE_OPENAI_ENDPOINT="https://myres.openai.azure.com", AZURE_OPENAI_API_KEY="k"
    )
    r = azoai("demo", "--emulator", cwd=tmp_path, env=env, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    banner = r.stdout.splitlines()[0]
    assert banner.startswith("Using the built-in Azure OpenAI emulator")
    assert "no Azure endpoint configured" not in r.stdout
    assert "--emulator given" in banner and "AZURE_OPENAI_ENDPOINT is set" in banner
    assert r.stdout.rstrip().endswith("Done.")


def test_demo_without_azure_says_how_to_use_a_resource(tmp_path: Path) -> None:
    r = azoai("demo", cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    banner = r.stdout.splitlines()[0]
    assert "no Azure endpoint configured" in banner and "AZURE_OPENAI_ENDPOINT" in banner


# --- deployments: configured is not verified ------------------------------------------------------


def test_deployments_without_discovery_are_configured_not_verified(
    emu: Emulator, tmp_path: Path
) -> None:
    env = clean_env(AZURE_OPENAI_API_KEY=emu.api_key)
    r = azoai(
        "deployments", "--endpoint", emu.endpoint, "--deployment", LONG, cwd=tmp_path, env=env
    )
    assert r.returncode == 0, r.stderr
    # piped: a tab-separated table, a header and one line per deployment, names whole
    header, row = r.stdout.splitlines()
    assert header.split("\t")[:7] == [
        "deployment",
        "model",
        "version",
        "kind",
        "sku",
        "capacity",
        "state",
    ]
    fields = row.split("\t")
    assert fields[0] == LONG and fields[1] == "unknown" and fields[6] == "configured, not verified"
    assert "Succeeded" not in r.stdout and "?" not in fields[:7]
    # the notes go to stderr: what "not verified" means and how to turn discovery on
    assert "configured, not verified" in r.stderr
    assert "--subscription-id" in r.stderr and "--resource-group" in r.stderr

    r = azoai(
        "deployments",
        "--endpoint",
        emu.endpoint,
        "--deployment",
        LONG,
        "--json",
        cwd=tmp_path,
        env=env,
    )
    report = json.loads(r.stdout)
    [dep] = report["deployments"]
    assert dep["verified"] is False and dep["state"] == "configured, not verified"
    assert dep["model"] is None and any("--subscription-id" in n for n in report["notes"])


def test_doctor_marks_a_deployment_by_its_call(emu: Emulator, tmp_path: Path) -> None:
    env = clean_env(AZURE_OPENAI_API_KEY=emu.api_key)
    r = azoai(
        "doctor",
        "--endpoint",
        emu.endpoint,
        "--check",
        "chat",
        "--check",
        LONG,
        "--json",
        cwd=tmp_path,
        env=env,
    )
    rows = {d["name"]: d for d in json.loads(r.stdout)["deployments"]}
    assert rows["chat"]["state"] == "answered a call" and rows["chat"]["verified"] is True
    assert rows[LONG]["state"] == "not found" and rows[LONG]["verified"] is False


def test_the_emulator_banner_gives_discovery_a_working_command(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [str(AZOAI), "emulator", "--duration", "60"],
        cwd=tmp_path,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while not lines or not lines[-1].strip().startswith("deployments:"):
            line = proc.stdout.readline()
            assert line, f"the emulator stopped: {proc.stderr.read() if proc.stderr else ''}"
            lines.append(line)
        banner = "".join(lines)
        discovery = next(x for x in lines if "deployment discovery:" in x)
        for key in ("subscription_id=", "resource_group=", "account=", "arm_host="):
            assert key in discovery
        example = next(x for x in lines if x.strip().startswith("e.g.")).split("e.g.", 1)[1]
        words = shlex.split(example)
        env = clean_env(**dict(w.split("=", 1) for w in words if "=" in w and w[0].isupper()))
        command = [w for w in words if not ("=" in w and w[0].isupper())]
        assert command[:2] == ["azoai", "deployments"], banner
        r = azoai(*command[1:], cwd=tmp_path, env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        rows = [line.split("\t") for line in r.stdout.splitlines()[1:]]
        assert {row[0]: row[1] for row in rows}["chat"] == "gpt-4o"
        assert all(row[6] == "Succeeded" for row in rows)  # listed by ARM, so verified
        assert "not verified" not in r.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_emulator_prints_json_for_scripts(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [str(AZOAI), "emulator", "--json", "--duration", "60"],
        cwd=tmp_path,
        env=clean_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        facts = json.loads(proc.stdout.readline())
        assert facts["endpoint"].startswith("http://127.0.0.1:")
        assert set(facts["discovery"]) == {
            "subscription_id",
            "resource_group",
            "account",
            "arm_host",
        }
        assert {"name": "chat", "model": "gpt-4o"} in facts["deployments"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# --- whole names at any width, plain when piped ---------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
@pytest.mark.parametrize("columns", [80, 200])
def test_names_are_whole_in_a_terminal_of_any_width(
    emu: Emulator, tmp_path: Path, columns: int
) -> None:
    env = clean_env(AZURE_OPENAI_API_KEY=emu.api_key)
    out = in_terminal(
        [str(AZOAI), "deployments", "--endpoint", emu.endpoint, "--deployment", LONG],
        cwd=tmp_path,
        env=env,
        columns=columns,
    )
    assert LONG in out and "configured, not verified" in out, out
    assert "…" not in out


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_doctor_in_a_narrow_terminal_keeps_every_name(emu: Emulator, tmp_path: Path) -> None:
    env = clean_env(AZURE_OPENAI_API_KEY=emu.api_key)
    out = in_terminal(
        [str(AZOAI), "doctor", "--endpoint", emu.endpoint, "--check", "chat", "--check", LONG],
        cwd=tmp_path,
        env=env,
        columns=80,
    )
    assert "…" not in out
    assert LONG in out.replace("\r\n", "") or LONG in out.replace("\n", "")


def test_doctor_piped_is_plain_and_unwrapped(emu: Emulator, tmp_path: Path) -> None:
    env = clean_env(AZURE_OPENAI_API_KEY=emu.api_key, COLUMNS="40")
    r = azoai("doctor", "--endpoint", emu.endpoint, "--check", LONG, cwd=tmp_path, env=env)
    assert "\x1b[" not in r.stdout and "…" not in r.stdout
    fail = next(line for line in r.stdout.splitlines() if line.startswith("FAIL"))
    assert fail.startswith(f"FAIL  call {LONG}: Deployment '{LONG}' not found")  # one line
    row = next(line for line in r.stdout.splitlines() if line.startswith(f"{LONG}\t"))
    assert row.split("\t")[1] == "unknown" and row.split("\t")[6] == "not found"  # the call said


def test_json_everywhere_a_table_is_printed(emu: Emulator, tmp_path: Path) -> None:
    env = clean_env(AZURE_OPENAI_API_KEY=emu.api_key)
    for args in (
        ("doctor", "--no-call", "--deployment", "chat"),
        ("deployments", "--deployment", "chat"),
        ("batch", "list", "--job-dir", str(tmp_path / "jobs")),
    ):
        r = azoai(*args, "--endpoint", emu.endpoint, "--json", cwd=tmp_path, env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        json.loads(r.stdout)


# --- fix lines and flag names ---------------------------------------------------------------------


def test_a_toml_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    cfg = tmp_path / "azoai.toml"
    cfg.write_text('endpoint = "https://myres.openai.azure.com"\napi = chat\n')
    r = azoai("doctor", cwd=tmp_path)
    assert r.returncode == 1
    fix = next(line for line in r.stdout.splitlines() if line.strip().startswith("fix:"))
    assert fix.strip() == "fix: edit azoai.toml, line 2, column 7: invalid value in `api = chat`"


def test_fix_lines_say_exactly_what_to_change(tmp_path: Path) -> None:
    r = azoai("doctor", "--endpoint", "http://example.com", cwd=tmp_path)
    assert "fix: change the --endpoint argument to https://<resource>.openai.azure.com" in r.stdout
    env = clean_env(AZURE_OPENAI_ENDPOINT="http://example.com")
    r = azoai("doctor", cwd=tmp_path, env=env)
    assert "fix: change AZURE_OPENAI_ENDPOINT to https://<resource>.openai.azure.com" in r.stdout
    r = azoai("doctor", "--endpoint", "https://myres.openai.azure.com", cwd=tmp_path)
    assert "fix: set AZURE_OPENAI_API_KEY to the resource's key" in r.stdout
    assert "fix: change " + "endpoint\n" not in r.stdout


def test_messages_name_the_flags_not_python_arguments(tmp_path: Path) -> None:
    r = azoai("doctor", cwd=tmp_path)
    assert "--endpoint" in r.stdout
    assert not re.search(r"(?<![\w-])endpoint=", r.stdout), r.stdout
    r = azoai(
        "doctor",
        "--endpoint",
        "https://myres.openai.azure.com",
        "--api-version",
        "2020-13-01",
        cwd=tmp_path,
        env=clean_env(AZURE_OPENAI_API_KEY="k"),
    )
    assert "--route='deployments'" in r.stdout and "--api-version" in r.stdout
    assert not re.search(r"(?<![\w-])(route|api_version)=", r.stdout), r.stdout
