"""Import time, cold start and memory, each in fresh subprocesses.

* Import: CPU time (``time.process_time``) of the contender's import statement in a fresh
  interpreter, measured twice: from nothing (``total``) and on top of its framework's core
  (``beyond framework``), imported first in the same process. A framework's core is the base
  classes every integration of it subclasses: ``BaseChatModel`` and ``Embeddings`` from
  ``langchain_core``, ``FunctionCallingLLM`` and ``BaseEmbedding`` from ``llama_index.core``.
  (Importing the bare ``langchain_core.language_models`` package would not do: it loads its
  classes lazily, and ``BaseChatModel`` itself brings in langsmith's run trees, about 300 ms,
  for every LangChain chat model.) The floor is ``import httpx``.
* Cold start: in a fresh interpreter, import the framework core, then import the contender,
  construct its chat model and make one chat call against the mock server; CPU and wall time of
  that second part (``beyond framework``).
* The same is also measured beyond the framework core *plus* a do-nothing model class and one
  call on it (``*_beyond_model``): what any model on the framework loads on first use, so the
  rest is what an adapter could still save.
* Memory: in the same processes, resident set size (``VmRSS``) after the framework core's import
  and after the construction + first call; the difference is what the contender adds.

Every measurement runs ``reps`` times, contenders interleaved, after one unmeasured pass (which
also writes the ``.pyc`` files). Reported: medians.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.common import REPO, bench_env, median, write_json
from benchmarks.contenders import API_KEY, API_VERSION, CHAT_DEPLOYMENT, CHAT_MODEL

__all__ = ["COLD", "IMPORTS", "main", "measure"]

LANGCHAIN_CORE = (
    "from langchain_core.language_models import BaseChatModel\n"
    "from langchain_core.embeddings import Embeddings"
)
LLAMAINDEX_CORE = (
    "from llama_index.core.llms.function_calling import FunctionCallingLLM\n"
    "from llama_index.core.base.embeddings.base import BaseEmbedding"
)

#: contender -> (framework core import or "", the contender's import)
IMPORTS: dict[str, tuple[str, str]] = {
    "httpx (floor)": ("", "import httpx"),
    "openai SDK": ("", "from openai import AzureOpenAI"),
    "langchain-openai": (LANGCHAIN_CORE, "from langchain_openai import AzureChatOpenAI"),
    "llama-index azure": (LLAMAINDEX_CORE, "from llama_index.llms.azure_openai import AzureOpenAI"),
    "azoai core": ("", "import azoai"),
    "langchain_azoai": (LANGCHAIN_CORE, "import langchain_azoai"),
    "llamaindex_azoai": (LLAMAINDEX_CORE, "import llamaindex_azoai"),
}

#: framework core -> code defining a do-nothing model and calling it once: what any chat model
#: built on the framework loads before and on its first use.
MODEL_CLASS: dict[str, str] = {
    LANGCHAIN_CORE: "from benchmarks.contenders import _null_langchain_model\n"
    "_null_langchain_model('m').invoke('Hello')",
    LLAMAINDEX_CORE: "from benchmarks.contenders import _null_llama_llm\n"
    "from llama_index.core.llms import ChatMessage\n"
    "_null_llama_llm('m').chat([ChatMessage(role='user', content='Hello')])",
}

_MSG = "[{'role': 'user', 'content': 'Hello'}]"

#: contender -> code that imports, constructs and makes the first call (``BASE`` is the URL)
COLD: dict[str, str] = {
    "httpx (floor)": f"""
import httpx, json
c = httpx.Client()
r = c.post(BASE + '/openai/deployments/{CHAT_DEPLOYMENT}/chat/completions?api-version={API_VERSION}',
           content=json.dumps({{'messages': {_MSG}}}).encode(),
           headers={{'api-key': '{API_KEY}', 'content-type': 'application/json'}})
text = json.loads(r.content)['choices'][0]['message']['content']
""",
    "openai SDK": f"""
from openai import AzureOpenAI
c = AzureOpenAI(azure_endpoint=BASE, api_key='{API_KEY}', api_version='{API_VERSION}')
text = c.chat.completions.create(model='{CHAT_DEPLOYMENT}', messages={_MSG}).choices[0].message.content
""",
    "langchain-openai": f"""
from langchain_openai import AzureChatOpenAI
llm = AzureChatOpenAI(azure_endpoint=BASE, api_key='{API_KEY}', azure_deployment='{CHAT_DEPLOYMENT}',
                      model='{CHAT_MODEL}', api_version='{API_VERSION}')
text = llm.invoke('Hello').content
""",
    "llama-index azure": f"""
from llama_index.llms.azure_openai import AzureOpenAI
from llama_index.core.llms import ChatMessage
llm = AzureOpenAI(engine='{CHAT_DEPLOYMENT}', model='{CHAT_MODEL}', azure_endpoint=BASE, api_key='{API_KEY}',
                  api_version='{API_VERSION}')
text = llm.chat([ChatMessage(role='user', content='Hello')]).message.content
""",
    "azoai core": f"""
from azoai import Client
from azoai.wire import ChatRequest, Message
c = Client(endpoint=BASE, api_key='{API_KEY}', deployment='{CHAT_DEPLOYMENT}', model='{CHAT_MODEL}')
text = c.chat(ChatRequest(messages=[Message('user', 'Hello')])).text
""",
    "langchain_azoai": f"""
from langchain_azoai import AzureChatOpenAI
llm = AzureChatOpenAI(azure_endpoint=BASE, api_key='{API_KEY}', azure_deployment='{CHAT_DEPLOYMENT}',
                      model='{CHAT_MODEL}')
text = llm.invoke('Hello').content
""",
    "llamaindex_azoai": f"""
from llamaindex_azoai import AzureOpenAI
from llama_index.core.llms import ChatMessage
llm = AzureOpenAI(engine='{CHAT_DEPLOYMENT}', model='{CHAT_MODEL}', azure_endpoint=BASE, api_key='{API_KEY}')
text = llm.chat([ChatMessage(role='user', content='Hello')]).message.content
""",
}

_PROBE = """
import time, sys
def rss():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) * 1024
BASE = sys.argv[1]
r0 = rss()
c0, w0 = time.process_time(), time.perf_counter()
{framework}
c1, w1 = time.process_time(), time.perf_counter()
r1 = rss()
{code}
c2, w2 = time.process_time(), time.perf_counter()
r2 = rss()
assert text, 'no answer'
import json
print('RESULT ' + json.dumps({{'framework_cpu': c1 - c0, 'cpu': c2 - c1, 'wall': w2 - w1,
                               'rss_start': r0, 'rss_framework': r1, 'rss_after': r2}}))
"""


def _run(framework: str, code: str, base: str) -> dict[str, float]:
    script = _PROBE.format(framework=framework or "pass", code=code.strip() or "text = 'x'")
    out = subprocess.run(
        [sys.executable, "-c", script, base],
        capture_output=True,
        text=True,
        env=bench_env(),
        cwd=REPO,
        timeout=120,
    )
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return dict(json.loads(line[7:]))
    raise RuntimeError(f"probe failed: {out.stderr[-2000:]}")


def measure(base: str, reps: int, names: list[str]) -> dict[str, Any]:
    kinds: list[tuple[str, str, str, str]] = []  # (kind, contender, framework, code)
    for name in names:
        framework, stmt = IMPORTS[name]
        kinds.append(("import_total", name, "", stmt + "\ntext = 'x'"))
        if framework:
            kinds.append(("import_beyond", name, framework, stmt + "\ntext = 'x'"))
            with_model = framework + "\n" + MODEL_CLASS[framework]
            kinds.append(("import_beyond_model", name, with_model, stmt + "\ntext = 'x'"))
            kinds.append(("cold_model", name, with_model, COLD[name]))
        kinds.append(("cold", name, framework, COLD[name]))
    for _, _, framework, code in kinds:  # warm the .pyc files and the OS page cache
        _run(framework, code, base)
    raw: dict[tuple[str, str], list[dict[str, float]]] = {}
    for _ in range(reps):
        for kind, name, framework, code in kinds:
            raw.setdefault((kind, name), []).append(_run(framework, code, base))
    out: dict[str, Any] = {}
    for name in names:
        framework, _ = IMPORTS[name]
        tot = raw[("import_total", name)]
        beyond = raw.get(("import_beyond", name), tot)
        cold = raw[("cold", name)]
        beyond_model = raw.get(("import_beyond_model", name), beyond)
        cold_model = raw.get(("cold_model", name), cold)
        out[name] = {
            "import_beyond_model_ms": median([r["cpu"] for r in beyond_model]) * 1e3,
            "framework_model_import_ms": median([r["framework_cpu"] for r in beyond_model]) * 1e3,
            "cold_cpu_beyond_model_ms": median([r["cpu"] for r in cold_model]) * 1e3,
            "rss_added_beyond_model_mb": median(
                [r["rss_after"] - r["rss_framework"] for r in cold_model]
            )
            / 2**20,
            "framework": framework or None,
            "import_ms": median([r["cpu"] for r in tot]) * 1e3,
            "import_ms_values": [r["cpu"] * 1e3 for r in tot],
            "import_beyond_ms": median([r["cpu"] for r in beyond]) * 1e3,
            "framework_import_ms": median([r["framework_cpu"] for r in beyond]) * 1e3,
            "cold_cpu_ms": median([r["cpu"] for r in cold]) * 1e3,
            "cold_wall_ms": median([r["wall"] for r in cold]) * 1e3,
            "cold_cpu_ms_values": [r["cpu"] * 1e3 for r in cold],
            "rss_framework_mb": median([r["rss_framework"] for r in cold]) / 2**20,
            "rss_added_mb": median([r["rss_after"] - r["rss_framework"] for r in cold]) / 2**20,
            "rss_total_mb": median([r["rss_after"] for r in cold]) / 2**20,
        }
    return {"reps": reps, "contenders": out}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.startup")
    parser.add_argument("--base", required=True)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--contenders", default=",".join(IMPORTS))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    write_json(args.out, measure(args.base, args.reps, args.contenders.split(",")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
