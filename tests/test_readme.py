"""The README and the code agree: environment variables, the CI test command, the quickstart."""

from __future__ import annotations

import re
from pathlib import Path

from azoai.config.settings import ENV_VARS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_env_table_matches_the_code() -> None:
    table = README.split("<!-- env-table")[1].split("<!-- /env-table -->")[0]
    documented = re.findall(r"^\| `([A-Z0-9_]+)` \|", table, re.M)
    assert documented == list(ENV_VARS), (
        "README env table and azoai.config.settings.ENV_VARS differ"
    )


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    command = re.search(r"^TEST_COMMAND='(.+)'$", ci, re.M)
    assert command, "TEST_COMMAND not found in .ci/run"
    assert f"```bash\n{command.group(1)}\n```" in README


def test_quickstart_demo_command_is_present() -> None:
    assert (
        '```bash\npython3 -m venv .venv && .venv/bin/pip install -q ".[all]" && .venv/bin/azoai demo\n```'
        in README
    )


# --- every code block in the README runs against the emulator ------------------------------------

import tomllib  # noqa: E402
from collections.abc import Iterator  # noqa: E402

import pytest  # noqa: E402

from azoai.config.settings import Settings  # noqa: E402
from azoai_emulator import DEFAULT_DEPLOYMENTS, Emulator, EmulatorDeployment  # noqa: E402

PLACEHOLDER_ENDPOINT = "https://myres.openai.azure.com"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, re.S)


@pytest.fixture(scope="module")
def readme_emu() -> Iterator[Emulator]:
    extra = [
        EmulatorDeployment("prod-4o", model="gpt-4o"),
        EmulatorDeployment("gpt-4o-mini-deployment", model="gpt-4o-mini"),
        EmulatorDeployment("o4-mini", model="o4-mini"),
        EmulatorDeployment("text-embedding-3-small", model="text-embedding-3-small"),
    ]
    with Emulator([*DEFAULT_DEPLOYMENTS, *extra]) as emu:
        yield emu


def test_every_python_block_runs_against_the_emulator(
    readme_emu: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in (
        "AZOAI_CONFIG",
        "OPENAI_API_VERSION",
        "AZURE_OPENAI_API_VERSION",
        "AZURE_OPENAI_DEPLOYMENT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", readme_emu.endpoint)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", readme_emu.api_key)
    monkeypatch.setenv("IDENTITY_ENDPOINT", readme_emu.identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", readme_emu.identity_header)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "readme"}
    blocks = _blocks("python")
    assert len(blocks) >= 6
    for i, block in enumerate(blocks):
        code = block.replace(PLACEHOLDER_ENDPOINT, readme_emu.endpoint).replace(
            'api_key="..."', f'api_key="{readme_emu.api_key}"'
        )
        try:
            exec(compile(code, f"README.md python block {i}", "exec"), namespace)
        except Exception as exc:
            raise AssertionError(f"README python block {i} failed:\n{block}") from exc
    # The pytest example defines tests: run them for real against their own emulators.
    for test_name in ("test_my_summariser", "test_retries_on_throttling"):
        fn = namespace[test_name]
        with Emulator() as emu:
            fn(emu)  # type: ignore[operator]


def test_every_toml_block_is_a_valid_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY_WEST", "west-key")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fallback")
    blocks = _blocks("toml")
    assert blocks
    for i, block in enumerate(blocks):
        data = tomllib.loads(block)
        path = tmp_path / f"block{i}.toml"
        if "endpoint" not in data:  # a fragment: complete it the way the surrounding text says
            block = f'endpoint = "{PLACEHOLDER_ENDPOINT}"\n[auth]\napi_key = "k"\n' + block
        path.write_text(block)
        Settings.build(config_file=path)
