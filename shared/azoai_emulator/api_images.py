"""The Images API: ``images/generations`` (JSON) and ``images/edits`` (``multipart/form-data``),
on ``/openai/deployments/{d}/images/...?api-version=`` and ``/openai/v1/images/...``.

Written from Azure's sources, not from the product's table (``how-to`` = MicrosoftDocs
``articles/ai-foundry/openai/how-to/dall-e.md`` @094ebed and ``articles/foundry/openai/how-to/
dall-e.md`` @10fd319; ``spec`` = the vendored 2025-04-01-preview inference spec):

* gpt-image-1, -1-mini, -1.5: sizes 1024x1024, 1024x1536, 1536x1024 (and ``auto``, spec);
  quality low/medium/high (and ``auto``); 1 to 10 images; base64 only, ``response_format`` not
  accepted; ``output_format`` png or jpeg (no webp on Azure), ``output_compression`` for jpeg;
  ``background`` (transparent needs png); edits with one or more images and a mask; usage in
  tokens. gpt-image-2: any size with both edges multiples of 16, the long edge at most 3840, an
  aspect ratio up to 3:1 and 655,360 to 8,294,400 pixels.
* dall-e-3: sizes 1024x1024, 1792x1024, 1024x1792; quality standard/hd; style vivid/natural; one
  image per request; ``response_format`` url (default) or b64_json; a ``revised_prompt``, and
  ``content_filter_results`` / ``prompt_filter_results`` on each image (spec ``imageResult``); no
  edits.
* The prompt filter answers 400 ``content_policy_violation`` with ``inner_error.
  content_filter_results`` (litellm#16072 quotes Azure's body); a deployment's blocklist words or
  a ``content_filter`` fault trigger it. A completion-side ``content_filter`` fault withholds the
  image: 400 ``contentFilter`` "Generated image was filtered as a result of our safety system."
  (how-to). Parameter errors use the OpenAI-style body Azure passes through (their exact texts
  for the Images API are not documented; modelled on OpenAI's).

Images are deterministic (:mod:`azoai_emulator.imagefiles`): the same prompt, index and size give
the same bytes. URLs (DALL-E 3's default) point to a blob host and are not served.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from azoai_emulator import azure_errors
from azoai_emulator.api_versions import Feature
from azoai_emulator.filters import prompt_results
from azoai_emulator.identity import authenticate_data_plane
from azoai_emulator.imagefiles import dimensions, jpeg, png
from azoai_emulator.multipart import Form, parse_form
from azoai_emulator.pipeline import (
    Target,
    admit,
    check_dated_version,
    check_v1_version,
    prepare,
    reject_unknown,
    success_headers,
)
from azoai_emulator.protocol import ApiError, Call, HttpResult
from azoai_emulator.rules import invalid_type
from azoai_emulator.state import EmulatorState
from azoai_emulator.tokens import count_tokens, wordset

__all__ = [
    "IMAGE_MODELS",
    "ImageSpec",
    "handle_image_edits",
    "handle_image_generations",
    "image_routes",
]

GENERATION_PARAMS = wordset(
    """prompt model n size quality style response_format output_format output_compression
    background user moderation"""
)
EDIT_FIELDS = wordset(
    """prompt model n size quality response_format output_format output_compression background
    user input_fidelity"""
)
MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ImageSpec:
    sizes: tuple[str, ...]
    qualities: tuple[str, ...]
    max_n: int
    max_prompt: int
    styles: tuple[str, ...] = ()
    free_size: bool = False
    url: bool = False  # takes response_format (url or b64_json); else base64 only
    output_formats: tuple[str, ...] = ()
    backgrounds: tuple[str, ...] = ()
    edits: bool = False
    input_fidelity: bool = False
    first_dated_version: str | None = None
    tokens: bool = False  # reports usage


_GPT_IMAGE = ImageSpec(
    sizes=("auto", "1024x1024", "1024x1536", "1536x1024"),
    qualities=("auto", "low", "medium", "high"),
    max_n=10,
    max_prompt=32_000,
    output_formats=("png", "jpeg"),
    backgrounds=("transparent", "opaque", "auto"),
    edits=True,
    input_fidelity=True,
    # how-to: gpt-image-1 examples use 2025-04-01-preview; spec 2024-10-21 knows dall-e-3 only.
    first_dated_version="2025-04-01-preview",
    tokens=True,
)
IMAGE_MODELS: dict[str, ImageSpec] = {
    "gpt-image-1": _GPT_IMAGE,
    "gpt-image-1-mini": replace(_GPT_IMAGE, input_fidelity=False),
    "gpt-image-1.5": _GPT_IMAGE,
    "gpt-image-2": replace(_GPT_IMAGE, sizes=("auto",), free_size=True),
    "dall-e-3": ImageSpec(
        sizes=("1024x1024", "1792x1024", "1024x1792"),
        qualities=("standard", "hd"),
        styles=("vivid", "natural"),
        max_n=1,
        max_prompt=4_000,
        url=True,
    ),
}
_KEYS = sorted(IMAGE_MODELS, key=len, reverse=True)
_SIZE = re.compile(r"^(\d{1,5})x(\d{1,5})$")
#: gpt-image output tokens per image at 1024x1024 (OpenAI's pricing table; scaled by area).
_OUTPUT_TOKENS = {"low": 272, "medium": 1056, "high": 4160, "auto": 4160}
_IMAGE_INPUT_TOKENS = 323  # per input image of an edit


def image_spec(model: str) -> ImageSpec:
    """The rules for a deployment's image model; a newer gpt-image name serves as gpt-image-1."""
    n = model.strip().lower()
    for key in _KEYS:
        if n == key or (n.startswith(key) and n[len(key)] in "-_:"):
            return IMAGE_MODELS[key]
    return IMAGE_MODELS["dall-e-3"] if n.startswith("dall-e") else _GPT_IMAGE


# --- validation ---------------------------------------------------------------------------------


def _invalid_value(param: str, value: Any, allowed: tuple[str, ...]) -> ApiError:
    listed = ", ".join(f"'{a}'" for a in allowed[:-1]) + f", and '{allowed[-1]}'"
    return azure_errors.invalid_request(
        f"Invalid value: '{value}'. Supported values are: {listed}.",
        param=param,
        code="invalid_value",
    )


def _unknown(param: str) -> ApiError:
    return azure_errors.invalid_request(
        f"Unknown parameter: '{param}'.", param=param, code="unknown_parameter"
    )


def _choice(body: dict[str, Any], param: str, allowed: tuple[str, ...]) -> str | None:
    value = body.get(param)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid_type(param, "a string", value)
    if value not in allowed:
        raise _invalid_value(param, value, allowed)
    return value


def _integer(body: dict[str, Any], param: str, lo: int, hi: int) -> int | None:
    value = body.get(param)
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():  # a form field
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_type(param, "an integer", value)
    if value < lo:
        raise azure_errors.invalid_request(
            f"Invalid '{param}': integer below minimum value. Expected a value >= {lo}, but got "
            f"{value} instead.",
            param=param,
            code="integer_below_min_value",
        )
    if value > hi:
        raise azure_errors.invalid_request(
            f"Invalid '{param}': integer above maximum value. Expected a value <= {hi}, but got "
            f"{value} instead.",
            param=param,
            code="integer_above_max_value",
        )
    return value


def _size(body: dict[str, Any], spec: ImageSpec) -> tuple[int, int] | None:
    value = body.get("size")
    if value is None or (value == "auto" and "auto" in spec.sizes):
        return None
    if not isinstance(value, str):
        raise invalid_type("size", "a string", value)
    m = _SIZE.match(value)
    if spec.free_size and m is not None:
        w, h = int(m.group(1)), int(m.group(2))
        if (
            w % 16
            or h % 16
            or max(w, h) > 3840
            or max(w, h) > 3 * min(w, h)
            or not 655_360 <= w * h <= 8_294_400
        ):
            raise azure_errors.invalid_request(
                f"Invalid size '{value}'. Both edges must be multiples of 16, the long edge at "
                "most 3840, the aspect ratio at most 3:1, and the total pixels between 655360 and "
                "8294400.",
                param="size",
                code="invalid_value",
            )
        return w, h
    if value not in spec.sizes or m is None:
        raise _invalid_value("size", value, spec.sizes)
    return int(m.group(1)), int(m.group(2))


@dataclass(slots=True)
class _Params:
    prompt: str
    n: int
    size: tuple[int, int] | None
    quality: str
    response_format: str
    output_format: str
    background: str | None


def _params(body: dict[str, Any], spec: ImageSpec, target: Target) -> _Params:
    prompt = body.get("prompt")
    if prompt is None:
        raise azure_errors.missing_parameter("prompt")
    if not isinstance(prompt, str):
        raise invalid_type("prompt", "a string", prompt)
    if not prompt.strip():
        raise azure_errors.invalid_request(
            "Invalid 'prompt': empty string. Expected a string with minimum length 1, but got an "
            "empty string instead.",
            param="prompt",
            code="empty_string",
        )
    if len(prompt) > spec.max_prompt:
        raise azure_errors.invalid_request(
            f"Invalid 'prompt': string too long. Expected a string with maximum length "
            f"{spec.max_prompt}, but got a string with length {len(prompt)} instead.",
            param="prompt",
            code="string_above_max_length",
        )
    first = spec.first_dated_version
    if target.route == "deployments" and first is not None and not target.at_least(first):
        raise azure_errors.model_needs_newer_version(first)
    n = _integer(body, "n", 1, 10)
    if n is not None and n > spec.max_n:
        raise azure_errors.invalid_request(
            "You must provide n=1 for this model.", param="n", code="invalid_value"
        )
    size = _size(body, spec)
    quality = _choice(body, "quality", spec.qualities) or ("standard" if spec.url else "auto")
    if spec.styles:
        _choice(body, "style", spec.styles)
    elif "style" in body:
        raise _unknown("style")
    if spec.url:
        response_format = _choice(body, "response_format", ("url", "b64_json")) or "url"
    elif "response_format" in body:  # how-to: "isn't supported for GPT-image-1"
        raise _unknown("response_format")
    else:
        response_format = "b64_json"
    output_format = "png"
    background = None
    if spec.output_formats:
        if body.get("output_format") == "webp":
            raise azure_errors.invalid_request(
                "Invalid value: 'webp'. WEBP images aren't supported; use 'png' or 'jpeg'.",
                param="output_format",
                code="invalid_value",
            )
        output_format = _choice(body, "output_format", spec.output_formats) or "png"
        compression = _integer(body, "output_compression", 0, 100)
        if compression is not None and output_format != "jpeg":
            raise azure_errors.invalid_request(
                "output_compression is only supported with output_format 'jpeg'.",
                param="output_compression",
                code="invalid_value",
            )
        background = _choice(body, "background", spec.backgrounds)
        if background == "transparent" and output_format != "png":
            raise azure_errors.invalid_request(
                "Transparent background requires output_format 'png'.",
                param="background",
                code="invalid_value",
            )
    else:
        for name in ("output_format", "output_compression", "background"):
            if name in body:
                raise _unknown(name)
    return _Params(prompt, n or 1, size, quality, response_format, output_format, background)


def _check_filters(target: Target, prompt: str, revised: str | None) -> None:
    lowered = prompt.lower()
    for word in target.deployment.blocklist:
        if word.lower() in lowered:
            raise azure_errors.image_prompt_filtered(
                prompt_results(blocklist=f"{target.deployment.name}-blocklist"), revised
            )
    if target.faults.completion_filter is not None:
        raise azure_errors.image_output_filtered()


# --- answering ----------------------------------------------------------------------------------


def _revised(prompt: str) -> str:
    return f"A detailed, vivid image of {prompt.strip().rstrip('.')}."


def _answer(
    call: Call,
    state: EmulatorState,
    target: Target,
    spec: ImageSpec,
    p: _Params,
    *,
    default_size: tuple[int, int] = (1024, 1024),
    input_images: int = 0,
) -> HttpResult:
    revised = _revised(p.prompt) if spec.url else None
    _check_filters(target, p.prompt, revised)
    width, height = p.size or default_size
    text_tokens = count_tokens(p.prompt)
    per_image = math.ceil(_OUTPUT_TOKENS.get(p.quality, 4160) * width * height / (1024 * 1024))
    output_tokens = per_image * p.n if spec.tokens else 0
    decision = admit(state, target, text_tokens + output_tokens)
    items: list[dict[str, Any]] = []
    for i in range(p.n):
        seed = f"{target.deployment.name}\x00{p.prompt}\x00{i}"
        if p.output_format == "jpeg":
            data = jpeg(width, height, seed)
        else:
            data = png(width, height, seed, transparent=p.background == "transparent")
        item: dict[str, Any] = {}
        if p.response_format == "url":
            digest = hashlib.blake2b(data, digest_size=16).hexdigest()
            item["url"] = (
                f"https://dalleproduse.blob.core.windows.net/private/images/{digest}/"
                f"generated_00.png?se=2099-01-01T00%3A00%3A00Z&sp=r&sv=2021-08-06&sr=b"
            )
        else:
            item["b64_json"] = base64.b64encode(data).decode("ascii")
        if spec.url:  # DALL-E 3's per-image annotations (spec imageResult)
            item["revised_prompt"] = revised
            item["content_filter_results"] = {
                k: v for k, v in prompt_results().items() if k != "jailbreak"
            }
            item["prompt_filter_results"] = prompt_results()
        items.append(item)
    body: dict[str, Any] = {"created": int(time.time()), "data": items}
    if spec.tokens:
        image_tokens = _IMAGE_INPUT_TOKENS * input_images
        body["usage"] = {
            "input_tokens": text_tokens + image_tokens,
            "output_tokens": output_tokens,
            "total_tokens": text_tokens + image_tokens + output_tokens,
            "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": image_tokens},
        }
    return HttpResult(200, body, success_headers(target, decision))


async def handle_image_generations(
    call: Call, state: EmulatorState, *, route: str, deployment: str | None
) -> HttpResult:
    target = await prepare(call, state, operation="images", route=route, path_deployment=deployment)
    spec = image_spec(target.deployment.model)
    reject_unknown(target.body, GENERATION_PARAMS)
    return _answer(call, state, target, spec, _params(target.body, spec, target))


async def handle_image_edits(
    call: Call, state: EmulatorState, *, route: str, deployment: str | None
) -> HttpResult:
    # Authentication and the route's checks come first, as for every request; a body that is
    # not a form is refused after them.
    form: Form | None = None
    refused: ApiError | None = None
    try:
        form = parse_form(call)
    except ApiError as exc:
        refused = exc
    if refused is not None or form is None:
        if route == "deployments":
            check_dated_version(call, Feature.IMAGE_EDITS)
        else:
            check_v1_version(call)
        authenticate_data_plane(call, api_key=state.api_key, issuer=state.issuer, v1=route == "v1")
        raise refused or azure_errors.invalid_request("The request body is not a form.")
    fields = dict(form.fields)
    call.record.body = form.summary()
    target = await prepare(
        call,
        state,
        operation="image_edits",
        route=route,
        path_deployment=deployment,
        form=fields,
    )
    spec = image_spec(target.deployment.model)
    reject_unknown(fields, EDIT_FIELDS)
    images = form.uploads("image", "image[]")
    if not images:
        raise azure_errors.missing_parameter("image")
    first = None
    for i, upload in enumerate(images, 1):
        facts = dimensions(upload.content)
        if facts is None or facts.format not in ("png", "jpeg"):
            raise azure_errors.invalid_request(
                f"Invalid image file or mode for image {i}, please check your image file.",
                param="image",
                code="invalid_image_format",
            )
        if len(upload.content) > 50 * MB:
            raise azure_errors.invalid_request(
                f"Image {i} is larger than 50 MB.", param="image", code="image_too_large"
            )
        first = first or facts
    masks = form.uploads("mask")
    if masks:
        mask = dimensions(masks[0].content)
        if mask is None or mask.format != "png" or not mask.has_alpha:
            raise azure_errors.invalid_request(
                "Invalid mask image format - mask must be a PNG with an alpha channel.",
                param="mask",
                code="invalid_image_format",
            )
        if len(masks[0].content) > 4 * MB:
            raise azure_errors.invalid_request(
                "The mask is larger than 4 MB.", param="mask", code="image_too_large"
            )
        assert first is not None
        if (mask.width, mask.height) != (first.width, first.height):
            raise azure_errors.invalid_request(
                "Invalid mask image format - mask size does not match image size.",
                param="mask",
                code="invalid_image_format",
            )
    if "input_fidelity" in fields and not spec.input_fidelity:
        raise _unknown("input_fidelity")
    if "input_fidelity" in fields:
        _choice(fields, "input_fidelity", ("low", "high"))
    params = _params(dict(fields), spec, target)
    default = (1024, 1024)
    assert first is not None
    if first.width and first.height and f"{first.width}x{first.height}" in spec.sizes:
        default = (first.width, first.height)
    return _answer(
        call, state, target, spec, params, default_size=default, input_images=len(images)
    )


Handler = Callable[[Call, EmulatorState, re.Match[str]], Awaitable[HttpResult]]


def _route(route: str, *, edit: bool) -> Handler:
    handle = handle_image_edits if edit else handle_image_generations

    async def handler(call: Call, state: EmulatorState, m: re.Match[str]) -> HttpResult:
        deployment = m.group(1) if route == "deployments" else None
        return await handle(call, state, route=route, deployment=deployment)

    return handler


def image_routes() -> list[tuple[frozenset[str], re.Pattern[str], Handler]]:
    """The image paths for :mod:`.dispatch`, on both routes."""
    post = frozenset({"POST"})
    return [
        (
            post,
            re.compile(r"/openai/deployments/([^/]+)/images/generations"),
            _route("deployments", edit=False),
        ),
        (
            post,
            re.compile(r"/openai/deployments/([^/]+)/images/edits"),
            _route("deployments", edit=True),
        ),
        (post, re.compile(r"/openai/v1/images/generations"), _route("v1", edit=False)),
        (post, re.compile(r"/openai/v1/images/edits"), _route("v1", edit=True)),
    ]
