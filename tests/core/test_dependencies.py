"""Each dependency where it is used: the core needs pydantic, httpx and jiter; the openai SDK only
for the opt-in WebSocket transport (the ``websocket`` extra), and every other package behind the
extra of the feature that imports it, loaded lazily with an error naming that extra."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

import azoai
from azoai_emulator import Emulator

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
CORE = Path(azoai.__file__).parent

# Blocks the openai SDK in a child interpreter, as if it were not installed.
NO_OPENAI = "import sys\nsys.modules['openai'] = None\n"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as e:
        yield e


def _run(code: str, *args: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", NO_OPENAI + code, *args], capture_output=True, text=True, timeout=90
    )
    assert out.returncode == 0, out.stderr
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _requirement_names(reqs: list[str]) -> set[str]:
    names = set()
    for req in reqs:
        name = req.split(";")[0]
        for sep in "<>=!~[ ":
            name = name.split(sep)[0]
        names.add(name.strip().lower())
    return names


def test_openai_is_not_a_core_dependency_but_the_websocket_extras() -> None:
    project = PYPROJECT["project"]
    extras = project["optional-dependencies"]
    assert "openai" not in _requirement_names(project["dependencies"])
    assert _requirement_names(project["dependencies"]) == {"pydantic", "httpx", "jiter"}
    assert "openai" in _requirement_names(extras["websocket"])
    # The tests import openai themselves; any supported SDK (CI's second stage pins 2.45).
    assert "openai" in _requirement_names(extras["test"])


def test_core_calls_and_both_adapters_work_without_openai(emu: Emulator) -> None:
    code = (
        "import asyncio, json\n"
        "import azoai\n"
        "from azoai import Client\n"
        "from azoai.wire import ChatRequest, Message\n"
        "ask = ChatRequest(messages=[Message('user', 'Say hi')])\n"
        "c = Client(endpoint=sys.argv[1], api_key=sys.argv[2], deployment='chat', env={},"
        " config_file='')\n"
        "text = c.chat(ask).text\n"
        "streamed = ''.join(d.text or '' for d in c.stream(ask))\n"
        "atext = asyncio.run(c.achat(ask)).text\n"
        "r = Client(endpoint=sys.argv[1], api_key=sys.argv[2], deployment='chat', api='responses',"
        " env={}, config_file='')\n"
        "rtext = r.chat(ask).text\n"
        "c.close(); r.close()\n"
        "from langchain_azoai import AzureChatOpenAI\n"
        "lc = AzureChatOpenAI(azure_endpoint=sys.argv[1], api_key=sys.argv[2],"
        " azure_deployment='chat', model='gpt-4o')\n"
        "lc_text = lc.invoke('Say hi').content\n"
        "from llamaindex_azoai import AzureOpenAI\n"
        "from llama_index.core.llms import ChatMessage\n"
        "li = AzureOpenAI(engine='chat', model='gpt-4o', azure_endpoint=sys.argv[1],"
        " api_key=sys.argv[2], env={}, config_file='')\n"
        "li_text = li.chat([ChatMessage(role='user', content='Say hi')]).message.content\n"
        "print(json.dumps({'texts': [text, streamed, atext, rtext, lc_text, li_text],"
        " 'openai': sys.modules['openai'] is None}))\n"
    )
    got = _run(code, emu.endpoint, emu.api_key)
    assert got == {"texts": ["hi"] * 6, "openai": True}


@pytest.mark.parametrize("key_auth", ["header", "query"])
def test_the_websocket_transport_without_openai_names_the_extra(
    emu: Emulator, key_auth: str
) -> None:
    code = (
        "import json\n"
        "from azoai import Client, ConfigError\n"
        "from azoai.wire import ChatRequest, Message\n"
        "c = Client(endpoint=sys.argv[1], api_key=sys.argv[2], deployment='chat',"
        " api='responses', transport='websocket', websocket={'key_auth': sys.argv[3]},"
        " env={}, config_file='')\n"
        "try:\n"
        "    c.chat(ChatRequest(messages=[Message('user', 'Say hi')]))\n"
        "except ConfigError as exc:\n"
        "    out = {'setting': exc.setting, 'text': str(exc)}\n"
        "c.close()\n"
        "print(json.dumps(out))\n"
    )
    got = _run(code, emu.endpoint, emu.api_key, key_auth)
    assert got["setting"] == "transport"
    text = str(got["text"])
    assert "needs the openai package" in text
    assert 'pip install "azoai[websocket]"' in text
    assert emu.api_key not in text


# --- imports, read from the source ---------------------------------------------------------------

#: Third-party packages the core imports inside functions (never at import time), with the extra
#: that installs each; ``None``: comes with a core dependency, or optional with a fallback.
LAZY = {
    "openai": "websocket",
    "websockets": "websocket",
    "cryptography": "llamaindex",  # sealing keys for LlamaIndex's worker processes
    "rich": "cli",
    "azure": "identity",
    "msal": None,  # azure-identity's own dependency (the azure_cli / broker paths)
    "httpx": None,  # a core dependency, imported through azoai.io._httpx
    "httpcore": None,  # httpx's
    "idna": None,  # httpx's
    "tiktoken": None,  # exact token counts when its encoding is cached, else an estimate
    "azoai_emulator": "emulator",  # the CLI's `azoai emulator` and the demo
    "opentelemetry": "otel",  # spans and metrics through the global providers, when installed
    "redis": "redis",  # the fleet's quota store (quota_store), azoai.io.quota_store only
}
#: The requirement that brings a module in its extra, where the names differ.
DISTRIBUTION = {
    "azure": "azure-identity",
    "websockets": "openai",  # openai[realtime]
    "azoai_emulator": "starlette",  # a sibling package of this wheel; the extra has its server
    "opentelemetry": "opentelemetry-api",
}


def _third_party_imports() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(module level, inside functions): top-level package -> files, for the core's imports
    outside ``if TYPE_CHECKING:``."""
    std = set(sys.stdlib_module_names)
    eager: dict[str, set[str]] = {}
    lazy: dict[str, set[str]] = {}

    def visit(node: ast.AST, where: str, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, where, True)
                continue
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.Import):
                names = [a.name for a in child.names]
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                names = [child.module]
            else:
                visit(child, where, in_function)
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in std and top != "azoai":
                    (lazy if in_function else eager).setdefault(top, set()).add(where)

    for path in CORE.rglob("*.py"):
        visit(ast.parse(path.read_text()), str(path.relative_to(CORE)), False)
    return eager, lazy


def test_the_core_imports_only_its_dependencies_at_import_time_and_extras_lazily() -> None:
    eager, lazy = _third_party_imports()
    core = _requirement_names(PYPROJECT["project"]["dependencies"])
    assert set(eager) <= core, {k: sorted(v) for k, v in eager.items() if k not in core}
    unknown = {k: sorted(v) for k, v in lazy.items() if k not in LAZY}
    assert not unknown, f"declare these imports' extra in LAZY (and pyproject.toml): {unknown}"
    extras = PYPROJECT["project"]["optional-dependencies"]
    for module, extra in LAZY.items():
        if extra is not None:
            assert DISTRIBUTION.get(module, module) in _requirement_names(extras[extra]), (
                module,
                extra,
            )
    assert "openai" in lazy and lazy["openai"] <= {"io/websocket.py"}, lazy.get("openai")
