"""Image generation and editing through the core (``azoai.Images``, ``Images(client)``) against
the emulator over loopback: both routes, images decoded, the model's rules as typed errors
before anything is sent, the content filter, retries of a multipart upload, the CLI."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from scripted_http import Out, Received, Scripted

from azoai import errors as E
from azoai.cli import main as cli_main
from azoai.client import CallOptions, Client
from azoai.config.settings import RetryPolicy
from azoai.images import Images
from azoai.io import multipart
from azoai_emulator import Emulator, EmulatorDeployment, Fault
from azoai_emulator.imagefiles import jpeg, png

FAST_RETRY = RetryPolicy(max_retries=2, initial_delay=0.01, max_delay=0.05, max_retry_after=5.0)
DEPLOYMENTS = (
    EmulatorDeployment("img", model="gpt-image-1"),
    EmulatorDeployment("dall-e-3", model="dall-e-3"),
    EmulatorDeployment("guarded", model="gpt-image-1", blocklist=("forbidden",)),
    EmulatorDeployment("chat", model="gpt-4o"),
)
DATED = "2025-04-01-preview"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(deployments=DEPLOYMENTS) as e:
        yield e


@pytest.fixture(autouse=True)
def _reset(emu: Emulator) -> None:
    emu.reset()


def images(emu: Emulator, **kw: Any) -> Images:
    kw.setdefault("api_key", emu.api_key)
    kw.setdefault("deployment", "img")
    kw.setdefault("retry", FAST_RETRY)
    return Images(endpoint=emu.endpoint, env={}, config_file="", **kw)


def opened(data: bytes | None) -> Image.Image:
    assert data is not None
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# --- generation on both routes ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("route", "path", "query"),
    [
        ({}, "/openai/v1/images/generations", {"api-version": "preview"}),
        (
            {"api_version": DATED},
            "/openai/deployments/img/images/generations",
            {"api-version": DATED},
        ),
    ],
    ids=["v1", "deployments"],
)
def test_generate_decoded_images_on_both_routes(
    emu: Emulator, route: dict[str, str], path: str, query: dict[str, str]
) -> None:
    with images(emu, model="gpt-image-1", **route) as svc:
        result = svc.generate("a red fox", size="1536x1024", n=2, quality="low")
    assert [opened(i.data).size for i in result.images] == [(1536, 1024)] * 2
    assert [i.mime_type for i in result.images] == ["image/png"] * 2
    assert result.image.size == (1536, 1024)
    assert result.usage.output_tokens > 0 and result.deployment == "img"
    sent = emu.requests[-1]
    assert (sent.path, sent.query) == (path, query)
    expected = {"prompt": "a red fox", "n": 2, "size": "1536x1024", "quality": "low"}
    if not route:
        expected["model"] = "img"  # the v1 route names the deployment in the body
    assert sent.body == expected  # no response_format: gpt-image always answers base64


def test_jpeg_and_transparent_output(emu: Emulator) -> None:
    with images(emu, model="gpt-image-1") as svc:
        photo = svc.generate("a fox", output_format="jpeg", output_compression=30)
        clear = svc.generate("a fox", background="transparent")
    assert (opened(photo.image.data).format, photo.image.mime_type) == ("JPEG", "image/jpeg")
    rgba = opened(clear.image.data)
    assert rgba.mode == "RGBA" and rgba.getpixel((0, 0))[3] == 0  # type: ignore[index]


def test_dalle3_is_asked_for_bytes_unless_a_url_is_wanted(emu: Emulator, tmp_path: Path) -> None:
    # no model configured: a deployment named after its model gives the rules (dall-e-3: n=1)
    with images(emu, deployment="dall-e-3") as svc:
        result = svc.generate("a cat", size="1792x1024", quality="hd", style="natural")
        assert emu.requests[-1].body["response_format"] == "b64_json"
        assert opened(result.image.data).size == (1792, 1024)
        assert result.image.revised_prompt and "cat" in result.image.revised_prompt
        assert result.image.content_filter is not None
        assert not result.image.content_filter.filtered
        result.image.save(tmp_path / "cat.png")
        assert opened((tmp_path / "cat.png").read_bytes()).size == (1792, 1024)
        linked = svc.generate("a cat", response_format="url")
    assert linked.image.data is None and linked.image.url and linked.image.url.startswith("https")
    with pytest.raises(ValueError, match="url"):
        linked.image.save(tmp_path / "nothing.png")


def test_images_on_a_client_share_the_clients_connection(emu: Emulator) -> None:
    with Client(
        endpoint=emu.endpoint, api_key=emu.api_key, deployment="img", model="gpt-image-1", env={}
    ) as client:
        svc = Images(client)
        assert svc.client is client
        svc.generate("a fox")
        svc.close()  # not its client: stays open
        Images(client).generate("a fox", model="dall-e-3")
        assert client._conn is not None
    assert [r.deployment for r in emu.requests] == ["img", "dall-e-3"]


async def test_async_generate_and_edit(emu: Emulator) -> None:
    async with images(emu, model="gpt-image-1") as svc:
        made, edited = await asyncio.gather(
            svc.agenerate("a fox", size="1024x1536"),
            svc.aedit(png(1024, 1024, "photo"), "add a hat"),
        )
    assert opened(made.image.data).size == (1024, 1536)
    assert opened(edited.image.data).size == (1024, 1024)


# --- typed errors before anything is sent -------------------------------------------------------

REFUSED = [
    pytest.param("img", {"size": "1792x1024"}, "size", "1024x1536", id="size-gpt-image"),
    pytest.param("dall-e-3", {"size": "1536x1024"}, "size", "1792x1024", id="size-dalle"),
    pytest.param("dall-e-3", {"n": 2}, "n", "one call per image", id="n-dalle"),
    pytest.param("img", {"n": 11}, "n", "1 to 10", id="n-gpt-image"),
    pytest.param("img", {"quality": "hd"}, "quality", "low, medium, high", id="quality"),
    pytest.param("dall-e-3", {"quality": "high"}, "quality", "standard, hd", id="quality-dalle"),
    pytest.param("img", {"response_format": "url"}, "response_format", "base64", id="url"),
    pytest.param("img", {"style": "vivid"}, "style", "DALL-E 3", id="style"),
    pytest.param("dall-e-3", {"output_format": "jpeg"}, "output_format", "gpt-image", id="fmt"),
    pytest.param("img", {"output_format": "webp"}, "output_format", "png, jpeg", id="webp"),
    pytest.param("img", {"output_compression": 50}, "output_compression", "jpeg", id="comp"),
    pytest.param(
        "img",
        {"background": "transparent", "output_format": "jpeg"},
        "background",
        "png",
        id="transparent-jpeg",
    ),
    pytest.param("img", {"size": "big"}, "size", "WIDTHxHEIGHT", id="size-shape"),
]


@pytest.mark.parametrize(("deployment", "kwargs", "setting", "hint"), REFUSED)
def test_a_value_the_model_does_not_take_is_refused_before_sending(
    emu: Emulator, deployment: str, kwargs: dict[str, Any], setting: str, hint: str
) -> None:
    model = "gpt-image-1" if deployment == "img" else "dall-e-3"
    with (
        images(emu, deployment=deployment, model=model) as svc,
        pytest.raises(E.ConfigError) as caught,
    ):
        svc.generate("a fox", **kwargs)
    assert caught.value.setting == setting
    assert hint in str(caught.value)
    assert emu.requests == []


def test_prompt_limits_and_routes_refused_before_sending(emu: Emulator) -> None:
    with images(emu, deployment="dall-e-3") as svc, pytest.raises(E.ConfigError, match="4,000"):
        svc.generate("x" * 4001)
    with images(emu, model="gpt-image-1", api_version="2024-10-21") as old:
        with pytest.raises(E.ApiVersionError, match="2025-04-01-preview"):
            old.generate("a fox")  # gpt-image-1 arrived with 2025-04-01-preview
        with pytest.raises(E.ApiVersionError, match="image editing"):
            old.edit(png(8, 8, "a"), "x")
    with (
        images(emu, deployment="dall-e-3", api_version="2023-10-01-preview") as older,
        pytest.raises(E.ApiVersionError, match="2023-12-01-preview"),
    ):
        older.generate("a cat")
    with images(emu, deployment="chat", model="gpt-4o") as chat:
        with pytest.raises(E.ConfigError, match="chat model") as caught:
            chat.generate("a fox")
        assert caught.value.setting == "deployment"
    assert emu.requests == []


EDIT_REFUSED = [
    pytest.param({"image": b"not an image"}, "image", "PNG or JPEG", id="not-image"),
    pytest.param({"image": b"GIF89a" + bytes(10)}, "image", "GIF file; edits take PNG", id="gif"),
    pytest.param({"mask": png(32, 32, "m", transparent=True)}, "mask", "64x64", id="mask-size"),
    pytest.param({"mask": png(64, 64, "m")}, "mask", "alpha channel", id="mask-alpha"),
    pytest.param({"mask": jpeg(64, 64, "m")}, "mask", "must be a PNG", id="mask-jpeg"),
    pytest.param({"model": "dall-e-3"}, "model", "does not edit", id="dalle-edit"),
]


@pytest.mark.parametrize(("change", "setting", "hint"), EDIT_REFUSED)
def test_bad_edit_inputs_are_refused_before_sending(
    emu: Emulator, change: dict[str, Any], setting: str, hint: str
) -> None:
    args: dict[str, Any] = {"image": png(64, 64, "photo"), "mask": None, "model": None, **change}
    with images(emu, model="gpt-image-1") as svc, pytest.raises(E.ConfigError) as caught:
        svc.edit(args["image"], "add a hat", mask=args["mask"], model=args["model"])
    assert caught.value.setting == setting
    assert hint in str(caught.value)
    assert emu.requests == []


# --- edits --------------------------------------------------------------------------------------


def test_edit_uploads_images_and_mask_as_one_form(emu: Emulator, tmp_path: Path) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(png(1536, 1024, "photo"))
    mask = png(1536, 1024, "mask", transparent=True)
    with images(emu, model="gpt-image-1") as svc:
        result = svc.edit(photo, "add a red boat", mask=mask, quality="medium")
        several = svc.edit([png(64, 64, "a"), jpeg(64, 64, "b")], "combine them", n=2)
    assert opened(result.image.data).size == (1536, 1024)
    assert len(several.images) == 2
    one, two = emu.requests
    assert one.path == "/openai/v1/images/edits" and one.query == {"api-version": "preview"}
    assert one.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert one.body["prompt"] == "add a red boat" and one.body["model"] == "img"
    assert one.body["image"][0]["filename"] == "photo.png"
    assert one.body["mask"][0] == {
        "filename": "mask.png",
        "content_type": "image/png",
        "bytes": len(mask),
    }
    assert [f["content_type"] for f in two.body["image[]"]] == ["image/png", "image/jpeg"]
    assert one.headers["api-key"] == "***"  # the same credential header as every call


def test_a_multipart_edit_is_retried_whole(emu: Emulator) -> None:
    emu.inject("img", Fault.status(503, count=2))
    with images(emu, model="gpt-image-1", api_version=DATED) as svc:
        result = svc.edit(png(64, 64, "photo"), "add a hat")
    assert opened(result.image.data).size == (1024, 1024)  # 64x64 is no size: the default
    sent = [r for r in emu.requests if r.path.endswith("/images/edits")]
    assert [r.status for r in sent] == [503, 503, 200]
    assert all(r.body["image"][0]["bytes"] == sent[0].body["image"][0]["bytes"] for r in sent)


# --- the content filter -------------------------------------------------------------------------


def test_a_blocked_prompt_is_a_content_filter_error(emu: Emulator) -> None:
    with (
        images(emu, deployment="guarded", model="gpt-image-1") as svc,
        pytest.raises(E.ContentFilterError) as caught,
    ):
        svc.generate("the FORBIDDEN fox")
    err = caught.value
    assert err.side == "prompt" and err.status_code == 400
    assert err.code == "content_policy_violation"
    assert err.filtered_categories == ["blocklist:guarded-blocklist"]


def test_filter_faults_name_the_category_and_side(emu: Emulator) -> None:
    with images(emu, model="gpt-image-1") as svc:
        emu.inject("img", Fault.content_filter("prompt", "violence"))
        with pytest.raises(E.ContentFilterError) as prompt:
            svc.generate("a fox")
        emu.inject("img", Fault.content_filter("completion", "sexual"))
        with pytest.raises(E.ContentFilterError) as output:
            svc.generate("a fox")
    assert (prompt.value.side, prompt.value.filtered_categories) == ("prompt", ["violence"])
    assert output.value.side == "completion" and "Generated image" in str(output.value)


def test_an_image_withheld_from_a_200_answer_raises_unless_asked() -> None:
    # a 200 whose image was withheld carries its verdict and no bytes (the emulator answers the
    # output filter with its 400, so a scripted server plays this one)
    body = {
        "created": 1,
        "data": [
            {
                "content_filter_results": {"violence": {"filtered": True, "severity": "high"}},
                "prompt_filter_results": {"violence": {"filtered": False, "severity": "safe"}},
            }
        ],
    }

    def answer(req: Received, out: Out) -> None:
        out.json(json.dumps(body).encode())

    with Scripted(answer) as server:
        svc = Images(
            endpoint=server.endpoint, api_key="k", deployment="dall-e-3", env={}, config_file=""
        )
        with pytest.raises(E.ContentFilterError) as caught:
            svc.generate("a storm")
        assert caught.value.side == "completion"
        assert caught.value.filtered_categories == ["violence"]
        kept = svc.generate("a storm", options=CallOptions(return_filtered=True))
        assert kept.image.data is None and kept.image.content_filter is not None
        svc.close()


# --- pieces -------------------------------------------------------------------------------------


def test_multipart_encoding_is_generic_and_safe() -> None:
    form = multipart.encode(
        [("prompt", "ünïcode"), ("n", "2")],
        [multipart.FilePart("file", "a.wav", b"RIFF", "audio/wav")],
        boundary="b0",
    )
    assert form.content_type == "multipart/form-data; boundary=b0"
    assert form.body == (
        b'--b0\r\nContent-Disposition: form-data; name="prompt"\r\n\r\n\xc3\xbcn\xc3\xafcode\r\n'
        b'--b0\r\nContent-Disposition: form-data; name="n"\r\n\r\n2\r\n'
        b'--b0\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n'
        b"Content-Type: audio/wav\r\n\r\nRIFF\r\n--b0--\r\n"
    )
    with pytest.raises(E.ConfigError, match="quote"):
        multipart.encode([], [multipart.FilePart("file", 'a".png', b"x")])


def test_cli_writes_the_image(
    emu: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", emu.api_key)
    monkeypatch.delenv("AZOAI_CONFIG", raising=False)
    out = tmp_path / "fox.png"
    code = cli_main(
        ["image", "a red fox", "--out", str(out), "--endpoint", emu.endpoint,
         "--deployment", "img", "--model", "gpt-image-1", "--size", "1536x1024", "--n", "2"]
    )  # fmt: skip
    assert code == 0
    for name in ("fox-1.png", "fox-2.png"):
        assert opened((tmp_path / name).read_bytes()).size == (1536, 1024)
    assert "wrote" in capsys.readouterr().out
    refused = cli_main(
        ["image", "a cat", "--out", str(out), "--endpoint", emu.endpoint,
         "--deployment", "dall-e-3", "--n", "3"]
    )  # fmt: skip
    assert refused == 2 and "one call per image" in capsys.readouterr().err
    assert len(emu.requests) == 1
