"""What a first call loads: httpx without its command-line client (click, rich, pygments)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from azoai_emulator import Emulator

CLI_MODULES = ("httpx._main", "click", "rich", "pygments")


def _run(code: str, *args: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _cli_installed() -> bool:
    probe = "import importlib.util, json; print(json.dumps({'ok': all(importlib.util.find_spec(m) for m in ('click', 'rich', 'pygments'))}))"
    return bool(_run(probe)["ok"])


@pytest.fixture(scope="module")
def emu() -> object:
    with Emulator() as e:
        yield e


def test_a_chat_call_does_not_load_httpxs_command_line_client(emu: Emulator) -> None:
    if not _cli_installed():
        pytest.skip("click, rich and pygments are not installed: httpx would not load them anyway")
    code = (
        "import json, sys\n"
        "from azoai import Client\n"
        "from azoai.wire import ChatRequest, Message\n"
        "c = Client(endpoint=sys.argv[1], api_key=sys.argv[2], deployment='chat', env={},"
        " config_file='')\n"
        "text = c.chat(ChatRequest(messages=[Message('user', 'Say hi')])).text\n"
        "import asyncio\n"
        "async def go():\n"
        "    return (await c.achat(ChatRequest(messages=[Message('user', 'Say hi')]))).text\n"
        "atext = asyncio.run(go())\n"
        f"print(json.dumps({{'text': text, 'atext': atext, 'loaded': [m for m in {CLI_MODULES!r}"
        " if m in sys.modules]}))\n"
    )
    got = _run(code, emu.endpoint, emu.api_key)
    assert got == {"text": "hi", "atext": "hi", "loaded": []}


def test_httpx_stays_whole_its_command_still_runs_and_an_earlier_import_is_used_as_is() -> None:
    if not _cli_installed():
        pytest.skip("click, rich and pygments are not installed")
    code = (
        "import json, sys\n"
        "from azoai.io import _httpx\n"
        "httpx = _httpx.load()\n"
        "before = 'httpx._main' in sys.modules\n"
        "try:\n"
        "    httpx.main(['--help'])\n"
        "except SystemExit as e:\n"
        "    code = e.code\n"
        "print(json.dumps({'before': before, 'exit': code, 'after': 'httpx._main' in sys.modules,"
        " 'client': hasattr(httpx, 'Client')}))\n"
    )
    got = _run(code)
    assert got == {"before": False, "exit": 0, "after": True, "client": True}

    code = (
        "import json, sys, httpx\n"
        "from azoai.io import _httpx\n"
        "print(json.dumps({'same': _httpx.load() is httpx,"
        " 'main': httpx.main is sys.modules['httpx._main'].main}))\n"
    )
    assert _run(code) == {"same": True, "main": True}
