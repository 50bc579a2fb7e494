"""The emulator's Images API (generations and multipart edits, gpt-image and DALL-E 3 shapes,
the image content filter) and its legacy Completions (n per prompt, logprobs, echo, best_of,
streamed usage), driven with the openai SDK and raw HTTP over loopback; and its image table
beside the product's."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from emu_helpers import sse_payloads
from emu_spec import PREVIEW, validate
from PIL import Image

from azoai.config.image_models import lookup_image_model
from azoai_emulator import Emulator, EmulatorDeployment, Fault
from azoai_emulator.api_images import IMAGE_MODELS
from azoai_emulator.imagefiles import jpeg, png

DEPLOYMENTS = (
    EmulatorDeployment("img", model="gpt-image-1"),
    EmulatorDeployment("img2", model="gpt-image-2"),
    EmulatorDeployment("dalle", model="dall-e-3"),
    EmulatorDeployment("guarded-img", model="gpt-image-1", blocklist=("forbidden",)),
    EmulatorDeployment("instruct", model="gpt-35-turbo-instruct"),
    EmulatorDeployment("chat", model="gpt-4o"),
)
PREVIEW_VERSION = "2025-04-01-preview"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(deployments=DEPLOYMENTS) as e:
        yield e


@pytest.fixture(autouse=True)
def _reset(emu: Emulator) -> None:
    emu.reset()


@pytest.fixture
def http(emu: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.endpoint, headers={"api-key": emu.api_key}, timeout=30) as c:
        yield c


@pytest.fixture
def azure(emu: Emulator) -> openai.AzureOpenAI:
    return openai.AzureOpenAI(
        azure_endpoint=emu.endpoint, api_key=emu.api_key, api_version=PREVIEW_VERSION, max_retries=0
    )


def gen_path(deployment: str, version: str = PREVIEW_VERSION) -> str:
    return f"/openai/deployments/{deployment}/images/generations?api-version={version}"


def decoded(b64: str) -> Image.Image:
    image = Image.open(io.BytesIO(base64.b64decode(b64)))
    image.load()
    return image


def error_of(r: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = r.json()["error"]
    return body


# --- generation ---------------------------------------------------------------------------------


def test_gpt_image_generation_on_both_routes(emu: Emulator, azure: openai.AzureOpenAI) -> None:
    dated = azure.images.generate(model="img", prompt="a red fox", size="1536x1024", n=2)
    assert [decoded(d.b64_json or "").size for d in dated.data] == [(1536, 1024)] * 2
    assert dated.usage is not None and dated.usage.output_tokens > 0
    v1 = openai.OpenAI(base_url=f"{emu.endpoint}/openai/v1", api_key=emu.api_key, max_retries=0)
    same = v1.images.generate(model="img", prompt="a red fox", size="1536x1024", n=2)
    assert same.data[0].b64_json == dated.data[0].b64_json  # deterministic
    assert same.data[0].b64_json != same.data[1].b64_json  # each image its own
    assert [r.path for r in emu.requests] == [
        "/openai/deployments/img/images/generations",
        "/openai/v1/images/generations",
    ]


def test_generation_body_follows_the_spec(http: httpx.Client) -> None:
    r = http.post(gen_path("img"), json={"prompt": "a cat", "quality": "low"})
    assert r.status_code == 200
    validate(r.json(), "generateImagesResponse", spec=PREVIEW)
    dalle = http.post(gen_path("dalle"), json={"prompt": "a cat", "response_format": "b64_json"})
    validate(dalle.json(), "generateImagesResponse", spec=PREVIEW)


def test_dalle3_answers_a_url_by_default_with_its_annotations(http: httpx.Client) -> None:
    item = http.post(gen_path("dalle"), json={"prompt": "a cat"}).json()["data"][0]
    assert item["url"].startswith("https://") and "b64_json" not in item
    assert item["revised_prompt"] and "cat" in item["revised_prompt"]
    assert item["content_filter_results"]["violence"] == {"filtered": False, "severity": "safe"}
    assert item["prompt_filter_results"]["jailbreak"] == {"filtered": False, "detected": False}
    b64 = http.post(
        gen_path("dalle"),
        json={"prompt": "a cat", "response_format": "b64_json", "size": "1792x1024"},
    ).json()["data"][0]
    assert decoded(b64["b64_json"]).size == (1792, 1024)


@pytest.mark.parametrize(
    ("deployment", "body", "param"),
    [
        ("img", {"size": "1792x1024"}, "size"),
        ("dalle", {"size": "1536x1024"}, "size"),
        ("dalle", {"quality": "high"}, "quality"),
        ("img", {"quality": "hd"}, "quality"),
        ("dalle", {"n": 2}, "n"),
        ("img", {"n": 11}, "n"),
        ("img", {"response_format": "url"}, "response_format"),
        ("img", {"style": "vivid"}, "style"),
        ("dalle", {"output_format": "png"}, "output_format"),
        ("img", {"output_format": "webp"}, "output_format"),
        ("img", {"output_compression": 50}, "output_compression"),
        ("img", {"background": "transparent", "output_format": "jpeg"}, "background"),
        ("img2", {"size": "1000x1000"}, "size"),
        ("img2", {"size": "3840x1024"}, "size"),
        ("dalle", {"prompt": "x" * 4001}, "prompt"),
    ],
)
def test_values_a_model_does_not_take_are_refused(
    http: httpx.Client, deployment: str, body: dict[str, Any], param: str
) -> None:
    r = http.post(gen_path(deployment), json={"prompt": "a cat", **body})
    assert r.status_code == 400, r.text
    assert error_of(r)["param"] == param


def test_gpt_image_2_takes_free_sizes_and_jpeg_and_transparency(http: httpx.Client) -> None:
    free = http.post(gen_path("img2"), json={"prompt": "a cat", "size": "1280x720"}).json()
    assert decoded(free["data"][0]["b64_json"]).size == (1280, 720)
    photo = http.post(
        gen_path("img"),
        json={"prompt": "a cat", "output_format": "jpeg", "output_compression": 40},
    ).json()
    image = decoded(photo["data"][0]["b64_json"])
    assert (image.format, image.size) == ("JPEG", (1024, 1024))
    clear = http.post(gen_path("img"), json={"prompt": "a cat", "background": "transparent"})
    rgba = decoded(clear.json()["data"][0]["b64_json"])
    assert rgba.mode == "RGBA" and rgba.getpixel((0, 0))[3] == 0  # type: ignore[index]


def test_images_need_an_api_version_that_has_them(http: httpx.Client) -> None:
    # images/generations from 2023-12-01-preview and GA 2024-06-01; older: 404
    assert (
        http.post(gen_path("dalle", "2023-10-01-preview"), json={"prompt": "a"}).status_code == 404
    )
    assert http.post(gen_path("dalle", "2024-02-01"), json={"prompt": "a"}).status_code == 404
    assert http.post(gen_path("dalle", "2024-06-01"), json={"prompt": "a"}).status_code == 200
    # gpt-image-1 only from 2025-04-01-preview
    old = http.post(gen_path("img", "2024-10-21"), json={"prompt": "a"})
    assert old.status_code == 400 and "2025-04-01-preview" in error_of(old)["message"]
    # edits exist on 2025-04-01-preview only
    edits = "/openai/deployments/img/images/edits?api-version=2024-10-21"
    assert http.post(edits, files={"image": ("a.png", png(8, 8, "a"))}).status_code == 404


def test_chat_on_an_image_deployment_is_refused(http: httpx.Client) -> None:
    r = http.post(
        "/openai/v1/chat/completions",
        json={"model": "img", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert r.status_code == 400 and error_of(r)["code"] == "OperationNotSupported"
    images_on_chat = http.post(gen_path("chat"), json={"prompt": "a"})
    assert error_of(images_on_chat)["code"] == "OperationNotSupported"


# --- the content filter -------------------------------------------------------------------------


def test_a_blocked_prompt_answers_content_policy_violation(http: httpx.Client) -> None:
    r = http.post(gen_path("guarded-img"), json={"prompt": "the FORBIDDEN fox"})
    assert r.status_code == 400
    err = error_of(r)
    assert err["code"] == "content_policy_violation"
    assert err["type"] == "invalid_request_error"
    inner = err["inner_error"]
    assert inner["code"] == "ResponsibleAIPolicyViolation"
    assert inner["content_filter_results"]["custom_blocklists"] == [
        {"filtered": True, "id": "guarded-img-blocklist"}
    ]


def test_filter_faults_on_images(emu: Emulator, http: httpx.Client) -> None:
    emu.inject("img", Fault.content_filter("prompt", "violence"))
    prompt = error_of(http.post(gen_path("img"), json={"prompt": "a fox"}))
    assert prompt["code"] == "content_policy_violation"
    assert prompt["inner_error"]["content_filter_results"]["violence"]["filtered"] is True
    emu.inject("img", Fault.content_filter("completion", "sexual"))
    output = error_of(http.post(gen_path("img"), json={"prompt": "a fox"}))
    assert output == {
        "code": "contentFilter",
        "message": "Generated image was filtered as a result of our safety system.",
    }
    assert http.post(gen_path("img"), json={"prompt": "a fox"}).status_code == 200


# --- edits --------------------------------------------------------------------------------------


def test_edits_with_the_sdk_multipart_form(emu: Emulator, azure: openai.AzureOpenAI) -> None:
    image, mask = png(1024, 1536, "base"), png(1024, 1536, "mask", transparent=True)
    r = azure.images.edit(
        model="img",
        image=("photo.png", image, "image/png"),
        mask=("mask.png", mask, "image/png"),
        prompt="add a hat",
    )
    assert decoded(r.data[0].b64_json or "").size == (1024, 1536)  # the input's size
    seen = emu.requests[-1].body
    assert seen["prompt"] == "add a hat"
    assert seen["image"][0]["filename"] == "photo.png" and seen["mask"][0]["bytes"] == len(mask)


def test_several_images_and_a_jpeg_input(http: httpx.Client) -> None:
    path = "/openai/v1/images/edits"
    files = [
        ("image[]", ("a.png", png(64, 64, "a"), "image/png")),
        ("image[]", ("b.jpg", jpeg(64, 64, "b"), "image/jpeg")),
    ]
    r = http.post(path, data={"model": "img", "prompt": "combine", "n": "2"}, files=files)
    assert r.status_code == 200, r.text
    assert len(r.json()["data"]) == 2
    assert r.json()["usage"]["input_tokens_details"]["image_tokens"] > 0


@pytest.mark.parametrize(
    ("mask", "fragment"),
    [
        (png(32, 32, "m", transparent=True), "does not match"),
        (png(64, 64, "m"), "alpha"),
        (jpeg(64, 64, "m"), "PNG"),
    ],
)
def test_bad_masks_are_refused(http: httpx.Client, mask: bytes, fragment: str) -> None:
    r = http.post(
        "/openai/v1/images/edits",
        data={"model": "img", "prompt": "x"},
        files={"image": ("a.png", png(64, 64, "a")), "mask": ("m.png", mask)},
    )
    assert r.status_code == 400 and error_of(r)["param"] == "mask"
    assert fragment in error_of(r)["message"]


def test_edit_refusals(http: httpx.Client) -> None:
    v1 = "/openai/v1/images/edits"
    not_image = http.post(
        v1, data={"model": "img", "prompt": "x"}, files={"image": ("a.png", b"hi")}
    )
    assert error_of(not_image)["param"] == "image"
    dalle = http.post(
        v1, data={"model": "dalle", "prompt": "x"}, files={"image": ("a.png", png(8, 8, "a"))}
    )
    assert error_of(dalle)["code"] == "OperationNotSupported"
    json_body = http.post(v1, json={"model": "img", "prompt": "x"})
    assert json_body.status_code == 400 and "multipart/form-data" in error_of(json_body)["message"]
    no_key = httpx.post(
        f"{http.base_url}{v1}", data={"model": "img", "prompt": "x"}, files={"image": ("a", b"")}
    )
    assert no_key.status_code == 401  # authentication before the form is read


# --- legacy completions -------------------------------------------------------------------------

COMPLETIONS = "/openai/deployments/instruct/completions?api-version=2024-10-21"


def test_completions_n_per_prompt_numbered_by_prompt(http: httpx.Client) -> None:
    r = http.post(COMPLETIONS, json={"prompt": ["Say 'a'", "Say 'b'"], "n": 2}).json()
    assert [(c["index"], c["text"]) for c in r["choices"]] == [
        (0, "a"),
        (1, "a"),
        (2, "b"),
        (3, "b"),
    ]
    assert r["usage"]["prompt_tokens"] == 8  # the raw prompts' tokens, no chat framing


def test_completions_logprobs_and_echo(http: httpx.Client) -> None:
    r = http.post(COMPLETIONS, json={"prompt": "Say 'one two'", "logprobs": 2}).json()
    lp = r["choices"][0]["logprobs"]
    assert lp["tokens"] == ["one", " two"]
    assert len(lp["token_logprobs"]) == 2 and all(v < 0 for v in lp["token_logprobs"])
    assert all(
        len(t) == 2 and max(t.values()) == v
        for t, v in zip(lp["top_logprobs"], lp["token_logprobs"], strict=True)
    )
    assert lp["text_offset"] == [len("Say 'one two'"), len("Say 'one two'") + 3]
    echoed = http.post(COMPLETIONS, json={"prompt": "Say 'x'", "echo": True, "logprobs": 0}).json()
    choice = echoed["choices"][0]
    assert choice["text"] == "Say 'x'x"
    assert choice["logprobs"]["token_logprobs"][0] is None
    validate(r, "createCompletionResponse", spec=PREVIEW)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"n": 2, "best_of": 1}, "best_of"),
        ({"best_of": 2, "stream": True}, "best_of"),
        ({"logprobs": 6}, "logprobs"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"stream_options": {"include_usage": True}}, "stream_options"),
    ],
)
def test_completions_refusals(http: httpx.Client, body: dict[str, Any], param: str) -> None:
    r = http.post(COMPLETIONS, json={"prompt": "hi", **body})
    assert r.status_code == 400 and error_of(r)["param"] == param


def test_completions_stream_with_n_and_usage(http: httpx.Client) -> None:
    r = http.post(
        COMPLETIONS,
        json={
            "prompt": "Say 'a b'",
            "n": 2,
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    )
    payloads = sse_payloads(r.text)
    assert payloads[0]["choices"] == [] and payloads[0]["prompt_filter_results"]
    texts: dict[int, str] = {}
    finished = {}
    for p in payloads[1:-2]:
        for c in p["choices"]:
            texts[c["index"]] = texts.get(c["index"], "") + c["text"]
            if c["finish_reason"]:
                finished[c["index"]] = c["finish_reason"]
    assert texts == {0: "a b", 1: "a b"} and finished == {0: "stop", 1: "stop"}
    assert payloads[-2]["choices"] == [] and payloads[-2]["usage"]["completion_tokens"] == 4
    assert payloads[-1] == "[DONE]"
    old = http.post(
        "/openai/deployments/instruct/completions?api-version=2024-06-01",
        json={"prompt": "hi", "stream": True, "stream_options": {"include_usage": True}},
    )
    assert old.status_code == 400  # stream_options arrived in 2024-09-01-preview / 2024-10-21


# --- the image table agrees with the product's ----------------------------------------------------


@pytest.mark.parametrize("name", sorted(IMAGE_MODELS))
def test_image_tables_agree(name: str) -> None:
    product, emulator = lookup_image_model(name), IMAGE_MODELS[name]
    assert product.known
    assert set(product.sizes) == set(emulator.sizes)
    assert product.free_size == emulator.free_size
    assert set(product.qualities) == set(emulator.qualities)
    assert set(product.styles) == set(emulator.styles)
    assert product.max_n == emulator.max_n
    assert ("url" in product.response_formats) == emulator.url
    assert set(product.output_formats) == set(emulator.output_formats)
    assert set(product.backgrounds) == set(emulator.backgrounds)
    assert product.edits == emulator.edits
    assert product.input_fidelity == emulator.input_fidelity
    assert product.max_prompt_chars == emulator.max_prompt
    assert product.first_dated_version == emulator.first_dated_version


def test_arm_lists_an_image_deployment_with_its_capability(emu: Emulator) -> None:
    token = emu.issue_token(audience="https://management.azure.com/")
    url = (
        f"{emu.arm_endpoint}/subscriptions/{emu.subscription_id}/resourceGroups/"
        f"{emu.resource_group}/providers/Microsoft.CognitiveServices/accounts/{emu.account}"
        "/deployments?api-version=2024-10-01"
    )
    listed = httpx.get(url, headers={"authorization": f"Bearer {token}"}).json()["value"]
    caps = {d["name"]: d["properties"]["capabilities"] for d in listed}
    assert caps["img"] == {"imageGenerations": "true"}
    assert caps["dalle"] == {"imageGenerations": "true"}
    assert caps["instruct"]["completion"] == "true"
