"""The emulator's fine-tuning, driven by the openai SDK (an independent client) and raw HTTP:
jobs moving through Azure's statuses on the emulator's clock, their events and checkpoints,
cancel, pause and resume, the api-version gates, Azure's refusals, and the management API's
deployment PUT that puts the fine-tuned model behind a deployment that then answers chat."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import openai
import pytest
from emu_helpers import FakeClock
from openai import AzureOpenAI, OpenAI

from azoai_emulator import Emulator

STAGE = 10.0  # seconds of the fake clock per stage
ROW = {
    "messages": [
        {"role": "user", "content": "What is the tide doing?"},
        {"role": "assistant", "content": "Coming in, slowly."},
    ]
}
GOOD = ("\n".join(json.dumps(ROW) for _ in range(10)) + "\n").encode()


@pytest.fixture(scope="module")
def ft_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def ft_emu(ft_clock: FakeClock) -> Iterator[Emulator]:
    with Emulator(
        clock=ft_clock, fine_tuning_stage_seconds=STAGE, fine_tuning_deploy_seconds=0.0
    ) as e:
        yield e


@pytest.fixture(autouse=True)
def _clean(ft_emu: Emulator) -> None:
    ft_emu.reset()


@pytest.fixture
def sdk(ft_emu: Emulator) -> OpenAI:
    return OpenAI(base_url=ft_emu.v1_base_url, api_key=ft_emu.api_key, max_retries=0)


def _job(sdk: OpenAI, data: bytes = GOOD, **kw: object) -> str:
    file = sdk.files.create(file=("train.jsonl", data), purpose="fine-tune")
    job = sdk.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=file.id, **kw)  # type: ignore[arg-type]
    return job.id


def test_a_job_moves_through_its_statuses_on_the_clock(sdk: OpenAI, ft_clock: FakeClock) -> None:
    job_id = _job(sdk, hyperparameters={"n_epochs": 2}, suffix="tides", seed=3)
    seen = []
    for _ in range(6):
        job = sdk.fine_tuning.jobs.retrieve(job_id)
        seen.append(job.status)
        ft_clock.advance(STAGE)
    assert seen == ["validating_files", "queued", "running", "running", "succeeded", "succeeded"]
    assert job.fine_tuned_model == f"gpt-4o-mini-2024-07-18.ft-{job_id[6:]}-tides"
    assert job.hyperparameters.n_epochs == 2 and job.seed == 3 and job.trained_tokens
    assert job.finished_at is not None and job.result_files
    events = sdk.fine_tuning.jobs.list_events(job_id).data
    assert events[0].message == "The job has successfully completed."  # newest first
    assert any(e.type == "metrics" for e in events)
    checkpoints = sdk.fine_tuning.jobs.checkpoints.list(job_id).data
    assert [c.step_number for c in checkpoints] == [20, 10]
    assert checkpoints[0].fine_tuned_model_checkpoint.endswith(":ckpt-step-20")


def test_a_jump_in_time_runs_every_stage_due(sdk: OpenAI, ft_clock: FakeClock) -> None:
    job_id = _job(sdk)
    ft_clock.advance(STAGE * 20)
    assert sdk.fine_tuning.jobs.retrieve(job_id).status == "succeeded"
    assert len(sdk.fine_tuning.jobs.checkpoints.list(job_id).data) == 3  # the last three epochs


def test_a_bad_training_file_fails_at_validation(sdk: OpenAI, ft_clock: FakeClock) -> None:
    bad = GOOD + json.dumps({"messages": [{"role": "user", "content": "?"}]}).encode() + b"\n"
    job_id = _job(sdk, bad)
    ft_clock.advance(STAGE)
    job = sdk.fine_tuning.jobs.retrieve(job_id)
    assert job.status == "failed" and job.error is not None
    assert job.error.code == "invalid_training_file" and "Line 11" in job.error.message
    few = sdk.fine_tuning.jobs.retrieve(_job(sdk, b"\n".join(GOOD.splitlines()[:3])))
    ft_clock.advance(STAGE)
    few = sdk.fine_tuning.jobs.retrieve(few.id)
    assert few.status == "failed" and "at least 10" in (few.error.message if few.error else "")


def test_cancel_pause_resume(sdk: OpenAI, ft_clock: FakeClock) -> None:
    job_id = _job(sdk, hyperparameters={"n_epochs": 5})
    with pytest.raises(openai.BadRequestError, match="only a running job"):
        sdk.fine_tuning.jobs.pause(job_id)
    ft_clock.advance(STAGE * 3 + 4)  # into the second epoch, 4 s along
    assert sdk.fine_tuning.jobs.pause(job_id).status == "paused"
    ft_clock.advance(STAGE * 50)
    assert sdk.fine_tuning.jobs.retrieve(job_id).status == "paused"
    assert sdk.fine_tuning.jobs.resume(job_id).status == "running"
    ft_clock.advance(STAGE - 4)  # the rest of the epoch it was paused in
    assert len(sdk.fine_tuning.jobs.checkpoints.list(job_id).data) == 2
    assert sdk.fine_tuning.jobs.cancel(job_id).status == "cancelled"
    with pytest.raises(openai.BadRequestError, match="already cancelled"):
        sdk.fine_tuning.jobs.cancel(job_id)


def test_refusals(sdk: OpenAI) -> None:
    file = sdk.files.create(file=("t.jsonl", GOOD), purpose="fine-tune")
    with pytest.raises(openai.BadRequestError, match="does not support fine-tuning"):
        sdk.fine_tuning.jobs.create(model="text-embedding-3-small", training_file=file.id)
    with pytest.raises(openai.BadRequestError, match="invalid training_file"):
        sdk.fine_tuning.jobs.create(model="gpt-4o-mini", training_file="file-nope")
    batch = sdk.files.create(file=("b.jsonl", b"{}\n"), purpose="batch")
    with pytest.raises(openai.BadRequestError, match="invalid training_file"):
        sdk.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=batch.id)
    with pytest.raises(openai.BadRequestError, match="suffix"):
        sdk.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file.id, suffix="x" * 41)
    with pytest.raises(openai.NotFoundError, match=r"No such fine_tuning\.job object"):
        sdk.fine_tuning.jobs.retrieve("ftjob-missing")


def test_listing_pages_newest_first(sdk: OpenAI, ft_clock: FakeClock) -> None:
    first = _job(sdk)
    ft_clock.advance(1)
    second = _job(sdk)
    page = sdk.fine_tuning.jobs.list(limit=1)
    assert [j.id for j in page.data] == [second] and page.has_more
    assert [j.id for j in sdk.fine_tuning.jobs.list(limit=5, after=second).data] == [first]


def test_dated_versions_gate_the_routes(ft_emu: Emulator) -> None:
    def sdk_at(version: str) -> AzureOpenAI:
        return AzureOpenAI(
            azure_endpoint=ft_emu.endpoint,
            api_key=ft_emu.api_key,
            api_version=version,
            max_retries=0,
        )

    ga = sdk_at("2024-02-01")
    file = ga.files.create(file=("t.jsonl", GOOD), purpose="fine-tune")
    job = ga.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=file.id)
    assert job.status == "validating_files"
    with pytest.raises(openai.NotFoundError):  # checkpoints came with GA 2024-06-01
        ga.fine_tuning.jobs.checkpoints.list(job.id)
    assert sdk_at("2024-06-01").fine_tuning.jobs.checkpoints.list(job.id).data == []
    with pytest.raises(openai.NotFoundError):  # pause is in 2025-04-01-preview only
        sdk_at("2024-10-21").fine_tuning.jobs.pause(job.id)
    with pytest.raises(openai.NotFoundError):
        sdk_at("2023-09-01-preview").fine_tuning.jobs.retrieve(job.id)


# --- the management API: deploying the fine-tuned model ---------------------------------------------


def _arm(emu: Emulator, name: str) -> str:
    return (
        f"{emu.arm_endpoint}/subscriptions/{emu.subscription_id}/resourceGroups/"
        f"{emu.resource_group}/providers/Microsoft.CognitiveServices/accounts/{emu.account}/"
        f"deployments/{name}"
    )


def _headers(emu: Emulator) -> dict[str, str]:
    return {"Authorization": f"Bearer {emu.issue_token(audience='https://management.azure.com')}"}


def test_put_deploys_the_fine_tuned_model_which_then_answers_chat(
    ft_emu: Emulator, sdk: OpenAI, ft_clock: FakeClock
) -> None:
    job_id = _job(sdk, hyperparameters={"n_epochs": 1})
    ft_clock.advance(STAGE * 3)
    model = sdk.fine_tuning.jobs.retrieve(job_id).fine_tuned_model
    assert model is not None
    body = {
        "sku": {"name": "standard", "capacity": 2},
        "properties": {"model": {"format": "OpenAI", "name": model, "version": "1"}},
    }
    url, params = _arm(ft_emu, "tide-bot"), {"api-version": "2024-10-01"}
    resp = httpx.put(url, params=params, json=body, headers=_headers(ft_emu), timeout=10)
    assert resp.status_code == 201
    created = resp.json()
    assert created["properties"]["provisioningState"] == "Creating"
    assert created["sku"] == {"name": "Standard", "capacity": 2}
    assert created["properties"]["model"] == {"format": "OpenAI", "name": model, "version": "1"}
    deadline = time.monotonic() + 5
    while True:
        got = httpx.get(url, params=params, headers=_headers(ft_emu), timeout=10).json()
        if got["properties"]["provisioningState"] == "Succeeded" or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert got["properties"]["provisioningState"] == "Succeeded"
    assert got["properties"]["capabilities"]["chatCompletion"] == "true"
    answer = sdk.chat.completions.create(
        model="tide-bot", messages=[{"role": "user", "content": "hi"}]
    )
    assert answer.choices[0].message.content and answer.model == model
    again = httpx.put(url, params=params, json=body, headers=_headers(ft_emu), timeout=10)
    assert again.status_code == 200  # an update
    assert httpx.delete(url, params=params, headers=_headers(ft_emu), timeout=10).status_code == 200
    missing = httpx.get(url, params=params, headers=_headers(ft_emu), timeout=10)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "DeploymentNotFound"


def test_put_refusals(ft_emu: Emulator) -> None:
    url, params = _arm(ft_emu, "bot"), {"api-version": "2024-10-01"}

    def put(body: object, headers: dict[str, str] | None = None) -> httpx.Response:
        return httpx.put(
            url,
            params=params,
            json=body,
            headers=_headers(ft_emu) if headers is None else headers,
            timeout=10,
        )

    model = {"format": "OpenAI", "name": "gpt-4o-mini-2024-07-18.ft-unknown", "version": "1"}
    resp = put({"sku": {"name": "Standard", "capacity": 1}, "properties": {"model": model}})
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "DeploymentModelNotSupported"
    resp = put(
        {
            "sku": {"name": "Gold", "capacity": 1},
            "properties": {"model": {**model, "name": "gpt-4o"}},
        }
    )
    assert resp.status_code == 400 and "SKU" in resp.json()["error"]["message"]
    resp = put(
        {"sku": {"name": "Standard"}, "properties": {"model": {**model, "name": "gpt-4o"}}}, {}
    )
    assert resp.status_code == 401
    assert (
        httpx.put(url, json={}, headers=_headers(ft_emu), timeout=10).status_code == 400
    )  # no api-version
    assert "bot" not in [d.name for d in ft_emu.deployments]
