"""The Images dialect (``images/generations``, ``images/edits``): requests checked against the
model's rules before anything is sent, responses parsed into :class:`ImageResult`.

Pure: no I/O. The rules per model are :mod:`azoai.config.image_models`; a generation is a JSON
body, an edit a list of form fields and files the client encodes as ``multipart/form-data``.
Every refusal is a :class:`~azoai.errors.ConfigError` naming the argument to change and the
values the model takes.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from azoai.config.image_models import ImageModel, free_size_problem
from azoai.config.versions import ApiVersion, Feature, parse_api_version, require_feature
from azoai.content_filter import ContentFilterResults, parse_category_results
from azoai.errors import ApiVersionError, ConfigError, InvalidResponseError

__all__ = [
    "GeneratedImage",
    "ImageFile",
    "ImageInfo",
    "ImageResult",
    "ImageUsage",
    "build_edit_form",
    "build_generation_body",
    "parse_response",
    "sniff",
]

_SIZE = re.compile(r"^(\d{2,5})x(\d{2,5})$")
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_MIME = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp", "gif": "image/gif"}


# --- what an image is ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What the bytes of an image say about it: its format, size and whether it has an alpha
    channel (PNG colour types 4 and 6, or a ``tRNS`` chunk)."""

    format: Literal["png", "jpeg", "webp", "gif"]
    width: int | None = None
    height: int | None = None
    has_alpha: bool = False

    @property
    def mime_type(self) -> str:
        return _MIME[self.format]


def sniff(data: bytes) -> ImageInfo | None:
    """The format and size of an image from its first bytes (PNG and JPEG read fully enough for
    their size; WEBP and GIF by signature only), or ``None`` for anything else."""
    if data.startswith(_PNG_MAGIC):
        return _png_info(data)
    if data.startswith(b"\xff\xd8\xff"):
        return _jpeg_info(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ImageInfo("webp")
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return ImageInfo("gif")
    return None


def _png_info(data: bytes) -> ImageInfo:
    width = height = None
    alpha = False
    pos = len(_PNG_MAGIC)
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR" and len(chunk) >= 10:
            width, height = struct.unpack(">II", chunk[:8])
            alpha = chunk[9] in (4, 6)  # grey + alpha, RGBA
        elif kind == b"tRNS":
            alpha = True
        elif kind in (b"IDAT", b"IEND"):  # tRNS must come before IDAT
            break
        pos += 12 + length
    return ImageInfo("png", width, height, alpha)


def _jpeg_info(data: bytes) -> ImageInfo:
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            break
        marker = data[pos + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        # SOF0..SOF15 except DHT (C4), JPG (C8), DAC (CC) carry the frame size
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC) and pos + 9 <= len(data):
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return ImageInfo("jpeg", width, height)
        pos += 2 + length
    return ImageInfo("jpeg")


@dataclass(frozen=True, slots=True)
class ImageFile:
    """An image to upload (an edit's input image or mask): bytes, the name the service sees,
    and what the bytes are."""

    data: bytes
    filename: str
    info: ImageInfo

    @property
    def mime_type(self) -> str:
        return self.info.mime_type


# --- results ------------------------------------------------------------------------------------


@dataclass(slots=True)
class ImageUsage:
    """gpt-image models report token usage; DALL-E 3 reports none (all zero)."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    input_text_tokens: int = 0
    input_image_tokens: int = 0


@dataclass(slots=True)
class GeneratedImage:
    """One image: ``data`` (the decoded bytes) when Azure sent base64, else ``url`` (DALL-E 3
    with ``response_format="url"``: a link valid for 24 hours). ``revised_prompt`` is the prompt
    DALL-E 3 actually drew; ``content_filter`` the verdict on the image, ``prompt_filter`` the
    verdict on the prompt, when Azure sends them."""

    index: int
    data: bytes | None = None
    url: str | None = None
    revised_prompt: str | None = None
    content_filter: ContentFilterResults | None = None
    prompt_filter: ContentFilterResults | None = None
    _info: ImageInfo | None = field(default=None, repr=False)

    @property
    def info(self) -> ImageInfo | None:
        """Format and size read from the bytes (``None`` for a URL or unknown bytes)."""
        if self._info is None and self.data is not None:
            self._info = sniff(self.data)
        return self._info

    @property
    def mime_type(self) -> str | None:
        info = self.info
        return info.mime_type if info is not None else None

    @property
    def size(self) -> tuple[int, int] | None:
        """``(width, height)`` in pixels, read from the bytes."""
        info = self.info
        if info is None or info.width is None or info.height is None:
            return None
        return info.width, info.height

    @property
    def b64_json(self) -> str | None:
        """The image as base64 text (what LangChain and LlamaIndex image blocks carry)."""
        return base64.b64encode(self.data).decode("ascii") if self.data is not None else None

    def save(self, path: Any) -> None:
        """Write the bytes to ``path`` (a URL result has none: download ``url`` instead)."""
        if self.data is None:
            raise ValueError(
                "this image came as a URL (response_format='url'); download it from .url, or "
                "ask for response_format='b64_json'"
            )
        from pathlib import Path

        Path(path).write_bytes(self.data)


@dataclass(slots=True)
class ImageResult:
    """An ``images/generations`` or ``images/edits`` answer, images in order."""

    images: list[GeneratedImage]
    created: int | None = None
    usage: ImageUsage = field(default_factory=ImageUsage)
    deployment: str | None = None
    model: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    output_format: str | None = None
    size: str | None = None
    quality: str | None = None
    background: str | None = None

    @property
    def image(self) -> GeneratedImage:
        """The first image (most calls ask for one)."""
        return self.images[0]


# --- building requests --------------------------------------------------------------------------


def _pick(value: Any, allowed: tuple[str, ...], setting: str, model: ImageModel) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{setting} must be a string, got {value!r}", setting=setting)
    if allowed and value not in allowed:
        who = model.name or model.family
        raise ConfigError(
            f"{setting} {value!r} is not available for {who}; use one of {', '.join(allowed)}",
            setting=setting,
        )
    return value


def _check_size(size: Any, model: ImageModel) -> str | None:
    if size is None:
        return None
    if not isinstance(size, str) or (size != "auto" and not _SIZE.match(size)):
        raise ConfigError(
            f"size must be 'WIDTHxHEIGHT' (e.g. '1024x1024') or 'auto', got {size!r}",
            setting="size",
        )
    who = model.name or model.family
    if model.free_size and size != "auto":
        w, h = (int(x) for x in size.split("x"))
        problem = free_size_problem(w, h)
        if problem is not None:
            raise ConfigError(
                f"size {size!r} is not available for {who}: {problem}", setting="size"
            )
        return size
    return _pick(size, model.sizes, "size", model)


def _check_n(n: Any, model: ImageModel) -> int | None:
    if n is None:
        return None
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= model.max_n:
        who = model.name or model.family
        extra = "; make one call per image (they can run in parallel)" if model.max_n == 1 else ""
        raise ConfigError(
            f"n={n!r} images per call is not possible with {who}: it makes 1 to {model.max_n}"
            f"{extra}",
            setting="n",
        )
    return n


def _check_prompt(prompt: Any, model: ImageModel) -> str:
    if not isinstance(prompt, str) or not prompt.strip():
        raise ConfigError("the image prompt must be a non-empty string", setting="prompt")
    if model.known and len(prompt) > model.max_prompt_chars:
        raise ConfigError(
            f"the prompt has {len(prompt):,} characters; {model.name} takes at most "
            f"{model.max_prompt_chars:,}",
            setting="prompt",
        )
    return prompt


def check_model_version(model: ImageModel, version: ApiVersion, *, check: bool = True) -> None:
    """A dated api-version older than the first that serves the model is refused before sending
    (a version newer than the catalogue passes)."""
    first = model.first_dated_version
    if not check or first is None or not version.is_dated or not version.known:
        return
    floor = parse_api_version(first)
    assert version.date is not None and floor.date is not None
    if version.date >= floor.date and (version.kind == "preview" or floor.kind == "ga"):
        return
    raise ApiVersionError(
        f"{model.name} needs api_version {first} on the deployments route; api_version is "
        f"{version.value!r}",
        feature=f"model {model.name}",
        api_version=version.value,
        fix=f"set api_version='{first}', or route='v1' (no api-version needed)",
    )


def _common(
    model: ImageModel,
    *,
    response_format: Any,
    output_format: Any,
    output_compression: Any,
    background: Any,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    who = model.name or model.family
    fmt = _pick(response_format, ("url", "b64_json"), "response_format", model)
    if fmt is not None and model.known and fmt not in model.response_formats:
        raise ConfigError(
            f"response_format {fmt!r} is not available for {who}: it always returns base64 "
            "images; leave response_format unset",
            setting="response_format",
        )
    if model.sends_response_format:
        out["response_format"] = fmt or "b64_json"  # bytes in hand: a URL expires in 24 hours
    if output_format is not None:
        if model.known and not model.output_formats:
            raise ConfigError(
                f"output_format is not available for {who} (gpt-image models only)",
                setting="output_format",
            )
        out["output_format"] = _pick(output_format, model.output_formats, "output_format", model)
    if output_compression is not None:
        if (
            isinstance(output_compression, bool)
            or not isinstance(output_compression, int)
            or not 0 <= output_compression <= 100
        ):
            raise ConfigError(
                f"output_compression must be a whole number from 0 to 100, got "
                f"{output_compression!r}",
                setting="output_compression",
            )
        if model.known and (not model.compression or out.get("output_format") != "jpeg"):
            raise ConfigError(
                f"output_compression applies to jpeg output of gpt-image models only; set "
                f"output_format='jpeg' (model {who})",
                setting="output_compression",
            )
        out["output_compression"] = output_compression
    if background is not None:
        if model.known and not model.backgrounds:
            raise ConfigError(
                f"background is not available for {who} (gpt-image models only)",
                setting="background",
            )
        out["background"] = _pick(background, model.backgrounds, "background", model)
        if background == "transparent" and out.get("output_format", "png") != "png":
            raise ConfigError(
                "background='transparent' needs output_format='png' (jpeg has no transparency)",
                setting="background",
            )
    return out


def build_generation_body(
    prompt: str,
    *,
    model: ImageModel,
    deployment: str,
    route: str,
    version: ApiVersion,
    n: int | None = None,
    size: str | None = None,
    quality: str | None = None,
    style: str | None = None,
    response_format: str | None = None,
    output_format: str | None = None,
    output_compression: int | None = None,
    background: str | None = None,
    user: str | None = None,
    extra_body: Mapping[str, Any] | None = None,
    check_version: bool = True,
) -> dict[str, Any]:
    """The ``images/generations`` JSON body, or a :class:`ConfigError` naming what to change."""
    require_feature(version, Feature.IMAGE_GENERATIONS, check=check_version)
    if route == "deployments":
        check_model_version(model, version, check=check_version)
    body: dict[str, Any] = {"prompt": _check_prompt(prompt, model)}
    if route != "deployments":
        body["model"] = deployment
    if (v := _check_n(n, model)) is not None:
        body["n"] = v
    if (v2 := _check_size(size, model)) is not None:
        body["size"] = v2
    if (q := _pick(quality, model.qualities, "quality", model)) is not None:
        body["quality"] = q
    if style is not None:
        if model.known and not model.styles:
            raise ConfigError(
                f"style is not available for {model.name} (DALL-E 3 only)", setting="style"
            )
        body["style"] = _pick(style, model.styles, "style", model)
    body.update(
        _common(
            model,
            response_format=response_format,
            output_format=output_format,
            output_compression=output_compression,
            background=background,
        )
    )
    if user is not None:
        body["user"] = user
    if extra_body:
        body.update(extra_body)
    return body


def image_file(data: Any, *, setting: str, default_name: str) -> ImageFile:
    """An upload from bytes or a path (``str`` / ``os.PathLike``), with its format read from the
    bytes; anything that is not an image is refused, naming ``setting``."""
    from os import PathLike
    from pathlib import Path

    name = default_name
    if isinstance(data, str | PathLike):
        path = Path(data)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"{setting}: cannot read {path}: {exc}", setting=setting) from None
        name = path.name
    elif isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
    else:
        raise ConfigError(
            f"{setting} must be image bytes or a file path, got {type(data).__name__}",
            setting=setting,
        )
    info = sniff(raw)
    if info is None:
        raise ConfigError(
            f"{setting} is not a PNG or JPEG image (its first bytes are no image signature)",
            setting=setting,
        )
    stem = name.rsplit(".", 1)[0] if "." in name else name
    ext = "jpg" if info.format == "jpeg" else info.format
    return ImageFile(raw, f"{stem}.{ext}", info)


def build_edit_form(
    images: Sequence[ImageFile],
    prompt: str,
    *,
    model: ImageModel,
    deployment: str,
    route: str,
    version: ApiVersion,
    mask: ImageFile | None = None,
    n: int | None = None,
    size: str | None = None,
    quality: str | None = None,
    response_format: str | None = None,
    output_format: str | None = None,
    output_compression: int | None = None,
    background: str | None = None,
    input_fidelity: str | None = None,
    user: str | None = None,
    extra_fields: Mapping[str, str] | None = None,
    check_version: bool = True,
) -> tuple[list[tuple[str, str]], list[tuple[str, ImageFile]]]:
    """The ``images/edits`` form: fields and ``(field name, file)`` pairs, or a
    :class:`ConfigError` naming what to change (a mask that is not a PNG with transparency or
    does not match the first image's size, an input too large or of another format)."""
    require_feature(version, Feature.IMAGE_EDITS, check=check_version)
    who = model.name or model.family
    if model.known and not model.edits:
        raise ConfigError(
            f"{who} does not edit images (Azure's image edit API serves gpt-image models); "
            "deploy a gpt-image model for edits",
            setting="model",
        )
    if route == "deployments":
        check_model_version(model, version, check=check_version)
    if not images:
        raise ConfigError("an edit needs at least one input image", setting="image")
    for i, img in enumerate(images):
        label = "image" if len(images) == 1 else f"image[{i}]"
        if img.info.format not in ("png", "jpeg"):
            raise ConfigError(
                f"{label} is a {img.info.format.upper()} file; edits take PNG or JPEG",
                setting="image",
            )
        if len(img.data) > model.max_image_bytes:
            raise ConfigError(
                f"{label} is {len(img.data) / 1024 / 1024:.1f} MB; the limit is "
                f"{model.max_image_bytes // 1024 // 1024} MB",
                setting="image",
            )
    if mask is not None:
        _check_mask(mask, images[0], model)
    fields: list[tuple[str, str]] = [("prompt", _check_prompt(prompt, model))]
    if route != "deployments":
        fields.append(("model", deployment))
    if (v := _check_n(n, model)) is not None:
        fields.append(("n", str(v)))
    if (v2 := _check_size(size, model)) is not None:
        fields.append(("size", v2))
    if (q := _pick(quality, model.qualities, "quality", model)) is not None:
        fields.append(("quality", q))
    if input_fidelity is not None:
        if model.known and not model.input_fidelity:
            raise ConfigError(
                f"input_fidelity is not available for {who}", setting="input_fidelity"
            )
        fields.append(
            (
                "input_fidelity",
                _pick(input_fidelity, ("low", "high"), "input_fidelity", model) or "",
            )
        )
    common = _common(
        model,
        response_format=response_format,
        output_format=output_format,
        output_compression=output_compression,
        background=background,
    )
    fields += [(k, str(v)) for k, v in common.items()]
    if user is not None:
        fields.append(("user", user))
    fields += list((extra_fields or {}).items())
    # one image goes as "image"; several as "image[]" (the form Azure's edit example uses)
    key = "image" if len(images) == 1 else "image[]"
    files = [(key, img) for img in images]
    if mask is not None:
        files.append(("mask", mask))
    return fields, files


def _check_mask(mask: ImageFile, first: ImageFile, model: ImageModel) -> None:
    if mask.info.format != "png":
        raise ConfigError(
            f"the mask is a {mask.info.format.upper()} file; it must be a PNG whose fully "
            "transparent pixels mark the area to edit",
            setting="mask",
        )
    if not mask.info.has_alpha:
        raise ConfigError(
            "the mask PNG has no alpha channel; its fully transparent pixels (alpha 0) mark the "
            "area to edit, so save it as RGBA (or grey + alpha)",
            setting="mask",
        )
    if len(mask.data) > model.max_mask_bytes:
        raise ConfigError(
            f"the mask is {len(mask.data) / 1024 / 1024:.1f} MB; the limit is "
            f"{model.max_mask_bytes // 1024 // 1024} MB",
            setting="mask",
        )
    mine, theirs = (mask.info.width, mask.info.height), (first.info.width, first.info.height)
    if None not in mine and None not in theirs and mine != theirs:
        raise ConfigError(
            f"the mask is {mine[0]}x{mine[1]} but the image is {theirs[0]}x{theirs[1]}; the mask "
            "must have the same dimensions as the (first) image",
            setting="mask",
        )


# --- reading responses --------------------------------------------------------------------------


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _usage(raw: Any) -> ImageUsage:
    if not isinstance(raw, Mapping):
        return ImageUsage()
    details = raw.get("input_tokens_details")
    details = details if isinstance(details, Mapping) else {}
    return ImageUsage(
        input_tokens=_int(raw.get("input_tokens")),
        output_tokens=_int(raw.get("output_tokens")),
        total_tokens=_int(raw.get("total_tokens")),
        input_text_tokens=_int(details.get("text_tokens")),
        input_image_tokens=_int(details.get("image_tokens")),
    )


def _verdict(raw: Any, side: Literal["prompt", "completion"]) -> ContentFilterResults | None:
    if not isinstance(raw, Mapping):
        return None
    return ContentFilterResults(side, parse_category_results(raw), raw=raw)


def parse_response(
    body: Any, *, deployment: str | None = None, headers: Mapping[str, str] | None = None
) -> ImageResult:
    """An images answer; a body without a ``data`` list, or an item whose base64 does not
    decode, is an :class:`InvalidResponseError`."""
    if not isinstance(body, Mapping) or not isinstance(body.get("data"), list):
        raise InvalidResponseError(
            "the images response holds no 'data' list", deployment=deployment
        )
    images: list[GeneratedImage] = []
    for i, item in enumerate(body["data"]):
        if not isinstance(item, Mapping):
            raise InvalidResponseError(
                f"image {i} of the response is not an object", deployment=deployment
            )
        data = None
        b64 = item.get("b64_json")
        if isinstance(b64, str):
            try:
                data = base64.b64decode(b64, validate=True)
            except (binascii.Error, ValueError):
                raise InvalidResponseError(
                    f"image {i} of the response is not valid base64", deployment=deployment
                ) from None
        url = item.get("url") if isinstance(item.get("url"), str) else None
        revised = item.get("revised_prompt")
        images.append(
            GeneratedImage(
                index=i,
                data=data,
                url=url,
                revised_prompt=revised if isinstance(revised, str) else None,
                content_filter=_verdict(item.get("content_filter_results"), "completion"),
                prompt_filter=_verdict(item.get("prompt_filter_results"), "prompt"),
            )
        )
    created = body.get("created")
    text = {k: body.get(k) for k in ("output_format", "size", "quality", "background")}
    return ImageResult(
        images=images,
        created=created if isinstance(created, int) else None,
        usage=_usage(body.get("usage")),
        deployment=deployment,
        model=body.get("model") if isinstance(body.get("model"), str) else None,
        headers=dict(headers or {}),
        **{k: v if isinstance(v, str) else None for k, v in text.items()},
    )
