"""``AzureImageToolSpec``: image generation on an Azure deployment as a LlamaIndex tool spec.

LlamaIndex has no image-generation interface of its own; the ecosystem's shape is a
``BaseToolSpec`` (llama-hub's ``OpenAIImageGenerationToolSpec``), whose ``spec_functions``
become tools with ``to_tool_list()``. ``generate_image`` answers with LlamaIndex content blocks:
a ``TextBlock`` saying what was drawn (size, format, DALL-E 3's revised prompt) and an
``ImageBlock`` per image holding its bytes. An agent's model reads the text (a tool message
carries text only); the images stay in the tool output's ``blocks`` for the application. Azure's
rules (sizes, qualities, ``n`` per model, the content filter) are the core's
(:class:`azoai.images.Images`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from llama_index.core.base.llms.types import ImageBlock, TextBlock
from llama_index.core.tools.tool_spec.base import BaseToolSpec

from azoai.client import Client
from azoai.images import ImageResult, Images
from llamaindex_azoai._connection import ServiceConnection

if TYPE_CHECKING:
    import httpx

__all__ = ["AzureImageToolSpec"]


def _blocks(result: ImageResult, prompt: str) -> list[TextBlock | ImageBlock]:
    shapes = []
    images: list[TextBlock | ImageBlock] = []
    for img in result.images:
        size = img.size
        kind = img.info.format.upper() if img.info else "image"
        shapes.append(f"{size[0]}x{size[1]} {kind}" if size else kind)
        if img.data is not None:
            images.append(ImageBlock(image=img.data, image_mimetype=img.mime_type))
        elif img.url is not None:
            images.append(ImageBlock(url=img.url))
    count = len(result.images)
    text = (
        f"Generated {count} image{'s' if count != 1 else ''} ({', '.join(shapes)}) for the "
        f"prompt {prompt!r}."
    )
    revised = next((img.revised_prompt for img in result.images if img.revised_prompt), None)
    if revised:
        text += f" The image model drew: {revised!r}."
    return [TextBlock(text=text), *images]


class AzureImageToolSpec(ServiceConnection, BaseToolSpec):
    """Image generation tools for LlamaIndex agents::

        spec = AzureImageToolSpec(engine="gpt-image-1", model="gpt-image-1",
                                  azure_endpoint="https://<resource>.example", api_key="...")
        agent = FunctionAgent(tools=spec.to_tool_list(), llm=llm)

    Connection arguments are the LLM's (``azure_endpoint``, ``api_key``, ``api_version``,
    ``azure_ad_token_provider``, ``use_azure_ad``, ``engine`` and its aliases, azoai's own
    options as keywords), or ``client=`` an existing :class:`azoai.client.Client`. ``size``,
    ``quality``, ``style``, ``n``, ``output_format`` and ``background`` set what every call asks
    for; the agent may pass a ``size`` of its own.
    """

    spec_functions = [("generate_image", "agenerate_image")]  # noqa: RUF012 (the base's field)

    def __init__(
        self,
        engine: str | None = None,
        model: str | None = None,
        *,
        size: str | None = None,
        quality: str | None = None,
        style: str | None = None,
        n: int | None = None,
        output_format: str | None = None,
        background: str | None = None,
        azure_endpoint: str | None = None,
        api_base: str | None = None,
        api_key: Any = None,
        api_version: str | None = None,
        azure_ad_token_provider: Callable[..., Any] | None = None,
        use_azure_ad: bool = False,
        deployment_name: str | None = None,
        deployment: str | None = None,
        azure_deployment: str | None = None,
        max_retries: int | None = None,
        timeout: float | None = None,
        client: Client | None = None,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        **core_options: Any,
    ) -> None:
        self._defaults: dict[str, Any] = {
            "size": size,
            "quality": quality,
            "style": style,
            "n": n,
            "output_format": output_format,
            "background": background,
        }
        self._connect(
            engine=engine,
            model=model,
            azure_endpoint=azure_endpoint,
            api_base=api_base,
            api_key=api_key,
            api_version=api_version,
            azure_ad_token_provider=azure_ad_token_provider,
            use_azure_ad=use_azure_ad,
            deployment_name=deployment_name,
            deployment=deployment,
            azure_deployment=azure_deployment,
            max_retries=max_retries,
            timeout=timeout,
            client=client,
            http_client=http_client,
            async_http_client=async_http_client,
            core_options=core_options,
        )

    def _arguments(self, size: str | None) -> dict[str, Any]:
        return {
            **self._defaults,
            "size": size or self._defaults["size"],
            "model": self._deployment,  # None: the client's default deployment
        }

    def generate_image(self, prompt: str, size: str | None = None) -> list[TextBlock | ImageBlock]:
        """Generate an image from a text description.

        Args:
            prompt: a detailed description of the image (subject, style, composition).
            size: optional WIDTHxHEIGHT, e.g. 1024x1024; leave it out for the default.
        """
        result = Images(self._client).generate(prompt, **self._arguments(size))
        return _blocks(result, prompt)

    async def agenerate_image(
        self, prompt: str, size: str | None = None
    ) -> list[TextBlock | ImageBlock]:
        """Generate an image from a text description.

        Args:
            prompt: a detailed description of the image (subject, style, composition).
            size: optional WIDTHxHEIGHT, e.g. 1024x1024; leave it out for the default.
        """
        result = await Images(self._client).agenerate(prompt, **self._arguments(size))
        return _blocks(result, prompt)
