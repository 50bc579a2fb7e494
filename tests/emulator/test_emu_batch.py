"""The emulator's Files and Batches APIs: Azure's shapes and statuses, validation of the JSONL,
output and error files, partial failures, cancellation, expiry, the processing speed, and both
routes, driven over HTTP (httpx and the openai SDK)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from emu_helpers import FakeClock
from openai import OpenAI

from azoai_emulator import Emulator, EmulatorDeployment

DEPLOYMENTS = (
    EmulatorDeployment("chat-batch", model="gpt-4o", sku="GlobalBatch"),
    EmulatorDeployment("zone-batch", model="gpt-4o-mini", sku="DataZoneBatch", enqueued_tokens=60),
    EmulatorDeployment("embed-batch", model="text-embedding-3-small", sku="GlobalBatch"),
    EmulatorDeployment(
        "guarded-batch", model="gpt-4o", sku="GlobalBatch", blocklist=("forbidden",)
    ),
    EmulatorDeployment("chat", model="gpt-4o"),  # GlobalStandard: not a batch deployment
)
DATED = "2024-10-21"


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def emu(clock: FakeClock) -> Iterator[Emulator]:
    with Emulator(deployments=DEPLOYMENTS, clock=clock) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def _fresh(emu: Emulator) -> Iterator[None]:
    emu.set_batch_speed()
    yield
    emu.reset()


@pytest.fixture
def http(emu: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.endpoint, headers={"api-key": emu.api_key}, timeout=10) as c:
        yield c


@pytest.fixture
def sdk(emu: Emulator) -> OpenAI:
    return OpenAI(base_url=emu.v1_base_url, api_key=emu.api_key, max_retries=0)


def chat_line(
    cid: str, text: str, *, model: str = "chat-batch", url: str = "/v1/chat/completions"
) -> dict[str, Any]:
    return {
        "custom_id": cid,
        "method": "POST",
        "url": url,
        "body": {"model": model, "messages": [{"role": "user", "content": text}]},
    }


def jsonl(lines: list[Any]) -> bytes:
    return b"".join(
        (line if isinstance(line, bytes) else json.dumps(line).encode()) + b"\n" for line in lines
    )


def upload(
    http: httpx.Client, data: bytes, *, base: str = "/openai/v1", query: str = ""
) -> dict[str, Any]:
    r = http.post(
        f"{base}/files{query}",
        files={"file": ("input.jsonl", data, "application/jsonl")},
        data={"purpose": "batch"},
    )
    assert r.status_code in (200, 201), r.text
    return r.json()


def create(
    http: httpx.Client, file_id: str, *, base: str = "/openai/v1", query: str = "", **extra: Any
) -> dict[str, Any]:
    body = {
        "input_file_id": file_id,
        "endpoint": "/chat/completions",
        "completion_window": "24h",
        **extra,
    }
    r = http.post(f"{base}/batches{query}", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def get(
    http: httpx.Client, batch_id: str, *, base: str = "/openai/v1", query: str = ""
) -> dict[str, Any]:
    r = http.get(f"{base}/batches/{batch_id}{query}")
    assert r.status_code == 200, r.text
    return r.json()


def lines_of(
    http: httpx.Client, file_id: str, *, base: str = "/openai/v1", query: str = ""
) -> list[dict[str, Any]]:
    r = http.get(f"{base}/files/{file_id}/content{query}")
    assert r.status_code == 200, r.text
    return [json.loads(x) for x in r.content.splitlines() if x.strip()]


# --- files ----------------------------------------------------------------------------------------


def test_files_upload_list_get_content_delete_v1(http: httpx.Client) -> None:
    data = jsonl([chat_line("a", "hello")])
    f = upload(http, data)
    assert f["object"] == "file" and f["purpose"] == "batch" and f["status"] == "processed"
    assert f["bytes"] == len(data) and f["id"].startswith("file-")
    listed = http.get("/openai/v1/files").json()
    assert [x["id"] for x in listed["data"]] == [f["id"]]
    assert http.get(f"/openai/v1/files/{f['id']}").json()["filename"] == "input.jsonl"
    assert http.get(f"/openai/v1/files/{f['id']}/content").content == data
    deleted = http.delete(f"/openai/v1/files/{f['id']}").json()
    assert deleted == {"id": f["id"], "object": "file", "deleted": True}
    missing = http.get(f"/openai/v1/files/{f['id']}")
    assert (
        missing.status_code == 404 and "No such File object" in missing.json()["error"]["message"]
    )


def test_dated_upload_answers_pending_then_processed(http: httpx.Client) -> None:
    f = upload(
        http,
        jsonl([chat_line("a", "hi", url="/chat/completions")]),
        base="/openai",
        query=f"?api-version={DATED}",
    )
    assert f["status"] == "pending"  # the 2024-10-21 authoring spec's example answers 201 pending
    again = http.get(f"/openai/files/{f['id']}?api-version={DATED}").json()
    assert again["status"] == "processed"


def test_upload_needs_a_purpose_and_enforces_the_file_size_limit(
    emu: Emulator, http: httpx.Client
) -> None:
    r = http.post("/openai/v1/files", files={"file": ("x.jsonl", b"{}\n", "application/jsonl")})
    assert r.status_code == 400 and "purpose" in r.text
    emu.set_batch_speed(max_file_bytes=100)
    r = http.post(
        "/openai/v1/files",
        files={"file": ("x.jsonl", b"x" * 101, "application/jsonl")},
        data={"purpose": "batch"},
    )
    assert r.status_code == 400 and "at most 100 bytes" in r.text


def test_files_need_a_credential(emu: Emulator) -> None:
    r = httpx.get(f"{emu.endpoint}/openai/v1/files")
    assert r.status_code == 401


# --- the lifecycle --------------------------------------------------------------------------------


def test_a_batch_runs_every_line_through_the_online_handlers_sdk(sdk: OpenAI) -> None:
    data = jsonl([chat_line(f"task-{i}", f"Say the number {i}") for i in range(5)])
    f = sdk.files.create(file=("in.jsonl", io.BytesIO(data)), purpose="batch")
    b = sdk.batches.create(
        input_file_id=f.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    assert b.status == "validating" and b.request_counts is not None and b.request_counts.total == 0
    b = sdk.batches.retrieve(b.id)
    assert b.status == "completed"
    assert b.request_counts is not None and (
        b.request_counts.total,
        b.request_counts.completed,
    ) == (5, 5)
    out = [json.loads(x) for x in sdk.files.content(b.output_file_id or "").text.splitlines()]
    assert sorted(o["custom_id"] for o in out) == [f"task-{i}" for i in range(5)]
    for o in out:
        assert o["response"]["status_code"] == 200 and o["error"] is None
        assert o["response"]["body"]["object"] == "chat.completion"
        assert o["response"]["body"]["choices"][0]["message"]["content"]
    assert sdk.files.content(b.error_file_id or "").content == b""  # Azure: an empty error file
    assert [x.id for x in sdk.batches.list()] == [b.id]


def test_output_comes_in_another_order_than_the_input(http: httpx.Client) -> None:
    f = upload(http, jsonl([chat_line(str(i), f"number {i}") for i in range(30)]))
    b = create(http, f["id"])
    done = get(http, b["id"])
    ids = [o["custom_id"] for o in lines_of(http, done["output_file_id"])]
    assert sorted(ids, key=int) == [str(i) for i in range(30)] and ids != sorted(ids, key=int)


def test_dated_route_batch_with_dated_urls(http: httpx.Client) -> None:
    q = f"?api-version={DATED}"
    lines = [chat_line(str(i), "hi", url="/chat/completions") for i in range(2)]
    lines.append(
        {
            "custom_id": "e",
            "method": "POST",
            "url": "/chat/completions",
            "body": {
                "model": "chat-batch",
                "messages": [{"role": "user", "content": "x"}],
                "reasoning_effort": "low",
            },
        }
    )
    f = upload(http, jsonl(lines), base="/openai", query=q)
    b = create(http, f["id"], base="/openai", query=q)
    done = get(http, b["id"], base="/openai", query=q)
    assert done["status"] == "completed"
    assert done["request_counts"] == {"total": 3, "completed": 2, "failed": 1}
    (err,) = lines_of(http, done["error_file_id"], base="/openai", query=q)
    # the online handler's api-version rule: 2024-10-21 has no reasoning_effort
    assert err["custom_id"] == "e" and err["response"]["status_code"] == 400
    assert "reasoning_effort" in json.dumps(err["response"]["body"])


def test_batches_need_a_dated_version_that_has_them(http: httpx.Client) -> None:
    assert http.get("/openai/batches?api-version=2024-06-01").status_code == 404
    assert http.get("/openai/batches?api-version=2024-07-01-preview").status_code == 200
    assert http.get(f"/openai/batches?api-version={DATED}").status_code == 200


def test_partial_failures_get_error_file_lines(http: httpx.Client) -> None:
    lines = [
        chat_line("ok-1", "fine", model="guarded-batch"),
        chat_line("bad", "a forbidden word", model="guarded-batch"),
        chat_line("ok-2", "fine too", model="guarded-batch"),
    ]
    b = create(http, upload(http, jsonl(lines))["id"])
    done = get(http, b["id"])
    assert done["request_counts"] == {"total": 3, "completed": 2, "failed": 1}
    (err,) = lines_of(http, done["error_file_id"])
    assert err["custom_id"] == "bad" and err["response"]["status_code"] == 400
    assert err["response"]["body"]["error"]["code"] == "content_filter"
    assert sorted(o["custom_id"] for o in lines_of(http, done["output_file_id"])) == [
        "ok-1",
        "ok-2",
    ]


def test_embeddings_lines(http: httpx.Client) -> None:
    line = {
        "custom_id": "0",
        "method": "POST",
        "url": "/v1/embeddings",
        "body": {"model": "embed-batch", "input": ["a b", "c d"], "dimensions": 4},
    }
    b = create(http, upload(http, jsonl([line]))["id"], endpoint="/embeddings")
    (out,) = lines_of(http, get(http, b["id"])["output_file_id"])
    data = out["response"]["body"]["data"]
    assert [d["index"] for d in data] == [0, 1] and all(len(d["embedding"]) == 4 for d in data)


# --- validation -------------------------------------------------------------------------------------


def failed_with(http: httpx.Client, raw_lines: list[Any]) -> list[dict[str, Any]]:
    b = create(http, upload(http, jsonl(raw_lines))["id"])
    done = get(http, b["id"])
    assert done["status"] == "failed" and done["failed_at"] is not None
    return done["errors"]["data"]  # type: ignore[no-any-return]


def test_validation_errors_name_the_line(http: httpx.Client) -> None:
    errors = failed_with(
        http,
        [
            chat_line("a", "x"),
            chat_line("a", "duplicate id"),
            chat_line("b", "x", url="/v1/embeddings"),
            b"{not json",
            chat_line("c", "x", model="chat-mini-batch-missing"),
            {"custom_id": "d", "method": "GET", "url": "/v1/chat/completions", "body": {}},
        ],
    )
    got = {(e["code"], e["line"]) for e in errors}
    assert ("duplicate_custom_id", 2) in got
    assert ("url_mismatch", 3) in got
    assert ("invalid_json_line", 4) in got
    assert ("model_mismatch", 5) in got
    assert ("invalid_request", 6) in got
    message = next(e["message"] for e in errors if e["code"] == "duplicate_custom_id")
    assert (
        message
        == "The custom ID for this request is a duplicate of the custom ID in another request."
    )


def test_a_deployment_that_is_not_a_batch_deployment(http: httpx.Client) -> None:
    (err,) = failed_with(http, [chat_line("a", "x", model="chat")])
    assert err["code"] == "invalid_request" and "`globalbatch`" in err["message"]


def test_an_unknown_deployment(http: httpx.Client) -> None:
    (err,) = failed_with(http, [chat_line("a", "x", model="nope")])
    assert err["code"] == "model_not_found"


def test_empty_file_and_too_many_tasks(emu: Emulator, http: httpx.Client) -> None:
    (err,) = failed_with(http, [])
    assert err["code"] == "empty_file"
    emu.set_batch_speed(max_requests_per_file=2)
    (err,) = failed_with(http, [chat_line(str(i), "x") for i in range(3)])
    assert err["code"] == "too_many_tasks" and "2" in err["message"]


def test_enqueued_token_quota(emu: Emulator, clock: FakeClock, http: httpx.Client) -> None:
    emu.set_batch_speed(lines_per_second=1)
    words = " ".join(["word"] * 20)
    first = create(http, upload(http, jsonl([chat_line("a", words, model="zone-batch")]))["id"])
    assert get(http, first["id"])["status"] == "in_progress"
    second = create(
        http,
        upload(http, jsonl([chat_line("b", " ".join(["word"] * 45), model="zone-batch")]))["id"],
    )
    (err,) = get(http, second["id"])["errors"]["data"]
    assert err["code"] == "token_limit_exceeded"
    assert err["message"] == (
        "The number of enqueued tokens has surpassed the configured limit of 60 for the "
        "deployment 'zone-batch'. Please either increase the limit or try again once the current "
        "jobs have finished."
    )
    clock.advance(5)
    assert get(http, first["id"])["status"] == "completed"  # its tokens are free again


def test_completion_window_must_be_24h(http: httpx.Client) -> None:
    b = create(http, upload(http, jsonl([chat_line("a", "x")]))["id"], completion_window="48h")
    (err,) = get(http, b["id"])["errors"]["data"]
    assert "24h" in err["message"]


# --- speed, cancel, expiry ----------------------------------------------------------------------------


def test_speed_and_stages_follow_the_clock(
    emu: Emulator, clock: FakeClock, http: httpx.Client
) -> None:
    emu.set_batch_speed(lines_per_second=2, stage_seconds=1)
    b = create(http, upload(http, jsonl([chat_line(str(i), "x") for i in range(4)]))["id"])
    assert get(http, b["id"])["status"] == "validating"
    clock.advance(1)
    seen = get(http, b["id"])
    assert seen["status"] == "in_progress" and seen["request_counts"]["completed"] == 0
    clock.advance(1)
    assert get(http, b["id"])["request_counts"]["completed"] == 2
    clock.advance(1)
    assert get(http, b["id"])["status"] == "finalizing"
    clock.advance(1)
    done = get(http, b["id"])
    assert done["status"] == "completed" and done["completed_at"] >= done["finalizing_at"]


def test_cancel_keeps_what_ran(emu: Emulator, clock: FakeClock, http: httpx.Client) -> None:
    emu.set_batch_speed(lines_per_second=1, stage_seconds=2)
    b = create(http, upload(http, jsonl([chat_line(str(i), "x") for i in range(5)]))["id"])
    clock.advance(4)
    assert get(http, b["id"])["request_counts"]["completed"] == 2
    r = http.post(f"/openai/v1/batches/{b['id']}/cancel")
    assert r.json()["status"] == "cancelling" and r.json()["cancelling_at"] is not None
    clock.advance(2)
    done = get(http, b["id"])
    assert done["status"] == "cancelled" and done["request_counts"]["completed"] == 2
    assert len(lines_of(http, done["output_file_id"])) == 2
    again = http.post(f"/openai/v1/batches/{b['id']}/cancel")
    assert again.status_code == 400


def test_expired_batches_keep_what_ran(emu: Emulator, clock: FakeClock, http: httpx.Client) -> None:
    emu.set_batch_speed(lines_per_second=1)
    b = create(http, upload(http, jsonl([chat_line(str(i), "x") for i in range(5)]))["id"])
    clock.advance(0.5)
    get(http, b["id"])
    clock.advance(2)
    assert emu.expire_batches() == 1
    done = get(http, b["id"])
    assert done["status"] == "expired" and done["expired_at"] is not None
    assert len(lines_of(http, done["output_file_id"])) == done["request_counts"]["completed"] < 5


def test_list_pages(http: httpx.Client) -> None:
    f = upload(http, jsonl([chat_line("a", "x")]))
    ids = [create(http, f["id"])["id"] for _ in range(3)]
    page = http.get("/openai/v1/batches?limit=2").json()
    assert page["has_more"] is True and len(page["data"]) == 2
    rest = http.get(f"/openai/v1/batches?limit=2&after={page['last_id']}").json()
    assert {b["id"] for b in page["data"] + rest["data"]} == set(ids)


# --- the emulator and the product agree -------------------------------------------------------------


def test_batch_tables_agree_with_the_product() -> None:
    import azoai.batch as product
    from azoai_emulator import api_batches

    assert product._FIRST_PREVIEW.value == api_batches.FIRST_PREVIEW
    assert product._FIRST_GA.value == api_batches.FIRST_GA
    assert product.BATCH_SKUS == api_batches.BATCH_SKUS
