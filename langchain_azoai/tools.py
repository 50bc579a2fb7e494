"""``AzureImageGenerationTool``: image generation on an Azure deployment as a LangChain tool an
agent can call.

LangChain has no image-generation interface of its own; the ecosystem's shape is a ``BaseTool``
(langchain-community's ``OpenAIDALLEImageGenerationTool``). This one answers with
``response_format="content_and_artifact"``: the model reads a short text (what was drawn, its
size and format, DALL-E 3's revised prompt) and the images travel beside it as the tool
message's ``artifact``, LangChain standard image blocks (``{"type": "image", "base64": ...,
"mime_type": "image/png"}``), never through the model's context. Azure's rules (sizes, qualities,
``n`` per model, the content filter) are the core's (:class:`azoai.images.Images`).
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForToolRun, CallbackManagerForToolRun
from langchain_core.messages.content import create_image_block
from langchain_core.tools import BaseTool
from pydantic import BaseModel, ConfigDict, Field

from azoai.images import ImageResult, Images
from langchain_azoai._connection import ServiceConnection

__all__ = ["AzureImageGenerationTool", "ImageGenerationInput"]


class ImageGenerationInput(BaseModel):
    """What the model passes to the tool."""

    prompt: str = Field(description="A detailed description of the image to generate.")
    size: str | None = Field(
        default=None,
        description="Optional size as WIDTHxHEIGHT, e.g. 1024x1024; leave out for the default.",
    )


def _describe(result: ImageResult, prompt: str) -> str:
    parts = []
    for img in result.images:
        size = img.size
        shape = f"{size[0]}x{size[1]} " if size else ""
        kind = img.info.format.upper() if img.info else "image"
        parts.append(f"{shape}{kind}")
    text = (
        f"Generated {len(result.images)} image{'s' if len(result.images) != 1 else ''} "
        f"({', '.join(parts)}) for the prompt {prompt!r}."
    )
    revised = [img.revised_prompt for img in result.images if img.revised_prompt]
    if revised:
        text += f" The image model drew: {revised[0]!r}."
    return text


def _artifact(result: ImageResult) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for img in result.images:
        extras: dict[str, Any] = {}
        if img.size:
            extras["width"], extras["height"] = img.size
        if img.revised_prompt:
            extras["revised_prompt"] = img.revised_prompt
        if img.data is not None:
            blocks.append(
                dict(create_image_block(base64=img.b64_json, mime_type=img.mime_type, **extras))
            )
        elif img.url is not None:
            blocks.append(dict(create_image_block(url=img.url, **extras)))
    return blocks


class AzureImageGenerationTool(ServiceConnection, BaseTool):
    """Generate images with an Azure OpenAI image deployment (gpt-image-1, dall-e-3, ...).

    ```python
    from langchain_azoai import AzureImageGenerationTool

    tool = AzureImageGenerationTool(azure_deployment="gpt-image-1", model="gpt-image-1")
    message = tool.invoke(
        {"type": "tool_call", "id": "1", "name": tool.name, "args": {"prompt": "a red fox"}}
    )
    message.artifact[0]["base64"]  # the PNG, base64
    ```

    Connection arguments are the chat model's (``azure_endpoint``, ``api_key``,
    ``azure_ad_token_provider``, ``api_version``...), or ``client=`` an existing
    :class:`azoai.client.Client`. ``size``, ``quality``, ``style``, ``n``, ``output_format`` and
    ``background`` set what every call asks for; the model may pass a ``size`` of its own.
    """

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True)

    name: str = "generate_image"
    description: str = (
        "Generate an image from a text description. Input: a detailed prompt describing the "
        "image (subject, style, composition). Returns a short description of what was made; "
        "the image itself is attached to the result."
    )
    args_schema: type[BaseModel] = ImageGenerationInput
    response_format: Literal["content", "content_and_artifact"] = "content_and_artifact"

    # what every call asks for
    size: str | None = None
    quality: str | None = None
    style: str | None = None
    n: int | None = None
    output_format: str | None = None
    background: str | None = None

    def _images(self) -> Images:
        return Images(self._core())

    def _arguments(self, size: str | None) -> dict[str, Any]:
        return {
            "size": size or self.size,
            "quality": self.quality,
            "style": self.style,
            "n": self.n,
            "output_format": self.output_format,
            "background": self.background,
            "model": self.deployment_name,  # None: the client's default deployment
        }

    def _run(
        self,
        prompt: str,
        size: str | None = None,
        run_manager: CallbackManagerForToolRun | None = None,
    ) -> tuple[str, list[dict[str, Any]]]:
        result = self._images().generate(prompt, **self._arguments(size))
        return _describe(result, prompt), _artifact(result)

    async def _arun(
        self,
        prompt: str,
        size: str | None = None,
        run_manager: AsyncCallbackManagerForToolRun | None = None,
    ) -> tuple[str, list[dict[str, Any]]]:
        result = await self._images().agenerate(prompt, **self._arguments(size))
        return _describe(result, prompt), _artifact(result)
