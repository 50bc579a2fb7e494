"""Token acquisition: how many times each contender calls an Entra ID credential.

A counting ``TokenCredential`` (sync, and an async twin) hands out tokens valid for an hour and
takes 50 ms to answer, as a real credential's network round trip would (which is what makes
concurrent first requests race). Each contender gets a fresh credential, then serves many chat
requests from one model object: ``threads`` threads x ``per_thread`` calls (sync), and ``tasks``
concurrent tasks x ``per_task`` calls (async). One token lifetime is spanned, so the ideal is one
credential call per scenario.

The anchors take the credential as their documentation says: ``azure_ad_token_provider=
get_bearer_token_provider(credential, scope)`` (azure-identity); azoai's classes take
``credential=`` directly.
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.common import write_json
from benchmarks.contenders import API_VERSION, CHAT_DEPLOYMENT, CHAT_MODEL, USER

__all__ = ["CONTENDERS", "main", "measure"]

SCOPE = "https://cognitiveservices.azure.com/.default"
DELAY = 0.05


class CountingCredential:
    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        with self._lock:
            self.calls += 1
        time.sleep(DELAY)
        return AccessToken(f"token-{self.calls}", int(time.time()) + 3600)

    def close(self) -> None:
        pass


class AsyncCountingCredential:
    def __init__(self) -> None:
        self.calls = 0

    async def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        self.calls += 1
        await asyncio.sleep(DELAY)
        return AccessToken(f"token-{self.calls}", int(time.time()) + 3600)

    async def close(self) -> None:
        pass

    async def __aenter__(self) -> AsyncCountingCredential:
        return self

    async def __aexit__(self, *exc: object) -> None:
        pass


def _sync_provider(cred: Any) -> Any:
    from azure.identity import get_bearer_token_provider

    return get_bearer_token_provider(cred, SCOPE)


def _async_provider(cred: Any) -> Any:
    from azure.identity.aio import get_bearer_token_provider

    return get_bearer_token_provider(cred, SCOPE)


def _openai(base: str, cred: Any, is_async: bool) -> Any:
    from openai import AsyncAzureOpenAI, AzureOpenAI

    if is_async:
        ac = AsyncAzureOpenAI(
            azure_endpoint=base,
            api_version=API_VERSION,
            azure_ad_token_provider=_async_provider(cred),
        )

        async def acall() -> None:
            await ac.chat.completions.create(
                model=CHAT_DEPLOYMENT, messages=[{"role": "user", "content": USER}]
            )

        return acall
    c = AzureOpenAI(
        azure_endpoint=base, api_version=API_VERSION, azure_ad_token_provider=_sync_provider(cred)
    )
    return lambda: c.chat.completions.create(
        model=CHAT_DEPLOYMENT, messages=[{"role": "user", "content": USER}]
    )


def _langchain_openai(base: str, cred: Any, is_async: bool) -> Any:
    from langchain_openai import AzureChatOpenAI

    kw: dict[str, Any] = (
        {"azure_ad_async_token_provider": _async_provider(cred)}
        if is_async
        else {"azure_ad_token_provider": _sync_provider(cred)}
    )
    llm = AzureChatOpenAI(
        azure_endpoint=base,
        azure_deployment=CHAT_DEPLOYMENT,
        model=CHAT_MODEL,
        api_version=API_VERSION,
        **kw,
    )
    return llm.ainvoke if is_async else llm.invoke


def _llama_index(base: str, cred: Any, is_async: bool) -> Any:
    from llama_index.core.llms import ChatMessage
    from llama_index.llms.azure_openai import AzureOpenAI

    # llama-index takes one (sync) token provider for both its sync and async clients.
    llm = AzureOpenAI(
        engine=CHAT_DEPLOYMENT,
        model=CHAT_MODEL,
        azure_endpoint=base,
        api_version=API_VERSION,
        use_azure_ad=True,
        azure_ad_token_provider=_sync_provider(cred),
    )
    msgs = [ChatMessage(role="user", content=USER)]
    if is_async:
        return lambda _msg: llm.achat(msgs)
    return lambda _msg: llm.chat(msgs)


def _azoai(base: str, cred: Any, is_async: bool) -> Any:
    from azoai import Client
    from azoai.wire import ChatRequest, Message

    c = Client(endpoint=base, credential=cred, deployment=CHAT_DEPLOYMENT, model=CHAT_MODEL)
    req = ChatRequest(messages=[Message("user", USER)])
    return (lambda: c.achat(req)) if is_async else (lambda: c.chat(req))


def _langchain_azoai(base: str, cred: Any, is_async: bool) -> Any:
    from langchain_azoai import AzureChatOpenAI

    llm = AzureChatOpenAI(
        azure_endpoint=base, credential=cred, azure_deployment=CHAT_DEPLOYMENT, model=CHAT_MODEL
    )
    return llm.ainvoke if is_async else llm.invoke


def _llamaindex_azoai(base: str, cred: Any, is_async: bool) -> Any:
    from llama_index.core.llms import ChatMessage

    from llamaindex_azoai import AzureOpenAI

    llm = AzureOpenAI(
        engine=CHAT_DEPLOYMENT, model=CHAT_MODEL, azure_endpoint=base, credential=cred
    )
    msgs = [ChatMessage(role="user", content=USER)]
    if is_async:
        return lambda _msg: llm.achat(msgs)
    return lambda _msg: llm.chat(msgs)


CONTENDERS = {
    "openai SDK": _openai,
    "langchain-openai": _langchain_openai,
    "llama-index azure": _llama_index,
    "azoai core": _azoai,
    "langchain_azoai": _langchain_azoai,
    "llamaindex_azoai": _llamaindex_azoai,
}
_TAKES_MESSAGE = {"langchain-openai", "langchain_azoai", "llama-index azure", "llamaindex_azoai"}


def _sync_run(name: str, base: str, threads: int, per_thread: int) -> dict[str, Any]:
    cred = CountingCredential()
    call = CONTENDERS[name](base, cred, False)
    fn = (lambda: call(USER)) if name in _TAKES_MESSAGE else call
    errors: list[str] = []

    def worker() -> None:
        for _ in range(per_thread):
            try:
                fn()
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}"[:200])

    with ThreadPoolExecutor(threads) as pool:
        for f in [pool.submit(worker) for _ in range(threads)]:
            f.result()
    return {"calls": cred.calls, "requests": threads * per_thread, "errors": errors[:3]}


def _async_run(name: str, base: str, tasks: int, per_task: int) -> dict[str, Any]:
    # llama-index's AzureOpenAI takes only a sync provider, also for its async client
    cred: Any = CountingCredential() if name == "llama-index azure" else AsyncCountingCredential()
    errors: list[str] = []

    async def main() -> None:
        call = CONTENDERS[name](base, cred, True)

        async def worker() -> None:
            for _ in range(per_task):
                try:
                    if name in _TAKES_MESSAGE:
                        await call(USER)
                    else:
                        await call()
                except Exception as exc:
                    errors.append(f"{type(exc).__name__}: {exc}"[:200])

        await asyncio.gather(*(worker() for _ in range(tasks)))

    asyncio.run(main())
    return {"calls": cred.calls, "requests": tasks * per_task, "errors": errors[:3]}


def measure(
    base: str, names: list[str], threads: int, per_thread: int, tasks: int, per_task: int
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names:
        entry: dict[str, Any] = {}
        for kind in ("sync", "async"):
            try:
                if kind == "sync":
                    entry[kind] = _sync_run(name, base, threads, per_thread)
                else:
                    entry[kind] = _async_run(name, base, tasks, per_task)
            except Exception as exc:
                entry[kind] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
        out[name] = entry
    return {
        "threads": threads,
        "per_thread": per_thread,
        "tasks": tasks,
        "per_task": per_task,
        "contenders": out,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tokens")
    parser.add_argument("--base", required=True)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--per-thread", type=int, default=10)
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--per-task", type=int, default=4)
    parser.add_argument("--contenders", default=",".join(CONTENDERS))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    data = measure(
        args.base,
        args.contenders.split(","),
        args.threads,
        args.per_thread,
        args.tasks,
        args.per_task,
    )
    write_json(args.out, data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
