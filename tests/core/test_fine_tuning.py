"""Fine-tuning through the core (issue 19): a training file checked line by line before upload
(a malformed one is a typed error naming the line, and nothing is sent), jobs created with
their options, followed through their statuses to completion, listed, cancelled, paused and
resumed, their events and checkpoints, and the fine-tuned model deployed through the management
API (discovery's credential rules) and then chatted with, against the emulator over a loopback
socket; the CLI's ``fine-tune follow``."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken

from azoai import Client, FineTuning
from azoai.cli import main
from azoai.errors import (
    ApiVersionError,
    AzoaiError,
    ConfigError,
    FineTuningJobError,
    InputTooLargeError,
    TrainingDataError,
)
from azoai.wire import ChatRequest, Message
from azoai_emulator import Emulator

MANAGEMENT = "https://management.azure.com"
ORDER = ["validating_files", "queued", "running", "succeeded"]


class ArmCredential:
    """Management tokens from the emulator's issuer, counted."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kw: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(self.emu.issue_token(audience=MANAGEMENT), int(time.time() + 3600))


def example(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "messages": [
            {"role": "system", "content": "You answer like a lighthouse keeper."},
            {"role": "user", "content": f"Question {i}?"},
            {"role": "assistant", "content": f"Answer {i}, by the lamp."},
        ],
        **extra,
    }


def jsonl(rows: list[Any]) -> bytes:
    return ("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n").encode()


GOOD = jsonl([example(i) for i in range(12)])


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(fine_tuning_stage_seconds=0.02, fine_tuning_deploy_seconds=0.02) as e:
        yield e


@pytest.fixture(autouse=True)
def _clean(emu: Emulator) -> None:
    emu.reset()
    emu.set_fine_tuning_speed(0.02, 0.02)


def management(emu: Emulator, cred: ArmCredential | None = None) -> dict[str, Any]:
    return {
        "subscription_id": emu.subscription_id,
        "resource_group": emu.resource_group,
        "account": emu.account,
        "arm_host": emu.arm_endpoint,
        "credential": cred or ArmCredential(emu),
    }


def client(emu: Emulator, **kw: Any) -> Client:
    return Client(endpoint=emu.endpoint, api_key=emu.api_key, env={}, config_file="", **kw)


@pytest.fixture
def ft(emu: Emulator) -> Iterator[FineTuning]:
    c = client(emu)
    yield FineTuning(c)
    c.close()


# --- training data checked before upload ------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "line", "why"),
    [
        (
            [*[example(i) for i in range(4)], "{not json", *[example(i) for i in range(8)]],
            5,
            "not valid JSON",
        ),
        (
            [
                *[example(i) for i in range(2)],
                {"prompt": "old format"},
                *[example(i) for i in range(9)],
            ],
            3,
            '"messages"',
        ),
        (
            [
                *[example(i) for i in range(6)],
                {"messages": [{"role": "user", "content": "hi"}]},
                *[example(i) for i in range(6)],
            ],
            7,
            "no assistant message",
        ),
        (
            [
                example(0),
                {
                    "messages": [
                        {"role": "robot", "content": "x"},
                        {"role": "assistant", "content": "y"},
                    ]
                },
                *[example(i) for i in range(10)],
            ],
            2,
            "role 'robot'",
        ),
        (
            [
                example(0),
                {
                    "messages": [
                        {"role": "user", "content": "x", "weight": 1},
                        {"role": "assistant", "content": "y"},
                    ]
                },
                *[example(i) for i in range(10)],
            ],
            2,
            "only assistant messages take",
        ),
        ([example(0), example(1), "", *[example(i) for i in range(10)]], 3, "is empty"),
        ([example(0), [1, 2, 3], *[example(i) for i in range(10)]], 2, "not a JSON object"),
        ([example(i) for i in range(9)], None, "at least 10"),
    ],
)
def test_a_malformed_training_file_is_refused_naming_the_line(
    ft: FineTuning, emu: Emulator, tmp_path: Path, rows: list[Any], line: int | None, why: str
) -> None:
    path = tmp_path / "train.jsonl"
    path.write_bytes(jsonl(rows))
    with pytest.raises(TrainingDataError, match=why) as err:
        ft.create_job("gpt-4o-mini-2024-07-18", path)
    assert err.value.line == line and err.value.source == "train.jsonl"
    assert err.value.setting == "training_file"
    if line is not None:
        assert f"train.jsonl, line {line}:" in str(err.value)
    with pytest.raises(TrainingDataError):
        ft.upload_file(path.read_bytes())
    assert emu.requests == []  # nothing was sent


def test_a_good_file_passes_the_check_and_a_bom_is_accepted(ft: FineTuning) -> None:
    report = ft.check_file(b"\xef\xbb\xbf" + GOOD)
    assert (report.examples, report.assistant_turns) == (12, 12)
    weighted = jsonl(
        [
            {
                "messages": [
                    {"role": "user", "content": "a"},
                    {"role": "assistant", "content": "b", "weight": 0},
                    {"role": "user", "content": "c"},
                    {"role": "assistant", "content": "d", "weight": 1},
                ]
            }
        ]
        * 10
    )
    assert ft.check_file(weighted).assistant_turns == 10


def test_a_file_over_512_mb_is_refused_before_it_is_read(
    ft: FineTuning, emu: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "huge.jsonl"
    with path.open("wb") as fh:
        fh.truncate(600 * 1024 * 1024)  # sparse
    with pytest.raises(InputTooLargeError, match="512 MB"):
        ft.create_job("gpt-4o-mini-2024-07-18", path)
    assert emu.requests == []


def test_job_options_are_checked_before_any_upload(ft: FineTuning, emu: Emulator) -> None:
    with pytest.raises(ConfigError, match="suffix"):
        ft.create_job("gpt-4o-mini-2024-07-18", GOOD, suffix="has spaces!")
    with pytest.raises(ConfigError, match="n_epochs"):
        ft.create_job("gpt-4o-mini-2024-07-18", GOOD, hyperparameters={"n_epochs": 0})
    with pytest.raises(ConfigError, match="seed"):
        ft.create_job("gpt-4o-mini-2024-07-18", GOOD, seed="7")  # type: ignore[arg-type]
    assert emu.requests == []


# --- jobs ---------------------------------------------------------------------------------------------


def test_create_follow_deploy_and_chat(emu: Emulator, tmp_path: Path) -> None:
    train, valid = tmp_path / "train.jsonl", tmp_path / "valid.jsonl"
    train.write_bytes(GOOD)
    valid.write_bytes(jsonl([example(i) for i in range(3)]))
    cred = ArmCredential(emu)
    with client(emu, discovery=management(emu, cred)) as c:
        job = FineTuning(c).create_job(
            "gpt-4o-mini-2024-07-18",
            train,
            validation_file=valid,
            hyperparameters={"n_epochs": 2, "batch_size": 4},
            suffix="keeper",
            seed=7,
        )
        assert job.status == "validating_files" and job.training_file and job.validation_file
        uploads = [r for r in emu.requests if r.path == "/openai/v1/files"]
        assert len(uploads) == 2
        for file_id in (job.training_file, job.validation_file):
            info = FineTuning(c).get_file(file_id)
            assert (info.purpose, info.status) == ("fine-tune", "processed")
        assert FineTuning(c).get_file(job.training_file).filename == "train.jsonl"
        created = next(r for r in emu.requests if r.path == "/openai/v1/fine_tuning/jobs")
        assert created.body == {
            "model": "gpt-4o-mini-2024-07-18",
            "training_file": job.training_file,
            "validation_file": job.validation_file,
            "hyperparameters": {"n_epochs": 2, "batch_size": 4},
            "suffix": "keeper",
            "seed": 7,
        }
        statuses, messages = [], []
        for update in FineTuning(c).follow(job.id, poll_interval=0.01, timeout=20):
            statuses.append(update.job.status)
            messages += [e.message for e in update.events]
        # in Azure's order, an update per change or new events (a slow poll may see two stages
        # pass; the exact sequence on a controlled clock is the emulator's test)
        assert statuses[0] == "validating_files" and statuses[-1] == "succeeded"
        assert statuses == sorted(statuses, key=ORDER.index)
        assert (
            messages[0].startswith("Created fine-tuning job")
            and "successfully completed" in messages[-1]
        )
        done = FineTuning(c).get_job(job.id)
        assert done.succeeded and done.fine_tuned_model == (
            f"gpt-4o-mini-2024-07-18.ft-{job.id.removeprefix('ftjob-')}-keeper"
        )
        assert done.hyperparameters["n_epochs"] == 2 and done.seed == 7 and done.trained_tokens
        checkpoints = FineTuning(c).checkpoints(job.id)
        assert len(checkpoints) == 2 and all(cp.id.startswith("ftchkpt-") for cp in checkpoints)
        assert checkpoints[0].step_number and "train_loss" in checkpoints[0].metrics
        assert [j.id for j in FineTuning(c).list_jobs()] == [job.id]

        record = FineTuning(c).deploy(
            done, "keeper-bot", sku="GlobalStandard", capacity=5, poll_interval=0.01
        )
        assert (record.name, record.model, record.sku, record.state) == (
            "keeper-bot",
            done.fine_tuned_model,
            "GlobalStandard",
            "Succeeded",
        )
        put = next(r for r in emu.requests if r.method == "PUT")
        assert put.body == {
            "sku": {"name": "GlobalStandard", "capacity": 5},
            "properties": {
                "model": {"format": "OpenAI", "name": done.fine_tuned_model, "version": "1"}
            },
        }
        assert put.headers["authorization"] == "***" and put.query["api-version"]
        assert cred.scopes and all(s == (f"{MANAGEMENT}/.default",) for s in cred.scopes)
        assert "keeper-bot" in [d.name for d in c.known_deployments()]  # discovery refreshed
        answer = c.chat(ChatRequest(messages=[Message("user", "Hello?")]), model="keeper-bot")
        assert answer.text and answer.deployment == "keeper-bot"
        assert answer.model == done.fine_tuned_model


def test_a_checkpoint_deploys_too(emu: Emulator) -> None:
    with client(emu) as c:
        ft = FineTuning(c)
        job = ft.wait(ft.create_job("gpt-4.1-mini", GOOD).id, poll_interval=0.01, timeout=20)
        [first, *_] = ft.checkpoints(job.id)
        record = ft.deploy(
            first.id, "early-stop", sku="developer", management=management(emu), poll_interval=0.01
        )
        assert record.sku == "DeveloperTier" and record.model == first.fine_tuned_model_checkpoint
        assert c.chat(ChatRequest(messages=[Message("user", "hi")]), model="early-stop").text


def test_deploy_needs_the_management_settings_and_a_model(ft: FineTuning, emu: Emulator) -> None:
    job = ft.create_job("gpt-4o-mini-2024-07-18", GOOD)
    with pytest.raises(ConfigError, match="only a succeeded job"):
        ft.deploy(job, "too-early", management=management(emu))
    with pytest.raises(ConfigError, match="management API") as err:
        ft.deploy("gpt-4o-mini-2024-07-18.ft-abc", "bot")
    assert err.value.setting == "discovery"
    with pytest.raises(ConfigError, match="sku"):
        ft.deploy("gpt-4o-mini-2024-07-18.ft-abc", "bot", sku="Premium", management=management(emu))
    with pytest.raises(ConfigError, match="deployment name"):
        ft.deploy("gpt-4o-mini-2024-07-18.ft-abc", "no spaces", management=management(emu))
    with pytest.raises(ConfigError, match="https"):
        ft.deploy("m", "bot", management={**management(emu), "arm_host": "http://arm.example.com"})
    assert not [r for r in emu.requests if r.method == "PUT"]


def test_deploy_follows_no_redirect_with_the_management_token(emu: Emulator) -> None:
    from scripted_http import Out, Received, Scripted

    def answer(req: Received, out: Out) -> None:
        if req.method == "PUT":
            out.head(307, {"location": "http://127.0.0.1:9/elsewhere"}, length=0)
        else:
            out.json(b'{"error": {"code": "NotFound", "message": "no"}}', status=404)

    with Scripted(answer) as arm, client(emu) as c:
        settings = {**management(emu), "arm_host": arm.endpoint}
        with pytest.raises(AzoaiError, match="redirect") as err:
            FineTuning(c).deploy("gpt-4o-mini-2024-07-18.ft-abc", "bot", management=settings)
        assert err.value.status_code == 307
        assert [r.method for r in arm.requests] == ["PUT"]  # nothing followed the redirect
        assert arm.requests[0].headers["authorization"].startswith("Bearer ")
        assert "Bearer" not in str(err.value)


def test_a_bad_file_azure_judges_fails_the_job(ft: FineTuning, emu: Emulator) -> None:
    bad = jsonl(
        [*[example(i) for i in range(10)], {"messages": [{"role": "user", "content": "?"}]}]
    )
    job = ft.create_job("gpt-4o-mini-2024-07-18", bad, validate=False)
    with pytest.raises(FineTuningJobError, match="Line 11: no assistant message") as err:
        ft.wait(job.id, poll_interval=0.01, timeout=20)
    assert err.value.job.status == "failed" and err.value.code == "invalid_training_file"
    assert ft.wait(job.id, poll_interval=0.01, raise_on_failure=False).status == "failed"


def test_cancel_pause_and_resume(emu: Emulator, ft: FineTuning) -> None:
    emu.set_fine_tuning_speed(0.3, 0.02)
    job = ft.create_job("gpt-4o-mini-2024-07-18", GOOD, hyperparameters={"n_epochs": 30})
    assert ft.cancel(job.id).status == "cancelled"
    with pytest.raises(FineTuningJobError, match="ended cancelled"):
        ft.wait(job.id, poll_interval=0.01)
    emu.set_fine_tuning_speed(0.05, 0.02)
    job = ft.create_job("gpt-4o-mini-2024-07-18", GOOD, hyperparameters={"n_epochs": 400})
    for update in ft.follow(job.id, poll_interval=0.01, timeout=20):
        if update.job.status == "running" and ft.checkpoints(job.id):
            break
    assert ft.pause(job.id).status == "paused"
    time.sleep(0.15)
    assert ft.get_job(job.id).status == "paused"  # no progress while paused
    assert ft.resume(job.id).status == "running"
    assert ft.cancel(job.id).status == "cancelled"
    assert "Job paused." in [e.message for e in ft.events(job.id)]


def test_dated_route_urls_and_version_gates(emu: Emulator) -> None:
    with client(emu, api_version="2024-10-21") as c:
        ft = FineTuning(c)
        job = ft.create_job("gpt-4o-mini-2024-07-18", GOOD)
        paths = [r.url for r in emu.requests]
        assert paths[0] == "/openai/files?api-version=2024-10-21"
        assert "/openai/fine_tuning/jobs?api-version=2024-10-21" in paths
        assert ft.get_job(job.id).id == job.id and ft.checkpoints(job.id) == []
        emu.clear_requests()
        with pytest.raises(ApiVersionError, match="pausing"):
            ft.pause(job.id)
        assert emu.requests == []
    with (
        client(emu, api_version="2024-02-01") as c,
        pytest.raises(ApiVersionError, match="checkpoints"),
    ):
        FineTuning(c).checkpoints("ftjob-x")


async def test_async_create_wait_and_deploy(emu: Emulator) -> None:
    async with FineTuning(
        endpoint=emu.endpoint,
        api_key=emu.api_key,
        env={},
        config_file="",
        discovery=management(emu),
    ) as ft:
        job = await ft.acreate_job("gpt-4o-2024-08-06", GOOD, hyperparameters={"n_epochs": 1})
        done = await ft.await_job(job.id, poll_interval=0.01, timeout=20)
        assert done.succeeded and [e.level for e in await ft.aevents(job.id)]
        assert len(await ft.acheckpoints(job.id)) == 1 and await ft.alist_jobs()
        record = await ft.adeploy(done, "async-bot", poll_interval=0.01)
        assert record.state == "Succeeded"
        reply = await ft.client.achat(
            ChatRequest(messages=[Message("user", "hi")]), model="async-bot"
        )
        assert reply.text


# --- the command line -------------------------------------------------------------------------------


def test_cli_follows_a_job(
    emu: Emulator,
    ft: FineTuning,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", emu.api_key)
    job = ft.create_job("gpt-4o-mini-2024-07-18", GOOD, hyperparameters={"n_epochs": 1})
    args = ["fine-tune", "follow", job.id, "--interval", "0.01", "--endpoint", emu.endpoint]
    assert main(args) == 0
    out = capsys.readouterr().out
    printed = [line[1:-1] for line in out.splitlines() if line.startswith("[")]
    assert printed[0] == "validating_files" and printed[-1] == "succeeded"
    assert printed == sorted(printed, key=ORDER.index)
    assert out.strip().endswith(f"fine-tuned model: gpt-4o-mini-2024-07-18.ft-{job.id[6:]}")
    bad = ft.create_job(
        "gpt-4o-mini-2024-07-18", jsonl([example(i) for i in range(3)]), validate=False
    )
    assert (
        main(["fine-tune", "follow", bad.id, "--interval", "0.01", "--endpoint", emu.endpoint]) == 1
    )
    assert "ended failed" in capsys.readouterr().err
