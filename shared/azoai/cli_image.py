"""``azoai image "prompt" --out file.png``: generate an image with a configured resource (or the
emulator, with ``--endpoint`` pointing at it) and write it to a file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    """Register the ``image`` subcommand on ``azoai``'s subparsers."""
    from azoai.cli_args import _add_settings_args

    p = sub.add_parser(
        "image",
        help="generate an image and write it to a file",
        description="Generates an image with an image deployment (gpt-image-1, dall-e-3, ...) and "
        "writes it to --out; with --n above 1 the files are numbered (out-1.png, out-2.png). "
        "The size, quality and count are checked against the model's rules before anything is "
        "sent.",
    )
    p.add_argument("prompt", help="what to draw")
    p.add_argument("--out", required=True, metavar="FILE", help="where to write the image")
    p.add_argument("--model", help="the image model behind the deployment (e.g. gpt-image-1)")
    p.add_argument("--size", help="e.g. 1024x1024, 1536x1024, 1792x1024 (model-dependent)")
    p.add_argument("--quality", help="low, medium, high (gpt-image); standard, hd (dall-e-3)")
    p.add_argument("--style", help="vivid or natural (dall-e-3)")
    p.add_argument("--n", type=int, help="how many images (dall-e-3: 1)")
    p.add_argument("--output-format", dest="output_format", help="png or jpeg (gpt-image models)")
    p.add_argument("--background", help="transparent, opaque or auto (gpt-image models)")
    _add_settings_args(p)


def _paths(out: Path, count: int) -> list[Path]:
    if count == 1:
        return [out]
    return [out.with_name(f"{out.stem}-{i}{out.suffix}") for i in range(1, count + 1)]


def run(args: argparse.Namespace) -> int:
    from azoai.cli_args import _settings_kwargs, flags
    from azoai.errors import AzoaiError, ConfigError
    from azoai.images import Images

    kwargs = _settings_kwargs(args)
    if args.model:
        kwargs["model"] = args.model
    try:
        with Images(**kwargs) as images:
            result = images.generate(
                args.prompt,
                n=args.n,
                size=args.size,
                quality=args.quality,
                style=args.style,
                output_format=args.output_format,
                background=args.background,
            )
    except AzoaiError as err:
        print(f"azoai image: {flags(str(err))}", file=sys.stderr)
        return 2 if isinstance(err, ConfigError) else 1
    written: list[dict[str, Any]] = []
    for image, path in zip(result.images, _paths(Path(args.out), len(result.images)), strict=True):
        if image.data is None:  # a URL answer: nothing to write
            written.append({"url": image.url})
            continue
        image.save(path)
        size = image.size
        written.append(
            {
                "path": str(path),
                "bytes": len(image.data),
                "format": image.info.format if image.info else None,
                "width": size[0] if size else None,
                "height": size[1] if size else None,
                "revised_prompt": image.revised_prompt,
            }
        )
    if args.json:
        print(json.dumps({"deployment": result.deployment, "images": written}, indent=2))
        return 0
    for entry in written:
        if "url" in entry:
            print(f"image at {entry['url']}")
            continue
        shape = f"{entry['width']}x{entry['height']} " if entry["width"] else ""
        print(
            f"wrote {entry['path']} ({shape}{(entry['format'] or 'image').upper()}, "
            f"{entry['bytes']:,} bytes)"
        )
        if entry["revised_prompt"]:
            print(f"  revised prompt: {entry['revised_prompt']}")
    return 0
