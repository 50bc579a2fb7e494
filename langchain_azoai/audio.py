"""Audio for LangChain: a text-to-speech tool an agent can call, and a speech-to-text blob parser
for document loaders.

LangChain has no speech interface of its own; these follow the shapes the ecosystem uses:

* ``AzureTextToSpeechTool`` is a ``BaseTool`` (as langchain-community's
  ``ElevenLabsText2SpeechTool`` and ``AzureAiServicesTextToSpeechTool``) that answers with
  ``response_format="content_and_artifact"``: the model reads a short text (what was spoken, the
  format, the length), the audio travels beside it as the tool message's ``artifact``, a LangChain
  standard audio block (``{"type": "audio", "base64": ..., "mime_type": "audio/mpeg"}``), never
  through the model's context.
* ``AzureSpeechToTextParser`` is a ``BaseBlobParser`` (as langchain-community's
  ``OpenAIWhisperParser``): each audio blob becomes one ``Document`` with the transcript and, in
  ``metadata``, the source, language, duration and, with timestamps, the segments.

Azure's rules (formats per model, the 25 MB limit, version gates) are the core's
(:class:`azoai.audio.Audio`).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForToolRun, CallbackManagerForToolRun
from langchain_core.document_loaders.base import BaseBlobParser
from langchain_core.document_loaders.blob_loaders import Blob
from langchain_core.documents import Document
from langchain_core.messages.content import create_audio_block
from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from azoai.audio import Audio
from azoai.wire.audio import Speech, Transcription
from langchain_azoai._connection import ServiceConnection

__all__ = ["AzureSpeechToTextParser", "AzureTextToSpeechTool", "TextToSpeechInput"]


class _Connection(ServiceConnection):
    """Where and how the audio objects connect (langchain-openai's argument names)."""

    def _audio(self) -> Audio:
        return Audio(self._core())


# --- text to speech -------------------------------------------------------------------------------


class TextToSpeechInput(BaseModel):
    """What the model passes to the tool."""

    text: str = Field(description="The exact words to speak aloud.")


def _spoken(speech: Speech, text: str, voice: str) -> tuple[str, list[dict[str, Any]]]:
    words = len(text.split())
    content = (
        f"Spoke {words} word{'s' if words != 1 else ''} in the voice {voice!r} as "
        f"{speech.response_format} audio ({len(speech.audio):,} bytes); the audio is attached."
    )
    block = create_audio_block(
        base64=base64.b64encode(speech.audio).decode("ascii"),
        mime_type=speech.content_type,
        format=speech.response_format,
        deployment=speech.deployment,
    )
    return content, [dict(block)]


class AzureTextToSpeechTool(_Connection, BaseTool):
    """Speak a text with an Azure OpenAI text-to-speech deployment (tts, tts-hd,
    gpt-4o-mini-tts).

    ```python
    from langchain_azoai import AzureTextToSpeechTool

    tool = AzureTextToSpeechTool(azure_deployment="tts-hd", voice="nova", response_format="wav")
    message = tool.invoke(
        {"type": "tool_call", "id": "1", "name": tool.name, "args": {"text": "Hello!"}}
    )
    message.artifact[0]["base64"]  # the WAV, base64
    ```

    Connection arguments are the chat model's (``azure_endpoint``, ``api_key``,
    ``azure_ad_token_provider``, ``api_version``...), or ``client=`` an existing
    :class:`azoai.client.Client`. ``voice``, ``response_format``, ``speed`` and ``instructions``
    (gpt-4o-mini-tts) set how every call speaks.
    """

    name: str = "text_to_speech"
    description: str = (
        "Turn a text into spoken audio. Input: the exact words to say. Returns a short note; "
        "the audio itself is attached to the result."
    )
    args_schema: type[BaseModel] = TextToSpeechInput
    response_format: Literal["content", "content_and_artifact"] = "content_and_artifact"

    voice: str = "alloy"
    audio_format: Literal["mp3", "opus", "aac", "flac", "wav", "pcm"] = "mp3"
    """The audio's format (``response_format`` on the wire; this tool's own ``response_format``
    is LangChain's, the tool message's shape)."""
    speed: float | None = None
    instructions: str | None = None

    def _run(
        self, text: str, run_manager: CallbackManagerForToolRun | None = None
    ) -> tuple[str, list[dict[str, Any]]]:
        speech = self._audio().speech(
            text,
            deployment=self.deployment_name,
            voice=self.voice,
            response_format=self.audio_format,
            speed=self.speed,
            instructions=self.instructions,
        )
        return _spoken(speech, text, self.voice)

    async def _arun(
        self, text: str, run_manager: AsyncCallbackManagerForToolRun | None = None
    ) -> tuple[str, list[dict[str, Any]]]:
        speech = await self._audio().aspeech(
            text,
            deployment=self.deployment_name,
            voice=self.voice,
            response_format=self.audio_format,
            speed=self.speed,
            instructions=self.instructions,
        )
        return _spoken(speech, text, self.voice)


# --- speech to text -------------------------------------------------------------------------------


class AzureSpeechToTextParser(_Connection, BaseBlobParser):
    """Transcribe audio blobs with an Azure OpenAI speech-to-text deployment (whisper,
    gpt-4o-transcribe) into ``Document`` s, for document loaders::

        from langchain_core.document_loaders import Blob
        from langchain_azoai import AzureSpeechToTextParser

        parser = AzureSpeechToTextParser(azure_deployment="whisper")
        [doc] = parser.parse(Blob.from_path("meeting.wav"))
        doc.page_content, doc.metadata["duration"], doc.metadata["segments"]

    ``response_format="auto"`` (the default) asks for the richest answer the deployment's model
    gives: with whisper, ``metadata`` holds ``language``, ``duration`` and ``segments`` (start,
    end and text of each); ``timestamp_granularities=["word", "segment"]`` adds ``words``.
    ``language`` and ``prompt`` are passed on; ``translate=True`` translates into English.
    """

    response_format: Literal["auto", "json", "text", "verbose_json", "srt", "vtt"] = "auto"
    language: str | None = None
    prompt: str | None = None
    timestamp_granularities: list[Literal["word", "segment"]] | None = None
    translate: bool = False

    def _document(self, result: Transcription, blob: Blob) -> Document:
        metadata: dict[str, Any] = {
            "source": blob.source,
            "deployment": result.deployment,
            "task": result.task,
            "response_format": result.response_format,
        }
        if result.language is not None:
            metadata["language"] = result.language
        if result.duration is not None:
            metadata["duration"] = result.duration
        if result.segments:
            metadata["segments"] = [asdict(s) for s in result.segments]
        if result.words:
            metadata["words"] = [asdict(w) for w in result.words]
        if result.subtitles is not None:
            metadata["subtitles"] = result.subtitles
        return Document(page_content=result.text, metadata=metadata)

    def _filename(self, blob: Blob) -> str | None:
        source = blob.source
        return source.replace("\\", "/").rsplit("/", 1)[-1] if source else None

    def lazy_parse(self, blob: Blob) -> Iterator[Document]:
        """One ``Document`` per blob: its transcript (or English translation)."""
        audio = self._audio()
        # a blob on disk goes by path: the core refuses one over Azure's limit before reading it
        data: Any = blob.path if blob.data is None and blob.path is not None else blob.as_bytes()
        if self.translate:
            result = audio.translate(
                data,
                deployment=self.deployment_name,
                response_format=self.response_format,
                prompt=self.prompt,
                filename=self._filename(blob),
            )
        else:
            result = audio.transcribe(
                data,
                deployment=self.deployment_name,
                response_format=self.response_format,
                language=self.language,
                prompt=self.prompt,
                timestamp_granularities=self.timestamp_granularities,
                filename=self._filename(blob),
            )
        yield self._document(result, blob)
