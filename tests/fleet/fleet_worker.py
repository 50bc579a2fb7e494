"""One worker of a fleet (run as its own process by the fleet tests and benchmarks/fleet.py): it
builds its embedder and warms it up on another deployment (imports, sockets, the store's
connection: a long-running worker pays them once), prints ``READY``, waits for ``GO`` on stdin
(so every worker starts at once), embeds its texts, checks every vector, and prints one
``RESULT {json}`` line.

    python fleet_worker.py ENDPOINT KEY DEPLOYMENT WARM STORE WORKER TEXTS WORDS BATCH MODE KIND

``WARM`` is the deployment for the warm-up; ``STORE`` is the Redis URL, or ``-`` for none (each
process paces alone); ``BATCH`` is the inputs per request; ``MODE`` is ``sync`` or ``async``;
``KIND`` is ``core``, ``langchain`` or ``llamaindex``. The API key comes from the ``FLEET_KEY``
variable when ``KEY`` is ``-``."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any


def texts_for(worker: int, n: int, words: int) -> list[str]:
    return [f"worker {worker} passage {i} " + "word " * (words - 4) for i in range(n)]


def embedder(
    endpoint: str, key: str, deployment: str, store: str | None, batch: int, mode: str, kind: str
) -> Callable[[list[str]], list[list[float]]]:
    common: dict[str, Any] = {"quota_store": store} if store else {}
    if kind == "core":
        from azoai import Client

        client = Client(
            endpoint=endpoint,
            api_key=key,
            deployment=deployment,
            env={},
            config_file="",
            **common,  # type: ignore[arg-type]
        )
        if mode == "async":
            return lambda texts: asyncio.run(client.aembed(texts, batch_size=batch)).vectors
        return lambda texts: client.embed(texts, batch_size=batch).vectors
    if kind == "langchain":
        from langchain_azoai import AzureOpenAIEmbeddings

        lc = AzureOpenAIEmbeddings(
            azure_endpoint=endpoint,
            api_key=key,
            azure_deployment=deployment,
            model="text-embedding-3-small",
            config_file="",
            chunk_size=batch,
            **common,
        )
        if mode == "async":
            return lambda texts: asyncio.run(lc.aembed_documents(texts))
        return lc.embed_documents
    from llamaindex_azoai import AzureOpenAIEmbedding

    li = AzureOpenAIEmbedding(
        model="text-embedding-3-small",
        deployment_name=deployment,
        azure_endpoint=endpoint,
        api_key=key,
        env={},
        config_file="",
        embed_batch_size=batch,
        **common,
    )
    if mode == "async":
        return lambda texts: asyncio.run(li.aget_text_embedding_batch(texts))
    return li.get_text_embedding_batch


def main(argv: list[str]) -> int:
    endpoint, key, deployment, warm, store, worker, n, words, batch, mode, kind = argv
    if key == "-":
        key = os.environ["FLEET_KEY"]
    texts = texts_for(int(worker), int(n), int(words))
    url = None if store == "-" else store
    embedder(endpoint, key, warm, url, int(batch), mode, kind)(texts[:20])
    embed = embedder(endpoint, key, deployment, url, int(batch), mode, kind)
    print("READY", flush=True)
    if sys.stdin.readline().strip() != "GO":
        return 1
    start = time.time()
    error = None
    try:
        vectors = embed(texts)
        missing = sum(1 for v in vectors if not v) + abs(len(texts) - len(vectors))
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
        missing = len(texts)
    end = time.time()
    print("RESULT " + json.dumps({"start": start, "end": end, "missing": missing, "error": error}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
