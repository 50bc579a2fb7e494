"""Embeddings responses are untrusted input (issue 14): a malformed vector fails its input alone,
by index, and every other vector comes back; rate-limit headers that are not finite counts are
ignored; a large response is decoded off the event loop.

The server is a small scripted OpenAI-style embeddings endpoint on 127.0.0.1: each input's
vector is ``vec(text)``, and a test's ``corrupt`` hook rewrites the items of some inputs."""

from __future__ import annotations

import array
import asyncio
import base64
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from azoai.client import Client
from azoai.config.settings import RetryPolicy
from azoai.embeddings import OFF_LOOP_BYTES, EmbeddingBatchError
from azoai.errors import InvalidResponseError

Items = list[dict[str, Any]]
NO_RETRY = RetryPolicy(max_retries=0)


def vec(text: str) -> list[float]:
    """Four float32-exact numbers that tell the inputs apart."""
    return [float(len(text)), float(ord(text[0])), float(ord(text[-1])), 1.0]


def b64(values: list[float]) -> str:
    return base64.b64encode(array.array("f", values).tobytes()).decode("ascii")


class EmbedServer:
    """Answers every POST as an embeddings endpoint. ``corrupt(texts, items)`` may rewrite the
    response items of one request (in place, or by returning new ones); ``body`` replaces the
    whole response; ``headers`` are added to every response."""

    def __init__(
        self,
        corrupt: Callable[[list[str], Items], Items | None] | None = None,
        *,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> None:
        self.corrupt = corrupt
        self.headers = headers or {}
        self.body = body
        self.requests: list[list[str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                texts = json.loads(self.rfile.read(int(self.headers["content-length"])))["input"]
                outer.requests.append(texts)
                payload = outer.body if outer.body is not None else outer.answer(texts)
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                for k, v in outer.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def answer(self, texts: list[str]) -> bytes:
        items: Items = [
            {"object": "embedding", "index": i, "embedding": b64(vec(t))}
            for i, t in enumerate(texts)
        ]
        if self.corrupt is not None:
            items = self.corrupt(texts, items) or items
        n = sum(len(t) for t in texts)
        return json.dumps(
            {
                "object": "list",
                "data": items,
                "model": "text-embedding-3-small",
                "usage": {"prompt_tokens": n, "total_tokens": n},
            }
        ).encode()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def client(self, **kw: Any) -> Client:
        return Client(
            endpoint=self.endpoint,
            api_key="k",
            deployment="embed",
            retry=NO_RETRY,
            env={},
            config_file="",
            **kw,
        )

    def __enter__(self) -> EmbedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def bad_item(texts: list[str], items: Items) -> Items | None:
    """The item of an input named ``bad:<how>`` is made malformed in that way."""
    for i, t in enumerate(texts):
        how = t.split(":", 1)[1] if t.startswith("bad:") else None
        if how is None:
            continue
        item = items[i]
        if how == "base64":
            item["embedding"] = "!!not base64!!"
        elif how == "length":  # 6 bytes: not a whole number of float32s
            item["embedding"] = base64.b64encode(b"\x00" * 6).decode()
        elif how == "nan":
            item["embedding"] = b64([0.1, float("nan"), 0.2, 0.3])
        elif how == "inf":
            item["embedding"] = b64([0.1, float("inf"), 0.2, 0.3])
        elif how == "strings":
            item["embedding"] = ["a", "b", "c", "d"]
        elif how == "null":
            item["embedding"] = None
        elif how == "number":
            item["embedding"] = 7
        elif how == "dims":  # a vector of another length than the others
            item["embedding"] = b64([1.0, 2.0])
        elif how == "missing":  # no item at all for this input
            return [x for x in items if x is not item]
        elif how == "index-type":
            item["index"] = "one"
        elif how == "index-range":
            item["index"] = 99
        elif how == "not-object":
            items[i] = ["embedding"]  # type: ignore[call-overload]
    return None


TEXTS = ["alpha", "beta", "BAD", "delta", "epsilon", "zeta"]

MALFORMED = [
    "base64",
    "length",
    "nan",
    "inf",
    "strings",
    "null",
    "number",
    "dims",
    "missing",
    "index-type",
    "index-range",
    "not-object",
]


def texts_with(how: str) -> list[str]:
    return [f"bad:{how}" if t == "BAD" else t for t in TEXTS]


def check_partial(err: EmbeddingBatchError, texts: list[str], failed: list[int]) -> None:
    assert err.failed_indices == failed
    for i, t in enumerate(texts):
        assert err.partial[i] == (None if i in failed else vec(t)), i
    for i in failed:
        assert isinstance(err.errors[i], InvalidResponseError)
        assert f"input {i}" in err.errors[i].message


@pytest.mark.parametrize("how", MALFORMED)
def test_one_malformed_vector_fails_its_input_alone(how: str) -> None:
    """Batches of two: the malformed item of input 2 fails input 2 only; its batch-mate (3) and
    the other batches keep their vectors, and the error names index 2."""
    texts = texts_with(how)
    with EmbedServer(bad_item) as srv:
        c = srv.client()
        with pytest.raises(EmbeddingBatchError) as exc:
            c.embed(texts, batch_size=2, concurrency=1)
        check_partial(exc.value, texts, [2])
        assert "index 2" in str(exc.value)
        assert len(srv.requests) == 3  # nothing re-sent: the answer was read, not lost
        c.close()


@pytest.mark.parametrize("how", ["base64", "missing", "nan"])
async def test_one_malformed_vector_fails_its_input_alone_async(how: str) -> None:
    texts = texts_with(how)
    with EmbedServer(bad_item) as srv:
        c = srv.client()
        with pytest.raises(EmbeddingBatchError) as exc:
            await c.aembed(texts, batch_size=2, concurrency=2)
        check_partial(exc.value, texts, [2])
        await c.aclose()


def test_a_repeated_index_fails_both_inputs_it_could_belong_to() -> None:
    """Two items claim index 0 of a batch and none claims index 1: neither input can be told
    which vector is its own, so both fail; the rest come back."""

    def repeat(texts: list[str], items: Items) -> Items | None:
        if "BAD" in texts:
            items[texts.index("BAD")]["index"] = texts.index("BAD") - 1
        return None

    with EmbedServer(repeat) as srv:
        c = srv.client()
        with pytest.raises(EmbeddingBatchError) as exc:
            c.embed(["alpha", "beta", "gamma", "BAD", "epsilon"], batch_size=2, concurrency=1)
        assert exc.value.failed_indices == [2, 3]
        assert exc.value.partial[:2] == [vec("alpha"), vec("beta")]
        assert exc.value.partial[4] == vec("epsilon")
        c.close()


def test_items_without_an_index_are_taken_in_order_only_when_they_all_came() -> None:
    """No ``index`` fields (some gateways drop them): with one item per input the order is
    used; with an item missing, no input can be matched to a vector by position."""

    def no_index(texts: list[str], items: Items) -> Items | None:
        for item in items:
            del item["index"]
        return [x for x in items if x["embedding"] != b64(vec("BAD"))]

    with EmbedServer(no_index) as srv:
        c = srv.client()
        assert c.embed(["alpha", "beta"]).vectors == [vec("alpha"), vec("beta")]
        with pytest.raises(EmbeddingBatchError) as exc:
            c.embed(["alpha", "beta", "BAD", "delta"], batch_size=2, concurrency=1)
        assert exc.value.failed_indices == [2, 3]
        assert exc.value.partial[:2] == [vec("alpha"), vec("beta")]
        c.close()


def test_a_vector_of_another_length_than_dimensions_asked_fails_its_input() -> None:
    def short(texts: list[str], items: Items) -> Items | None:
        for i, t in enumerate(texts):
            items[i]["embedding"] = b64([1.0, 2.0] if t == "BAD" else vec(t))
        return None

    with EmbedServer(short) as srv:
        c = srv.client(model="text-embedding-3-small")
        with pytest.raises(EmbeddingBatchError) as exc:
            c.embed(["alpha", "BAD", "gamma"], dimensions=4)
        assert exc.value.failed_indices == [1]
        assert "not the 4 dimensions asked for" in exc.value.errors[1].message
        c.close()


def test_a_single_input_with_a_malformed_vector_raises_the_typed_error() -> None:
    with EmbedServer(bad_item) as srv:
        c = srv.client()
        with pytest.raises(InvalidResponseError, match="vector for input 0 is malformed"):
            c.embed(["bad:base64"])
        c.close()


def test_garbage_usage_is_ignored_not_raised() -> None:
    body = json.dumps(
        {
            "data": [{"index": 0, "embedding": b64(vec("alpha"))}],
            "usage": {"prompt_tokens": "many", "total_tokens": 1e400},
        }
    ).encode()
    with EmbedServer(body=body) as srv:
        c = srv.client()
        assert c.embed(["alpha"]).vectors == [vec("alpha")]
        c.close()


def test_langchain_embed_documents_keeps_the_good_vectors() -> None:
    from langchain_azoai import AzureOpenAIEmbeddings

    texts = texts_with("base64")
    with EmbedServer(bad_item) as srv:
        emb = AzureOpenAIEmbeddings(
            azure_endpoint=srv.endpoint,
            api_key="k",
            azure_deployment="embed",
            chunk_size=2,
            max_concurrency=1,
            max_retries=0,
            config_file="",
        )
        with pytest.raises(EmbeddingBatchError) as exc:
            emb.embed_documents(texts)
        check_partial(exc.value, texts, [2])
        with pytest.raises(EmbeddingBatchError) as aexc:
            asyncio.run(emb.aembed_documents(texts))
        check_partial(aexc.value, texts, [2])
        emb.close()


def test_llamaindex_embeddings_keep_the_good_vectors() -> None:
    from llamaindex_azoai import AzureOpenAIEmbedding

    texts = texts_with("strings")
    with EmbedServer(bad_item) as srv:
        emb = AzureOpenAIEmbedding(
            azure_endpoint=srv.endpoint,
            api_key="k",
            azure_deployment="embed",
            max_retries=0,
            config_file="",
        )
        with pytest.raises(EmbeddingBatchError) as exc:
            emb.get_text_embedding_batch(texts)
        check_partial(exc.value, texts, [2])
        with pytest.raises(EmbeddingBatchError) as aexc:
            asyncio.run(emb.aget_text_embedding_batch(texts))
        check_partial(aexc.value, texts, [2])


# --- rate-limit headers are untrusted ------------------------------------------------------------


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e400", "-5", "lots", "1e300"])
def test_rate_limit_headers_that_are_not_counts_are_ignored(value: str) -> None:
    """``x-ratelimit-*: inf`` made embed() raise a raw OverflowError; such values teach the
    pacer nothing, and ingestion goes on."""
    headers = {
        "x-ratelimit-limit-tokens": value,
        "x-ratelimit-remaining-tokens": value,
        "x-ratelimit-limit-requests": value,
        "x-ratelimit-remaining-requests": value,
    }
    texts = [f"text {i}" for i in range(6)]
    with EmbedServer(headers=headers) as srv:
        c = srv.client()
        assert c.embed(texts, batch_size=2).vectors == [vec(t) for t in texts]
        assert asyncio.run(c.aembed(texts, batch_size=2)).vectors == [vec(t) for t in texts]
        c.close()


# --- decoding off the event loop -----------------------------------------------------------------


def test_a_large_response_is_decoded_off_the_event_loop() -> None:
    """2048 vectors of 3072 dimensions (about 33 MB of base64) used to be decoded on the event
    loop, stalling every other task for the whole decode. A ticker task measures the longest
    gap between its wake-ups during the call; the bound is a fraction of what decoding such a
    body takes on this machine (measured here), so load slows both sides alike."""
    n, dims = 2048, 3072
    one = b64([0.01 * (k % 100) for k in range(dims)])
    body = json.dumps(
        {
            "data": [{"index": i, "embedding": one} for i in range(n)],
            "usage": {"prompt_tokens": n, "total_tokens": n},
        }
    ).encode()
    assert len(body) > 100 * OFF_LOOP_BYTES
    texts = [f"t{i}" for i in range(n)]

    started = time.perf_counter()  # the work a stalled loop would wait for
    for item in json.loads(body)["data"]:
        array.array("f", base64.b64decode(item["embedding"])).tolist()
    decode = time.perf_counter() - started

    async def longest_stall(c: Client) -> float:
        longest = 0.0
        stop = asyncio.Event()

        async def ticker() -> None:
            nonlocal longest
            last = time.perf_counter()
            while not stop.is_set():
                await asyncio.sleep(0.002)
                now = time.perf_counter()
                longest = max(longest, now - last)
                last = now

        task = asyncio.create_task(ticker())
        await asyncio.sleep(0.01)
        result = await c.aembed(texts)
        stop.set()
        await task
        assert len(result.vectors) == n and len(result.vectors[-1]) == dims
        return longest

    async def main(c: Client) -> float:
        await longest_stall(c)  # warm: the connection, the thread pool
        longest = await longest_stall(c)
        await c.aclose()
        return longest

    with EmbedServer(body=body) as srv:
        longest = asyncio.run(main(srv.client()))
    # on the loop the stall was about 1.4x the measured decode; off it, 0.2-0.3x (what remains is
    # the garbage collector walking the new lists, which stops every thread)
    assert longest < max(0.65 * decode, 0.05), (longest, decode)
