"""Where the OpenAPI specs come from: every checkout validates, and a missing or different spec
fails the test rather than skipping it."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from emu_spec import DIGESTS, ENV_VAR, PACKAGE, PREVIEW, STABLE, locate

HERE = Path(__file__).resolve().parent


def _package_bytes(name: str) -> bytes:
    return locate(name, env={}, sibling=Path("/nonexistent-azoai-spec-dir")).data


@pytest.fixture
def spec_dir(tmp_path: Path) -> Path:
    """A directory holding true copies of both specs."""
    for name in (STABLE, PREVIEW):
        (tmp_path / name).write_bytes(_package_bytes(name))
    return tmp_path


@pytest.mark.parametrize("name", [STABLE, PREVIEW])
def test_without_the_sibling_directory_the_package_supplies_the_spec(
    name: str, tmp_path: Path
) -> None:
    spec = locate(name, env={}, sibling=tmp_path / "absent")
    assert spec.origin.startswith(f"{PACKAGE}:")
    assert hashlib.sha256(spec.data).hexdigest() == DIGESTS[name]


def test_the_sibling_directory_comes_before_the_package(spec_dir: Path) -> None:
    assert locate(STABLE, env={}, sibling=spec_dir).origin == str(spec_dir / STABLE)


def test_the_environment_variable_comes_first(spec_dir: Path, tmp_path: Path) -> None:
    spec = locate(PREVIEW, env={ENV_VAR: str(spec_dir)}, sibling=tmp_path / "absent")
    assert spec.origin.startswith(str(spec_dir / PREVIEW))
    assert ENV_VAR in spec.origin


def test_an_environment_variable_naming_a_missing_directory_fails() -> None:
    with pytest.raises(pytest.fail.Exception, match=f"{ENV_VAR}='/nonexistent'"):
        locate(STABLE, env={ENV_VAR: "/nonexistent"})


def test_no_spec_anywhere_fails_and_says_what_was_tried(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception) as failed:
        locate(STABLE, env={}, sibling=tmp_path / "absent", package="azoai_no_such_spec_package")
    message = str(failed.value)
    assert "not found" in message
    assert str(tmp_path / "absent" / STABLE) in message
    assert "azoai_no_such_spec_package" in message


def test_a_different_file_never_validates(spec_dir: Path) -> None:
    path = spec_dir / STABLE
    path.write_bytes(path.read_bytes().replace(b'"2024-10-21"', b'"2099-01-01"', 1))
    with pytest.raises(pytest.fail.Exception, match="sha256"):
        locate(STABLE, env={ENV_VAR: str(spec_dir)})
    with pytest.raises(pytest.fail.Exception, match="sha256"):
        locate(STABLE, env={}, sibling=spec_dir)


def test_a_validating_test_fails_not_skips_when_the_spec_is_missing(tmp_path: Path) -> None:
    """End to end, in a separate pytest run: a test that validates is reported as failed."""
    test_file = tmp_path / "test_uses_spec.py"
    test_file.write_text(
        textwrap.dedent(
            """
            from emu_spec import STABLE, validate

            def test_validates():
                validate({"role": "assistant", "content": "hi"}, "chatCompletionResponseMessage", spec=STABLE)
            """
        )
    )
    env = {
        **os.environ,
        ENV_VAR: "/nonexistent",
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    }
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rfs", "-p", "no:cacheprovider", str(test_file)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 failed" in run.stdout
    assert "skipped" not in run.stdout
    assert f"{ENV_VAR}='/nonexistent' is set" in run.stdout
