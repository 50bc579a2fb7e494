"""Extras that fit how people install (issue 21): the doctor with any framework extra, a missing
extra as one line naming it (the emulator, each adapter, the command line's rich), the examples'
needs in an extra, and an unsupported Python refused at once (by pip, and by ``import azoai``).

One test builds a fresh virtual environment with only the ``langchain`` extra (it needs the
package index; ``AZOAI_SKIP_FRESH_VENV=1`` skips it locally, CI runs it); the others simulate a
missing package in this environment, so they run everywhere."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AZURE_", "OPENAI_", "AZOAI_", "IDENTITY_", "PYTHON"))
    }
    env.update(extra)
    return env


def run_python(
    code: str, *, cwd: Path, hidden: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter of this environment, with the top-level packages in
    ``hidden`` made impossible to import, as if their extra were not installed."""
    prelude = (
        "import sys\n"
        "class _Hide:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.split('.')[0] in {hidden!r}:\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "        return None\n"
        "sys.meta_path.insert(0, _Hide())\n"
    )
    return subprocess.run(
        [sys.executable, "-c", prelude + code],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


# --- a missing extra is one line naming it ---------------------------------------------------------


def test_import_llamaindex_azoai_without_llama_index_is_one_line(tmp_path: Path) -> None:
    r = run_python("import llamaindex_azoai", cwd=tmp_path, hidden=("llama_index",))
    assert r.returncode == 1
    assert last_line(r.stderr) == (
        "ModuleNotFoundError: llamaindex_azoai needs llama-index-core: "
        "pip install 'azoai[llamaindex]'"
    )
    assert "During handling" not in r.stderr and "direct cause" not in r.stderr


def test_import_langchain_azoai_without_langchain_core_is_one_line(tmp_path: Path) -> None:
    r = run_python("import langchain_azoai", cwd=tmp_path, hidden=("langchain_core",))
    assert r.returncode == 1
    assert last_line(r.stderr) == (
        "ModuleNotFoundError: langchain_azoai needs langchain-core: pip install 'azoai[langchain]'"
    )
    assert "During handling" not in r.stderr and "direct cause" not in r.stderr


def test_the_emulator_without_its_extra_is_one_line(tmp_path: Path) -> None:
    for code in (
        "from azoai.cli import main; sys.exit(main(['emulator']))",
        "import runpy; runpy.run_module('azoai_emulator', run_name='__main__')",
    ):
        r = run_python(code, cwd=tmp_path, hidden=("uvicorn", "starlette"))
        assert r.returncode == 2, r.stderr
        assert r.stderr.strip().count("\n") == 0, r.stderr  # one line, no traceback
        assert "pip install 'azoai[emulator]'" in r.stderr


def test_the_doctor_without_rich_prints_plain_text(tmp_path: Path) -> None:
    r = run_python(
        "from azoai.cli import main; sys.exit(main(['doctor', '--endpoint', 'http://example.com']))",
        cwd=tmp_path,
        hidden=("rich",),
    )
    assert r.returncode == 1, r.stderr
    assert r.stdout.startswith("FAIL  configuration: endpoint uses http://")
    assert "needs rich" not in r.stdout + r.stderr and "Traceback" not in r.stderr


# --- the examples' needs are in an extra -----------------------------------------------------------


def _requirement_names(extra: str, seen: set[str] | None = None) -> set[str]:
    """The distributions an extra of this project names, its own extras expanded."""
    seen = seen if seen is not None else set()
    names: set[str] = set()
    for req in PYPROJECT["project"]["optional-dependencies"][extra]:
        name, _, rest = re.match(r"([A-Za-z0-9_.-]+)(\[([^\]]+)\])?", req).groups()  # type: ignore[union-attr]
        if name == "azoai":
            for inner in rest.split(","):
                if inner not in seen:
                    seen.add(inner)
                    names |= _requirement_names(inner, seen)
        else:
            names.add(name.lower())
    return names


def _imports(source: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


def test_the_examples_extra_has_what_the_examples_import() -> None:
    provided = _requirement_names("examples") | {
        d.lower()
        for d in ("pydantic", "httpx", "jiter")  # the core's own dependencies
    }
    dists = packages_distributions()
    sources = [p.read_text() for p in sorted((ROOT / "examples").glob("*.py"))]
    readme = (ROOT / "README.md").read_text()
    sources += re.findall(r"```python\n(.*?)```", readme, re.S)
    missing = {}
    for source in sources:
        for module in _imports(source) - set(sys.stdlib_module_names):
            if module in ("azoai", "azoai_emulator", "langchain_azoai", "llamaindex_azoai"):
                continue
            if module == "pytest":  # the README's example of tests for your own code
                continue
            owners = {d.lower() for d in dists.get(module, [])}
            if not owners & provided:
                missing[module] = sorted(owners)
    assert not missing, f"imported by examples but in no extra they name: {missing}"


# --- an unsupported Python fails fast --------------------------------------------------------------


def test_import_azoai_on_python_3_10_raises_a_clear_import_error(tmp_path: Path) -> None:
    # this interpreter, told it is 3.10: the check runs before anything that needs 3.11
    r = run_python("sys.version_info = (3, 10, 14, 'final', 0)\nimport azoai", cwd=tmp_path)
    assert r.returncode == 1
    assert last_line(r.stderr).startswith(
        "ImportError: azoai needs Python 3.11 or newer; this is Python 3.10"
    )


def _python310() -> str | None:
    """A Python 3.10 that runs (a pyenv shim may name one it will not start)."""
    candidates = [shutil.which("python3.10")]
    candidates += [str(p) for p in Path.home().glob(".pyenv/versions/3.10*/bin/python3.10")]
    for candidate in filter(None, candidates):
        try:
            r = subprocess.run(
                [candidate, "-c", "import sys; print(sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=30,
            )
        except OSError:
            continue
        if r.stdout.strip() == "(3, 10)":
            return candidate
    return None


PYTHON310 = _python310()


@pytest.mark.skipif(PYTHON310 is None, reason="no Python 3.10 on this machine")
def test_import_azoai_on_a_real_python_3_10(tmp_path: Path) -> None:
    python310 = PYTHON310
    assert python310 is not None
    r = subprocess.run(
        [python310, "-c", "import azoai"],
        cwd=tmp_path,
        env=clean_env(PYTHONPATH=str(ROOT / "shared")),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "azoai needs Python 3.11 or newer; this is Python 3.10" in last_line(r.stderr)


def test_pip_is_refused_by_the_build_backend_before_it_resolves(tmp_path: Path) -> None:
    """pip asks the build backend for the build requirements before it resolves anything; on an
    older Python the backend stops there with one line (pip 23 on 3.10 otherwise resolved for
    over nine minutes before reading requires-python)."""
    system = PYPROJECT["build-system"]
    assert system["build-backend"] == "azoai_build"
    backend = ROOT / system["backend-path"][0]
    assert (backend / "azoai_build.py").exists()
    assert "build_backend" in PYPROJECT["tool"]["hatch"]["build"]["targets"]["sdist"]["include"]
    assert PYPROJECT["project"]["requires-python"] == ">=3.11"
    r = run_python(
        f"sys.version_info = (3, 10, 14, 'final', 0)\nsys.path.insert(0, {str(backend)!r})\n"
        "import azoai_build",
        cwd=tmp_path,
    )
    assert r.returncode == 1
    assert r.stderr.strip().startswith("azoai needs Python 3.11 or newer; this is Python 3.10")
    assert "Traceback" not in r.stderr


# --- a fresh virtual environment with only a framework extra ------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("AZOAI_SKIP_FRESH_VENV") == "1",
    reason="builds a virtual environment from the package index (AZOAI_SKIP_FRESH_VENV=1)",
)
def test_a_fresh_venv_with_only_the_langchain_extra(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    bin_dir = venv / ("Scripts" if sys.platform == "win32" else "bin")
    install = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "-q", "-e", f"{ROOT}[langchain]"],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    took = time.monotonic() - started
    print(f"fresh venv with azoai[langchain]: {took:.0f} s")
    assert install.returncode == 0, install.stdout + install.stderr

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(args), cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=120
        )

    # the doctor works without rich: plain output, its checks, its exit code
    r = run(str(bin_dir / "azoai"), "doctor", "--endpoint", "http://example.com")
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stdout.startswith("FAIL  configuration: ") and "fix: change the --endpoint" in r.stdout
    assert "rich" not in r.stdout + r.stderr
    # the adapter of the extra imports; the other one, and the emulator, say what to install
    r = run(str(bin_dir / "python"), "-c", "import langchain_azoai")
    assert r.returncode == 0, r.stderr
    r = run(str(bin_dir / "python"), "-c", "import llamaindex_azoai")
    assert r.returncode == 1
    assert last_line(r.stderr) == (
        "ModuleNotFoundError: llamaindex_azoai needs llama-index-core: "
        "pip install 'azoai[llamaindex]'"
    )
    r = run(str(bin_dir / "azoai"), "emulator")
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0, r.stderr
    assert "pip install 'azoai[emulator]'" in r.stderr
