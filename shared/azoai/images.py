"""Image generation and editing (gpt-image and DALL-E 3 deployments) through the same client,
connection, auth, retry loop and typed errors as chat::

    from azoai import Images

    with Images(endpoint="https://myres.openai.azure.com", deployment="gpt-image-1",
                model="gpt-image-1") as images:
        result = images.generate("a lighthouse at dawn", size="1536x1024")
        result.image.save("lighthouse.png")            # bytes, decoded
        edited = images.edit("lighthouse.png", "add a red boat", mask="mask.png")

What is checked before sending, from the model's rules (:mod:`azoai.config.image_models`; the
model comes from ``model=``, the deployments list or discovery, else from a deployment named
after its model, such as ``dall-e-3``): the size, quality, style and ``n`` the model takes (DALL-E 3 makes one image per call),
``response_format`` (gpt-image models always answer base64 and take none), ``output_format``,
``output_compression`` and ``background`` (gpt-image only), the prompt's length, and for an edit
the input images (PNG or JPEG, under 50 MB) and the mask (a PNG with an alpha channel, the size
of the first image, under 4 MB). A refusal is a :class:`~azoai.errors.ConfigError` naming the
argument; nothing is sent.

Images arrive as bytes: DALL-E 3 is asked for ``b64_json`` unless ``response_format="url"`` is
given (its URLs expire after 24 hours). Routes: ``/openai/deployments/{d}/images/generations``
(and ``/images/edits``) with a dated api-version (generation from 2023-12-01-preview / GA
2024-06-01, edits from 2025-04-01-preview); on the v1 route ``/openai/v1/images/...`` with
``api-version=preview``, where Azure documents the Images API (facts §1.3: "The v1 preview spec
adds Images").

The content filter: a refused prompt (Azure's 400 ``content_policy_violation`` with
``inner_error.content_filter_results``) is a :class:`~azoai.errors.ContentFilterError` with its
categories; an image the filter withheld from a 200 answer is one too (side ``completion``),
unless ``CallOptions(return_filtered=True)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from os import PathLike
from typing import Any

from azoai.config.catalog import ModelInfo
from azoai.config.image_models import UNKNOWN, ImageModel, lookup_image_model
from azoai.config.versions import ApiVersion
from azoai.error_reading import kept_headers
from azoai.errors import ConfigError, ContentFilterError
from azoai.io import multipart
from azoai.io.exchange import Reply
from azoai.pipeline.policy import DEFAULT_OPTIONS, Call, CallOptions
from azoai.pipeline.telemetry.services import traced_service
from azoai.service import Service
from azoai.wire import images as dialect
from azoai.wire.common import dumps, loads
from azoai.wire.images import GeneratedImage, ImageFile, ImageResult

__all__ = ["GeneratedImage", "ImageResult", "Images"]

ImageSource = bytes | str | PathLike[str]
_V1_PREVIEW = ApiVersion("preview", "v1-preview")


class Images(Service):
    """Image generation and editing (see the module docstring). ``model`` on each call picks
    another deployment, as for chat."""

    def _image_model(self, deployment: str, info: ModelInfo) -> ImageModel:
        """The rules for the model behind ``deployment``: its configured or discovered model, else
        a deployment named after its model (``dall-e-3``, ``gpt-image-1``), else the checks every
        image model shares."""
        if info.known:  # the catalogue knows chat and embedding models only
            raise ConfigError(
                f"deployment '{deployment}' runs {info.name or info.family}, "
                f"{'an embedding' if info.is_embedding else 'a chat'} model, not an image model",
                setting="deployment",
                fix="name a gpt-image or dall-e-3 deployment (model=...), or use Client.chat",
            )
        if info.name:
            return lookup_image_model(info.name)
        by_name = lookup_image_model(deployment)
        return by_name if by_name.known else UNKNOWN

    def _route(self) -> tuple[str, ApiVersion]:
        s = self.settings
        if s.route == "v1":
            return "v1", _V1_PREVIEW  # the Images API is in the v1 preview spec
        return s.route, s.api_version

    def _finish(self, reply: Reply, deployment: str, options: CallOptions) -> ImageResult:
        result = dialect.parse_response(
            loads(reply.content), deployment=deployment, headers=kept_headers(reply.headers)
        )
        withheld = [
            img
            for img in result.images
            if img.data is None and img.url is None and img.content_filter is not None
        ]
        if withheld and not options.return_filtered:
            verdict = withheld[0].content_filter
            assert verdict is not None
            cats = ", ".join(verdict.filtered_categories)
            raise ContentFilterError(
                f"Azure's content filter withheld {len(withheld)} of {len(result.images)} "
                f"generated image(s){f' ({cats})' if cats else ''}",
                side="completion",
                results=[v for img in withheld if (v := img.content_filter) is not None],
                partial_result=result,
                deployment=deployment,
                fix="rephrase the prompt, or pass CallOptions(return_filtered=True) to receive "
                "the images that were not withheld",
            )
        return result

    # -- generation ------------------------------------------------------------------------------

    def _generation(
        self, prompt: str, model: str | None, params: Mapping[str, Any]
    ) -> tuple[Call, str, ApiVersion]:
        res, info = self._target(model)
        image_model = self._image_model(res.deployment, info)
        route, version = self._route()
        body = dialect.build_generation_body(
            prompt,
            model=image_model,
            deployment=res.deployment,
            route=route,
            version=version,
            check_version=self.settings.check_api_version,
            **params,
        )
        url = self._url("images/generations", res.deployment, route=route, version=version)
        call = Call(res.deployment, "images", url, dumps(body), info, False, [])
        return call, route, version

    @traced_service("generate_content", "images.generations", output="image")
    def generate(
        self,
        prompt: str,
        *,
        model: str | None = None,
        n: int | None = None,
        size: str | None = None,
        quality: str | None = None,
        style: str | None = None,
        response_format: str | None = None,
        output_format: str | None = None,
        output_compression: int | None = None,
        background: str | None = None,
        user: str | None = None,
        options: CallOptions | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> ImageResult:
        """Generate images from ``prompt``; unset arguments are left to the service's defaults."""
        opts = options or DEFAULT_OPTIONS
        call, route, version = self._generation(
            prompt,
            model,
            {
                "n": n,
                "size": size,
                "quality": quality,
                "style": style,
                "response_format": response_format,
                "output_format": output_format,
                "output_compression": output_compression,
                "background": background,
                "user": user,
                "extra_body": extra_body,
            },
        )
        return self._finish(self._send(call, opts, route, version), call.deployment, opts)

    @traced_service("generate_content", "images.generations", output="image")
    async def agenerate(
        self,
        prompt: str,
        *,
        model: str | None = None,
        n: int | None = None,
        size: str | None = None,
        quality: str | None = None,
        style: str | None = None,
        response_format: str | None = None,
        output_format: str | None = None,
        output_compression: int | None = None,
        background: str | None = None,
        user: str | None = None,
        options: CallOptions | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> ImageResult:
        opts = options or DEFAULT_OPTIONS
        await self._atarget(model)
        call, route, version = self._generation(
            prompt,
            model,
            {
                "n": n,
                "size": size,
                "quality": quality,
                "style": style,
                "response_format": response_format,
                "output_format": output_format,
                "output_compression": output_compression,
                "background": background,
                "user": user,
                "extra_body": extra_body,
            },
        )
        return self._finish(await self._asend(call, opts, route, version), call.deployment, opts)

    # -- editing ---------------------------------------------------------------------------------

    def _edit(
        self,
        image: ImageSource | Sequence[ImageSource],
        prompt: str,
        mask: ImageSource | None,
        model: str | None,
        options: CallOptions,
        params: Mapping[str, Any],
    ) -> tuple[Call, Any, str, ApiVersion]:
        res, info = self._target(model)
        image_model = self._image_model(res.deployment, info)
        route, version = self._route()
        many = isinstance(image, Sequence) and not isinstance(image, str | bytes | bytearray)
        sources: list[Any] = list(image) if many else [image]  # type: ignore[arg-type]
        files = [
            dialect.image_file(
                src,
                setting="image" if len(sources) == 1 else f"image[{i}]",
                default_name=f"image{i}",
            )
            for i, src in enumerate(sources)
        ]
        mask_file: ImageFile | None = (
            dialect.image_file(mask, setting="mask", default_name="mask")
            if mask is not None
            else None
        )
        fields, parts = dialect.build_edit_form(
            files,
            prompt,
            model=image_model,
            deployment=res.deployment,
            route=route,
            version=version,
            mask=mask_file,
            check_version=self.settings.check_api_version,
            **params,
        )
        form = multipart.encode(
            fields,
            [multipart.FilePart(name, f.filename, f.data, f.mime_type) for name, f in parts],
        )
        url = self._url("images/edits", res.deployment, route=route, version=version)
        call = Call(res.deployment, "images", url, form.body, info, False, [])
        req = multipart.request(
            url,
            form,
            deployment=res.deployment,
            timeout=options.timeout,
            extra_headers=options.extra_headers,
        )
        return call, req, route, version

    @traced_service("generate_content", "images.edits", output="image")
    def edit(
        self,
        image: ImageSource | Sequence[ImageSource],
        prompt: str,
        *,
        mask: ImageSource | None = None,
        model: str | None = None,
        n: int | None = None,
        size: str | None = None,
        quality: str | None = None,
        response_format: str | None = None,
        output_format: str | None = None,
        output_compression: int | None = None,
        background: str | None = None,
        input_fidelity: str | None = None,
        user: str | None = None,
        options: CallOptions | None = None,
        extra_fields: Mapping[str, str] | None = None,
    ) -> ImageResult:
        """Edit ``image`` (bytes or a path; several for gpt-image models) as ``prompt`` says;
        ``mask``'s transparent pixels mark where (it applies to the first image)."""
        opts = options or DEFAULT_OPTIONS
        call, req, route, version = self._edit(
            image,
            prompt,
            mask,
            model,
            opts,
            {
                "n": n,
                "size": size,
                "quality": quality,
                "response_format": response_format,
                "output_format": output_format,
                "output_compression": output_compression,
                "background": background,
                "input_fidelity": input_fidelity,
                "user": user,
                "extra_fields": extra_fields,
            },
        )
        return self._finish(
            self._send_request(call, req, opts, route, version), call.deployment, opts
        )

    @traced_service("generate_content", "images.edits", output="image")
    async def aedit(
        self,
        image: ImageSource | Sequence[ImageSource],
        prompt: str,
        *,
        mask: ImageSource | None = None,
        model: str | None = None,
        n: int | None = None,
        size: str | None = None,
        quality: str | None = None,
        response_format: str | None = None,
        output_format: str | None = None,
        output_compression: int | None = None,
        background: str | None = None,
        input_fidelity: str | None = None,
        user: str | None = None,
        options: CallOptions | None = None,
        extra_fields: Mapping[str, str] | None = None,
    ) -> ImageResult:
        opts = options or DEFAULT_OPTIONS
        await self._atarget(model)
        call, req, route, version = self._edit(
            image,
            prompt,
            mask,
            model,
            opts,
            {
                "n": n,
                "size": size,
                "quality": quality,
                "response_format": response_format,
                "output_format": output_format,
                "output_compression": output_compression,
                "background": background,
                "input_fidelity": input_fidelity,
                "user": user,
                "extra_fields": extra_fields,
            },
        )
        return self._finish(
            await self._asend_request(call, req, opts, route, version), call.deployment, opts
        )
