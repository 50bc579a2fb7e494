"""The README and the code agree: environment variables, the CI test command, the quickstart."""

from __future__ import annotations

import re
from pathlib import Path

from azoai.settings import ENV_VARS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_env_table_matches_the_code() -> None:
    table = README.split("<!-- env-table")[1].split("<!-- /env-table -->")[0]
    documented = re.findall(r"^\| `([A-Z0-9_]+)` \|", table, re.M)
    assert documented == list(ENV_VARS), "README env table and azoai.settings.ENV_VARS differ"


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
