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


def _headings() -> list[tuple[int, str, str]]:
    """Every heading outside code blocks: (level, text, GitHub's anchor for it, numbered -1,
    -2... after the first of a name)."""
    seen: dict[str, int] = {}
    out: list[tuple[int, str, str]] = []
    fenced = False
    for line in README.splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        m = None if fenced else re.match(r"(#{1,6}) (.+)", line)
        if m:
            base = re.sub(r"[^\w\- ]", "", m.group(2).replace("`", "").strip().lower())
            base = base.replace(" ", "-")
            n = seen.get(base, 0)
            seen[base] = n + 1
            out.append((len(m.group(1)), m.group(2).strip(), base if n == 0 else f"{base}-{n}"))
    return out


def test_the_table_of_contents_lists_every_section() -> None:
    contents = README.split("## Contents\n", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^- \[.+\]\(#([^)]+)\)$", contents, re.M)
    sections = [anchor for level, text, anchor in _headings() if level == 2 and text != "Contents"]
    assert listed == sections
    for must in (
        "architecture",
        "migrating-from-langchain-openai-and-llama-index",
        "langgraph-agents",
        "async",
        "logging",
        "proxies-and-private-endpoints",
        "observability-opentelemetry",
        "versioning-and-changelog",
    ):
        assert must in listed


def test_every_internal_link_leads_to_a_heading() -> None:
    anchors = {anchor for _, _, anchor in _headings()}
    links = set(re.findall(r"\]\(#([^)]+)\)", README))
    assert links and not links - anchors, f"links to no heading: {sorted(links - anchors)}"


def test_the_first_screen_gets_to_a_working_call() -> None:
    first_screen = "\n".join(README.splitlines()[:60])
    assert ".venv/bin/azoai demo" in first_screen and "python -m pytest" in first_screen
    assert "Emulator()" in first_screen and ".invoke(" in first_screen


def test_the_changelog_is_linked_and_has_the_unreleased_changes() -> None:
    assert "(CHANGELOG.md)" in README
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert changelog.startswith("# Changelog") and "## Unreleased" in changelog
    assert "(README.md#versioning-and-changelog)" in changelog


# --- every code block in the README runs against the emulator ------------------------------------

import os  # noqa: E402
import tomllib  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Iterator  # noqa: E402

import pytest  # noqa: E402

from azoai.config.settings import Settings  # noqa: E402
from azoai.errors import ConfigError  # noqa: E402
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
        EmulatorDeployment("gpt-35-turbo-instruct", model="gpt-35-turbo-instruct"),
        EmulatorDeployment("gpt-image-1", model="gpt-image-1"),
        # the audio section's deployments
        EmulatorDeployment("tts", model="tts"),
        EmulatorDeployment("tts-hd", model="tts-hd"),
        EmulatorDeployment("whisper", model="whisper"),
        # the Batch API section's Global Batch deployments
        EmulatorDeployment("gpt-4o-batch", model="gpt-4o", sku="GlobalBatch"),
        EmulatorDeployment("embed-batch", model="text-embedding-3-small", sku="GlobalBatch"),
    ]
    # fine-tuning jobs at the emulator's fast pace (the audio and fine-tuning section follows one)
    with Emulator([*DEFAULT_DEPLOYMENTS, *extra], fine_tuning_stage_seconds=0.01) as emu:
        yield emu


#: What a block's reader would have set in a shell: none of it may be needed, since every block
#: runs with these cleared (a block names its endpoint and credentials, or sets them itself).
HIDDEN = re.compile(r"^(AZURE_|OPENAI_|AZOAI_)")
_KEY = re.compile(r'(api_key\s*=\s*|\["AZURE_OPENAI_API_KEY"\]\s*=\s*)"\.\.\."')


def run_block(block: str, name: str, emu: Emulator) -> dict[str, object]:
    """Run one README block as a reader would paste it: a fresh namespace, no AZURE_*,
    OPENAI_* or AZOAI_* variable in the environment (only the platform's managed identity, as
    App Service provides it, points at the emulator), the placeholder endpoint and key made the
    emulator's. The environment is restored afterwards, whatever the block set."""
    code = _KEY.sub(lambda m: f'{m.group(1)}"{emu.api_key}"', block)
    code = code.replace(PLACEHOLDER_ENDPOINT, emu.endpoint)
    saved = dict(os.environ)
    for var in [v for v in os.environ if HIDDEN.match(v)]:
        del os.environ[var]
    os.environ["IDENTITY_ENDPOINT"] = emu.identity_endpoint
    os.environ["IDENTITY_HEADER"] = emu.identity_header
    namespace: dict[str, object] = {"__name__": "readme"}
    try:
        exec(compile(code, name, "exec"), namespace)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return namespace


def test_every_python_block_runs_alone_without_hidden_variables(
    readme_emu: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Each block runs as written, on its own (its imports and its connection in it), with no
    Azure variable from the environment, making no call that fails and raising no warning."""
    # what a developer's shell may well hold: none of it may reach a block
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", readme_emu.endpoint)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", readme_emu.api_key)
    monkeypatch.setenv("AZURE_OPENAI_DEPLOYMENT", "chat")
    monkeypatch.chdir(tmp_path)
    blocks = _blocks("python")
    assert len(blocks) >= 6
    namespaces = []
    for i, block in enumerate(blocks):
        readme_emu.clear_requests()
        where = f"README.md python block {i} (line {_line_of(block)})"
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                namespaces.append(run_block(block, where, readme_emu))
        except Exception as exc:
            raise AssertionError(f"{where} failed:\n{block}") from exc
        failed = [
            f"{r.method} {r.path} -> {r.status}"
            for r in readme_emu.requests
            if r.status is not None and r.status >= 400
        ]
        assert not failed, f"{where} made calls that failed: {failed}"
        ours = [
            f"{w.category.__name__}: {w.message}"
            for w in caught
            if "azoai" in str(w.filename) or "azoai" in str(w.message)
        ]
        assert not ours, f"{where} raised warnings: {ours}"
    # The pytest example defines tests: run them for real against their own emulators.
    tests = {k: v for ns in namespaces for k, v in ns.items() if k.startswith("test_")}
    for test_name in ("test_my_summariser", "test_retries_on_throttling"):
        with Emulator() as emu:
            tests[test_name](emu)  # type: ignore[operator]


def test_the_block_runner_fails_a_block_that_needs_a_hidden_variable(
    readme_emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", readme_emu.endpoint)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", readme_emu.api_key)
    hidden = (
        "from langchain_azoai import AzureChatOpenAI\n\n"
        'AzureChatOpenAI(azure_deployment="chat").invoke("Hello")\n'
    )
    with pytest.raises(ConfigError, match="no endpoint"):
        run_block(hidden, "a block with a hidden endpoint", readme_emu)
    without_import = 'AzureChatOpenAI(azure_endpoint="https://myres.openai.azure.com")\n'
    with pytest.raises(NameError, match="AzureChatOpenAI"):
        run_block(without_import, "a block without its import", readme_emu)
    assert os.environ["AZURE_OPENAI_ENDPOINT"] == readme_emu.endpoint  # restored


def _line_of(block: str) -> int:
    return README[: README.index(block)].count("\n") + 1


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
