"""What azoai knows about image models: sizes, qualities, images per call, response formats,
edits, keyed by the *real* model name (``gpt-image-1``, ``dall-e-3``), never by deployment name.

Sources (``how-to`` = ``MicrosoftDocs/azure-ai-docs``):

* ``how-to@2025-09`` = ``articles/ai-foundry/openai/how-to/dall-e.md`` @094ebed: the model table
  (gpt-image-1 and -mini: "outputs images only in base64 (no URL option)", sizes "1024×1024,
  1024×1536, 1536×1024", quality "low, medium, high", "1–10 images per request"; DALL·E 3: "URL or
  base64", sizes "1024×1024, 1024×1792, 1792×1024", quality "standard, hd", style "natural,
  vivid", "Only 1 image per request (n must be 1)"); "DALL-E models don't support the Image Edit
  API"; an edit's input image "must be less than 50 MB in size and must be a PNG or JPG file"; the
  mask "must be a PNG file and have the same dimensions as the input image"; "WEBP images aren't
  supported"; ``input_fidelity`` "is not supported by the gpt-image-1-mini model".
* ``how-to@2026-04`` = ``articles/foundry/openai/how-to/dall-e.md`` @10fd319: gpt-image-1.5 as
  gpt-image-1; gpt-image-2 takes any size whose edges are multiples of 16, the long edge up to
  3840 px, an aspect ratio up to 3:1 and 655,360 to 8,294,400 pixels; ``background=transparent``
  needs ``output_format=png``.
* ``spec`` = the vendored ``inference-preview-2025-04-01-preview.json``: ``size`` and ``quality``
  ``auto`` (gpt-image-1 only), ``output_compression`` 0-100 for jpeg only, prompts of at most
  32,000 characters (gpt-image-1) and 4,000 (dall-e-3), the mask under 4 MB, ``n`` 1 to 10.

A name not in the table gets :data:`UNKNOWN` (``known=False``): the checks every image model
shares, nothing family-specific, so a newer model is never refused by an old table.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

__all__ = ["UNKNOWN", "ImageModel", "lookup_image_model"]

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ImageModel:
    """One image model family's request rules. Empty tuples mean "any value" (unknown models).

    ``response_formats``: what the model answers with; ``sends_response_format`` is False for
    models that take no ``response_format`` at all (gpt-image: always base64). ``free_size``:
    any ``WxH`` within the gpt-image-2 limits instead of a fixed list."""

    name: str
    family: str
    known: bool = True
    sizes: tuple[str, ...] = ()
    free_size: bool = False
    qualities: tuple[str, ...] = ()
    styles: tuple[str, ...] = ()
    max_n: int = 10
    response_formats: tuple[str, ...] = ("url", "b64_json")
    sends_response_format: bool = True
    output_formats: tuple[str, ...] = ()
    backgrounds: tuple[str, ...] = ()
    compression: bool = False
    edits: bool = False
    input_fidelity: bool = False
    max_prompt_chars: int = 32_000
    #: Edits: the largest input image, and the largest mask.
    max_image_bytes: int = 50 * MB
    max_mask_bytes: int = 4 * MB
    #: The first dated api-version that serves the model (None: any with the operation).
    first_dated_version: str | None = None


_GPT_IMAGE = ImageModel(
    name="gpt-image-1",
    family="gpt-image",
    sizes=("auto", "1024x1024", "1024x1536", "1536x1024"),
    qualities=("auto", "low", "medium", "high"),
    max_n=10,
    response_formats=("b64_json",),
    sends_response_format=False,
    output_formats=("png", "jpeg"),
    backgrounds=("transparent", "opaque", "auto"),
    compression=True,
    edits=True,
    input_fidelity=True,
    max_prompt_chars=32_000,
    # how-to@2025-09: gpt-image-1's examples use api-version 2025-04-01-preview, the first (and
    # last) dated version whose spec knows gpt-image-1 (spec 2024-10-21 has dall-e-3 only).
    first_dated_version="2025-04-01-preview",
)

_DALL_E_3 = ImageModel(
    name="dall-e-3",
    family="dall-e-3",
    sizes=("1024x1024", "1792x1024", "1024x1792"),
    qualities=("standard", "hd"),
    styles=("vivid", "natural"),
    max_n=1,
    response_formats=("url", "b64_json"),
    max_prompt_chars=4_000,
)

# Longest matching prefix wins ("gpt-image-1-mini" before "gpt-image-1").
_TABLE: dict[str, ImageModel] = {
    "gpt-image-1": _GPT_IMAGE,
    "gpt-image-1-mini": replace(_GPT_IMAGE, name="gpt-image-1-mini", input_fidelity=False),
    "gpt-image-1.5": replace(_GPT_IMAGE, name="gpt-image-1.5"),
    "gpt-image-2": replace(_GPT_IMAGE, name="gpt-image-2", sizes=("auto",), free_size=True),
    "dall-e-3": _DALL_E_3,
}
_PREFIXES = sorted(_TABLE, key=len, reverse=True)

UNKNOWN = ImageModel(
    name="",
    family="unknown",
    known=False,
    max_n=10,
    response_formats=("url", "b64_json"),
    edits=True,
)

#: gpt-image-2's free sizes (how-to@2026-04).
FREE_SIZE_MULTIPLE = 16
FREE_SIZE_LONG_EDGE = 3840
FREE_SIZE_MAX_RATIO = 3
FREE_SIZE_PIXELS = (655_360, 8_294_400)


@lru_cache(maxsize=64)
def lookup_image_model(name: str | None) -> ImageModel:
    """The rules for the image model ``name`` (a dated name finds its family); :data:`UNKNOWN`
    (with the name kept) for ``None`` or a name not in the table. Never raises."""
    if not name:
        return UNKNOWN
    n = name.strip().lower()
    for prefix in ("azure-openai/", "azure/", "openai/"):
        n = n.removeprefix(prefix)
    for key in _PREFIXES:
        if n == key or (n.startswith(key) and n[len(key)] in "-_:@ "):
            found = _TABLE[key]
            return found if found.name == name else replace(found, name=name)
    return replace(UNKNOWN, name=name)


def is_image_model_name(name: str | None) -> bool:
    """Whether ``name`` looks like an image model (a table family, or an unlisted ``gpt-image-``
    / ``dall-e-`` name)."""
    if not name:
        return False
    n = name.strip().lower()
    return lookup_image_model(name).known or n.startswith(("gpt-image-", "dall-e-"))


def free_size_problem(width: int, height: int) -> str | None:
    """Why ``width``x``height`` is not a gpt-image-2 size, or ``None`` when it is one."""
    if width % FREE_SIZE_MULTIPLE or height % FREE_SIZE_MULTIPLE:
        return f"both edges must be multiples of {FREE_SIZE_MULTIPLE} pixels"
    if max(width, height) > FREE_SIZE_LONG_EDGE:
        return f"the long edge must be at most {FREE_SIZE_LONG_EDGE} pixels"
    if max(width, height) > FREE_SIZE_MAX_RATIO * min(width, height):
        return f"the aspect ratio must be at most {FREE_SIZE_MAX_RATIO}:1"
    low, high = FREE_SIZE_PIXELS
    if not low <= width * height <= high:
        return f"the image must have between {low:,} and {high:,} pixels"
    return None
