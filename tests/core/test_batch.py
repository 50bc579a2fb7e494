"""The core's Batch API client (azoai.batch) against the emulator over loopback: both routes,
results in input order, failed items by index and reason, splitting over the per-file limits and
the enqueued-token quota, a job resumed in a new process after the first was killed, cancelled and
expired jobs, rejected files and deployments that cannot take batches, and async."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from azoai import Client
from azoai.batch import Batches, BatchOptions
from azoai.embeddings import EmbeddingBatchError
from azoai.errors import (
    ApiVersionError,
    BatchCancelledError,
    BatchDeploymentError,
    BatchExpiredError,
    BatchInputRejectedError,
    ConfigError,
    ContentFilterError,
)
from azoai.wire import ChatRequest, Message
from azoai_emulator import Emulator, EmulatorDeployment

DEPLOYMENTS = (
    EmulatorDeployment("chat-batch", model="gpt-4o", sku="GlobalBatch"),
    EmulatorDeployment("quota-batch", model="gpt-4o", sku="GlobalBatch", enqueued_tokens=120),
    EmulatorDeployment(
        "guarded-batch", model="gpt-4o", sku="GlobalBatch", blocklist=("forbidden",)
    ),
    EmulatorDeployment("embed-batch", model="text-embedding-3-small", sku="DataZoneBatch"),
    EmulatorDeployment("chat", model="gpt-4o"),
)
FAST = {"poll_interval": 0.01, "max_poll_interval": 0.05}


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(deployments=DEPLOYMENTS) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def _fresh(emu: Emulator) -> Iterator[None]:
    emu.set_batch_speed()
    yield
    emu.reset()


def client(emu: Emulator, **kw: Any) -> Client:
    kw.setdefault("deployment", "chat-batch")
    return Client(endpoint=emu.endpoint, api_key=emu.api_key, **kw)


def batches(
    emu: Emulator, tmp_path: Path, client_kw: dict[str, Any] | None = None, **options: Any
) -> Batches:
    return Batches(client(emu, **(client_kw or {})), {"job_dir": str(tmp_path), **FAST, **options})


def asks(n: int, word: str = "number") -> list[ChatRequest]:
    return [ChatRequest(messages=[Message("user", f"Say the {word} {i}")]) for i in range(n)]


# --- chat, both routes ---------------------------------------------------------------------------


@pytest.mark.parametrize("api_version", [None, "2024-10-21"], ids=["v1", "dated"])
def test_chat_results_come_back_in_input_order(
    emu: Emulator, tmp_path: Path, api_version: str | None
) -> None:
    kw = {"api_version": api_version} if api_version else {}
    job = batches(emu, tmp_path, kw).submit_chat(asks(12))
    items = list(job.collect())
    assert [i.index for i in items] == list(range(12))
    assert all(i.ok for i in items)
    for i in items:  # the emulator echoes the number; lines ran in a shuffled order
        assert f"number {i.index}" in i.result.text
        assert i.result.deployment == "chat-batch" and i.result.usage.input_tokens > 0
    paths = {r.path for r in emu.requests}
    if api_version:
        assert "/openai/files" in paths and "/openai/batches" in paths
        assert all(r.query.get("api-version") == api_version for r in emu.requests)
        (b,) = emu.batches
        assert b["endpoint"] == "/chat/completions"
    else:
        assert "/openai/v1/files" in paths and "/openai/v1/batches" in paths
    assert job.status().state == "done"


def test_input_lines_carry_the_route_url_and_the_deployment(emu: Emulator, tmp_path: Path) -> None:
    import httpx

    for kw, url in (
        ({}, "/v1/chat/completions"),
        ({"api_version": "2024-10-21"}, "/chat/completions"),
    ):
        job = batches(emu, tmp_path, kw).submit_chat(asks(2))
        job.wait()
        (stored,) = [f for f in emu.files if f["purpose"] == "batch"]
        raw = httpx.get(
            f"{emu.endpoint}/openai/v1/files/{stored['id']}/content",
            headers={"api-key": emu.api_key},
        ).content
        lines = [json.loads(x) for x in raw.splitlines()]
        assert [(x["custom_id"], x["method"], x["url"]) for x in lines] == [
            ("0", "POST", url),
            ("1", "POST", url),
        ]
        assert all(x["body"]["model"] == "chat-batch" for x in lines)
        assert not raw.startswith(b"\xef\xbb\xbf")  # no byte-order mark: Azure refuses one
        emu.reset()


def test_responses_batch_on_v1(emu: Emulator, tmp_path: Path) -> None:
    job = batches(emu, tmp_path).submit_chat(asks(3), api="responses")
    results = job.chat_results()
    assert [r.api for r in results] == ["responses"] * 3  # type: ignore[union-attr]
    assert "number 2" in results[2].text  # type: ignore[union-attr]
    with pytest.raises(ConfigError, match="v1 route only") as err:
        batches(emu, tmp_path, {"api_version": "2025-04-01-preview"}).submit_chat(
            asks(1), api="responses"
        )
    assert err.value.setting == "route"


def test_dated_version_without_batches_is_refused_before_sending(
    emu: Emulator, tmp_path: Path
) -> None:
    with pytest.raises(ApiVersionError, match="2024-07-01-preview") as err:
        batches(emu, tmp_path, {"api_version": "2024-06-01"}).submit_chat(asks(1))
    assert err.value.setting == "api_version"
    assert emu.requests == []


# --- failed items by index and reason ---------------------------------------------------------------


def test_failed_requests_are_reported_by_index_never_dropped(emu: Emulator, tmp_path: Path) -> None:
    requests = asks(5)
    requests[1] = ChatRequest(
        messages=[Message("user", "a forbidden word")]
    )  # the filter refuses it
    requests[3] = ChatRequest(
        messages=[Message("user", "x")], temperature=float("nan")
    )  # unsendable
    job = batches(emu, tmp_path).submit_chat(requests, model="guarded-batch")
    items = list(job.collect())
    assert [i.index for i in items] == [0, 1, 2, 3, 4]
    assert [i.ok for i in items] == [True, False, True, False, True]
    assert isinstance(items[1].error, ContentFilterError) and items[1].error.side == "prompt"
    assert isinstance(items[3].error, ConfigError) and items[3].error.setting == "temperature"
    status = job.status()
    assert (status.total, status.completed, status.failed) == (5, 3, 2)


def test_a_file_azure_rejects_reports_every_request_with_azures_reason(
    emu: Emulator, tmp_path: Path
) -> None:
    emu.set_batch_speed(max_requests_per_file=2)  # Azure's validation: too_many_tasks
    job = batches(emu, tmp_path).submit_chat(asks(3))
    items = list(job.collect())
    assert len(items) == 3 and not any(i.ok for i in items)
    err = items[0].error
    assert isinstance(err, BatchInputRejectedError) and err.batch_id == job.record.files[0].batch_id
    assert [e.code for e in err.line_errors] == ["too_many_tasks"]
    assert "too_many_tasks" in str(err)


def test_a_rejected_line_carries_its_own_reason(emu: Emulator, tmp_path: Path) -> None:
    # A JSONL whose line 2 Azure rejects (the emulator's validation reads each line): azoai
    # writes its own lines, so this one comes from a file submitted as it is.
    path = tmp_path / "in.jsonl"
    good = {
        "custom_id": "a",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"messages": [{"role": "user", "content": "hi"}]},
    }
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "custom_id": "b"}) + "\n")
    b = batches(emu, tmp_path / "jobs")
    job = b._plan_jsonl(path, None)
    # corrupt line 2 on disk before it is uploaded: Azure answers invalid_json_line for it
    data = (job.folder / "input-0.jsonl").read_bytes().splitlines(keepends=True)
    (job.folder / "input-0.jsonl").write_bytes(data[0] + b"{broken\n")
    job.submit()
    first, second = list(job.collect())
    assert isinstance(second.error, BatchInputRejectedError)
    assert [(e.code, e.line, e.index) for e in second.error.line_errors] == [
        ("invalid_json_line", 2, 1)
    ]
    assert (
        isinstance(first.error, BatchInputRejectedError)
        and first.label == "a"
        and second.label == "b"
    )


# --- splitting and quota --------------------------------------------------------------------------


def test_input_is_split_over_the_per_file_limits(emu: Emulator, tmp_path: Path) -> None:
    emu.set_batch_speed(max_requests_per_file=4, max_file_bytes=1200)
    job = batches(emu, tmp_path, max_requests_per_file=4, max_bytes_per_file=1200).submit_chat(
        asks(23)
    )
    files = job.record.files
    assert len(files) >= 6
    assert all(f.lines <= 4 and f.bytes <= 1200 for f in files)
    assert [f.start for f in files] == sorted(f.start for f in files)
    items = list(job.collect())
    assert [i.index for i in items] == list(range(23)) and all(i.ok for i in items)
    assert len(emu.batches) == len(files)


def test_files_wait_for_the_enqueued_token_quota(emu: Emulator, tmp_path: Path) -> None:
    emu.set_batch_speed(lines_per_second=50)
    job = batches(
        emu, tmp_path, {"deployment": "quota-batch"}, enqueued_token_limit=100
    ).submit_chat(asks(12))
    assert len(job.record.files) > 1 and all(f.tokens <= 100 for f in job.record.files)
    assert job.status().state == "submitting"  # the first file is running, the rest wait
    seen_running: list[int] = []
    job.wait(
        progress=lambda st: seen_running.append(sum(f.status == "in_progress" for f in st.files))
    )
    assert max(seen_running) == 1
    assert all(b["status"] == "completed" for b in emu.batches)  # never refused for quota
    assert [i.index for i in job.collect(wait=False) if i.ok] == list(range(12))


def test_a_file_azure_refuses_for_quota_is_submitted_again(emu: Emulator, tmp_path: Path) -> None:
    emu.set_batch_speed(lines_per_second=50)
    # no limit configured here: Azure's validation refuses the second file (token_limit_exceeded)
    long = "number" + " please" * 12  # 16 tokens a line: two files of 5 are over 120
    b = batches(emu, tmp_path, {"deployment": "quota-batch"}, max_requests_per_file=5)
    job = b.submit_chat(asks(15, word=long))
    items = list(job.collect())
    assert all(i.ok for i in items) and len(items) == 15
    refused = [b for b in emu.batches if b["status"] == "failed"]
    assert refused and all(
        b["errors"]["data"][0]["code"] == "token_limit_exceeded" for b in refused
    )
    assert max(f.retries for f in job.record.files) >= 1


# --- resume, cancel, expiry -------------------------------------------------------------------------

_CHILD = textwrap.dedent(
    """
    import sys
    from azoai import Client
    from azoai.batch import Batches
    from azoai.wire import ChatRequest, Message

    endpoint, key, job_dir = sys.argv[1:4]
    client = Client(endpoint=endpoint, api_key=key, deployment="quota-batch")
    batches = Batches(client, {"job_dir": job_dir, "poll_interval": 0.02, "max_poll_interval": 0.05,
                               "enqueued_token_limit": 100})
    job = batches.submit_chat(ChatRequest(messages=[Message("user", f"Say the number {i}")]) for i in range(30))
    print(job.id, flush=True)
    job.wait(progress=lambda st: print("POLLED", st.completed, flush=True))
    print("DONE", flush=True)
    """
)


def test_a_job_resumes_in_another_process_after_the_first_was_killed(
    emu: Emulator, tmp_path: Path
) -> None:
    emu.set_batch_speed(lines_per_second=20)
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, emu.endpoint, emu.api_key, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        job_id = proc.stdout.readline().strip()
        assert job_id.startswith("job-")
        assert proc.stdout.readline().startswith("POLLED")  # it is polling: kill it mid-job
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    resumed = Batches(
        client(emu, deployment="quota-batch"), {"job_dir": str(tmp_path), **FAST}
    ).resume(job_id)
    assert resumed.status().state in ("submitting", "running")
    items = list(resumed.collect())
    assert [i.index for i in items] == list(range(30)) and all(i.ok for i in items)
    assert all(f"number {i.index}" in i.result.text for i in items)
    batch_ids = [f.batch_id for f in resumed.record.files]
    assert len(set(batch_ids)) == len(batch_ids) == len(emu.batches)  # no file ran twice


def test_a_batch_created_just_before_a_crash_is_found_not_created_twice(
    emu: Emulator, tmp_path: Path
) -> None:
    emu.set_batch_speed(lines_per_second=50)
    job = batches(emu, tmp_path).submit_chat(asks(3))
    (created,) = emu.batches
    # the process died after Azure created the batch, before the record saved its id
    path = tmp_path / f"{job.id}.json"
    record = json.loads(path.read_text())
    record["files"][0].update(batch_id=None, status="pending")
    path.write_text(json.dumps(record))
    resumed = batches(emu, tmp_path).resume(job.id)
    items = list(resumed.collect())
    assert [i.ok for i in items] == [True] * 3
    assert [b["id"] for b in emu.batches] == [created["id"]]
    assert resumed.record.files[0].batch_id == created["id"]


def test_resume_names_the_job_dir_and_the_endpoint(emu: Emulator, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no batch job") as err:
        batches(emu, tmp_path).resume("job-" + "0" * 32)
    assert err.value.setting == "batch.job_dir"
    job = batches(emu, tmp_path).submit_chat(asks(1))
    other = Batches(
        Client(endpoint="https://other.openai.azure.com", api_key="k", deployment="d"),
        {"job_dir": str(tmp_path)},
    )
    with pytest.raises(ConfigError, match="was submitted to") as err:
        other.resume(job.id)
    assert err.value.setting == "endpoint"


def test_a_cancelled_job_returns_the_completed_work(emu: Emulator, tmp_path: Path) -> None:
    emu.set_batch_speed(lines_per_second=40)
    job = batches(
        emu, tmp_path, {"deployment": "quota-batch"}, enqueued_token_limit=100
    ).submit_chat(asks(20))
    assert len(job.record.files) >= 3
    deadline = time.monotonic() + 10
    while job.poll().completed < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    status = job.cancel()
    assert status.state in ("cancelling", "cancelled") and job.record.cancelled
    items = list(job.collect())
    assert [i.index for i in items] == list(range(20))
    done = [i for i in items if i.ok]
    cancelled = [i for i in items if isinstance(i.error, BatchCancelledError)]
    assert len(done) >= 2 and len(done) + len(cancelled) == 20
    assert all(f"number {i.index}" in i.result.text for i in done)
    assert job.status().state == "cancelled"
    assert any(f.status == "not_submitted" for f in job.record.files)


def test_an_expired_batch_reports_what_did_not_run(emu: Emulator, tmp_path: Path) -> None:
    emu.set_batch_speed(lines_per_second=10)
    job = batches(emu, tmp_path).submit_chat(asks(10))
    deadline = time.monotonic() + 10
    while job.poll().completed < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    emu.expire_batches()
    items = list(job.collect())
    assert len(items) == 10
    expired = [i for i in items if isinstance(i.error, BatchExpiredError)]
    assert expired and all(i.ok or i in expired for i in items)
    assert job.record.files[0].status == "expired"


# --- deployments that cannot take batches --------------------------------------------------------------


def test_a_known_standard_deployment_is_refused_before_uploading(
    emu: Emulator, tmp_path: Path
) -> None:
    b = batches(
        emu,
        tmp_path,
        {"deployments": [{"name": "chat", "model": "gpt-4o", "sku": "GlobalStandard"}]},
    )
    with pytest.raises(BatchDeploymentError, match="GlobalStandard deployment") as err:
        b.submit_chat(asks(2), model="chat")
    assert err.value.setting == "model" and "Global-Batch" in (err.value.fix or "")
    assert emu.requests == []


def test_azures_sku_refusal_is_a_typed_error(emu: Emulator, tmp_path: Path) -> None:
    job = batches(emu, tmp_path).submit_chat(asks(2), model="chat")  # not known: Azure says so
    with pytest.raises(BatchDeploymentError, match="is not a batch deployment") as err:
        list(job.collect())
    assert err.value.code == "invalid_request" and "`globalbatch`" in err.value.message
    job = batches(emu, tmp_path).submit_chat(asks(2), model="missing")
    with pytest.raises(BatchDeploymentError, match="was not found"):
        list(job.collect())


# --- embeddings -------------------------------------------------------------------------------------


def test_embeddings_in_order_with_failures_by_index(emu: Emulator, tmp_path: Path) -> None:
    texts = [f"text number {i}" for i in range(9)]
    texts[4] = ""
    b = batches(emu, tmp_path, embeddings_per_line=2)
    job = b.submit_embeddings(texts, model="embed-batch", dimensions=16)
    with pytest.raises(EmbeddingBatchError) as err:
        job.embeddings()
    assert err.value.failed_indices == [4] and "empty" in err.value.errors[4].message
    assert all(v is not None and len(v) == 16 for i, v in enumerate(err.value.partial) if i != 4)
    zero = b.submit_embeddings(texts, model="embed-batch", dimensions=16, empty="zero").embeddings()
    assert zero.vectors[4] == [0.0] * 16
    online = client(emu, deployment="embed-batch").embed([texts[7]], dimensions=16).vectors[0]
    assert zero.vectors[7] == pytest.approx(online, abs=1e-6)  # the same vector as online, in place


# --- async --------------------------------------------------------------------------------------------


async def test_async_chat_and_embeddings(emu: Emulator, tmp_path: Path) -> None:
    b = batches(emu, tmp_path)
    job = await b.asubmit_chat(asks(6))
    results = await job.achat_results()
    assert [r.text for r in results] and all(f"number {i}" in r.text for i, r in enumerate(results))  # type: ignore[union-attr]
    emb = await (await b.asubmit_embeddings(["a b", "c d"], model="embed-batch")).aembeddings()
    assert len(emb.vectors) == 2 and len(emb.vectors[0]) == 1536
    status = await job.apoll()
    assert status.done


# --- options -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "setting"),
    [
        ({"max_requests_per_file": 100_001}, "batch.max_requests_per_file"),
        ({"max_bytes_per_file": 0}, "batch.max_bytes_per_file"),
        ({"enqueued_token_limit": -1}, "batch.enqueued_token_limit"),
        ({"embeddings_per_line": 4096}, "batch.embeddings_per_line"),
        ({"file_expires_after": 60}, "batch.file_expires_after"),
        ({"poll_intervall": 1}, "batch.poll_intervall"),
    ],
)
def test_options_are_checked(options: dict[str, Any], setting: str) -> None:
    with pytest.raises(ConfigError) as err:
        BatchOptions.coerce(options)
    assert err.value.setting == setting


def test_file_expiry_is_sent(emu: Emulator, tmp_path: Path) -> None:
    job = batches(emu, tmp_path, file_expires_after=1_209_600).submit_chat(asks(1))
    job.wait()
    (stored,) = [f for f in emu.files if f["purpose"] == "batch"]
    assert stored["expires_at"] - stored["created_at"] == 1_209_600
