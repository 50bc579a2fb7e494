"""Audio for LlamaIndex: a speech-to-text reader and a text-to-speech tool spec.

LlamaIndex has no speech interface of its own; these follow the shapes the ecosystem uses:

* ``AzureSpeechToTextReader`` is a ``BaseReader`` (as llama-hub's ``AudioTranscriber``):
  ``load_data(file)`` gives one ``Document`` per audio file with the transcript and, in
  ``metadata``, the file name, language, duration and, with timestamps, the segments. Map audio
  extensions to it in ``SimpleDirectoryReader(file_extractor={".wav": reader, ...})``.
* ``AzureTextToSpeechToolSpec`` is a ``BaseToolSpec`` (as llama-hub's ``ElevenLabsToolSpec``):
  ``text_to_speech`` writes the audio to a file and returns its path, which an agent can hand on.

Azure's rules (formats per model, the 25 MB limit, version gates) are the core's
(:class:`azoai.audio.Audio`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from llama_index.core.readers.base import BaseReader
from llama_index.core.schema import Document
from llama_index.core.tools.tool_spec.base import BaseToolSpec

from azoai.audio import Audio
from azoai.client import Client
from azoai.wire.audio import Speech, Transcription
from llamaindex_azoai._connection import ServiceConnection

if TYPE_CHECKING:
    import httpx

__all__ = ["AzureSpeechToTextReader", "AzureTextToSpeechToolSpec"]


class AzureSpeechToTextReader(ServiceConnection, BaseReader):
    """Transcribe audio files with an Azure OpenAI speech-to-text deployment (whisper,
    gpt-4o-transcribe)::

        reader = AzureSpeechToTextReader(engine="whisper", azure_endpoint=..., api_key=...)
        docs = SimpleDirectoryReader(
            "recordings", file_extractor={".wav": reader, ".mp3": reader}
        ).load_data()

    ``response_format="auto"`` (the default) asks for the richest answer the deployment's model
    gives: with whisper, ``metadata`` holds ``language``, ``duration`` and ``segments`` (start,
    end and text of each); ``timestamp_granularities=["word", "segment"]`` adds ``words``.
    ``language`` and ``prompt`` are passed on; ``translate=True`` translates into English.
    Connection arguments are the LLM's (``azure_endpoint``, ``api_key``, ``api_version``,
    ``azure_ad_token_provider``, ``use_azure_ad``, ``engine`` and its aliases, azoai's options
    as keywords), or ``client=`` an existing :class:`azoai.client.Client`.
    """

    def __init__(
        self,
        engine: str | None = None,
        model: str | None = None,
        *,
        response_format: Literal["auto", "json", "text", "verbose_json", "srt", "vtt"] = "auto",
        language: str | None = None,
        prompt: str | None = None,
        timestamp_granularities: list[Literal["word", "segment"]] | None = None,
        translate: bool = False,
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
        super().__init__()
        self._options: dict[str, Any] = {
            "response_format": response_format,
            "prompt": prompt,
        }
        if not translate:
            self._options["language"] = language
            self._options["timestamp_granularities"] = timestamp_granularities
        self._translate = translate
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

    @staticmethod
    def _document(result: Transcription, file: Path, extra_info: dict[str, Any] | None) -> Document:
        metadata: dict[str, Any] = {
            "file_name": file.name,
            "deployment": result.deployment,
            "task": result.task,
            "response_format": result.response_format,
            **(extra_info or {}),
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
        # timestamps are for the application, not for the embedding or the LLM's prompt
        bulky = [k for k in ("segments", "words", "subtitles") if k in metadata]
        return Document(
            text=result.text,
            metadata=metadata,
            excluded_embed_metadata_keys=bulky,
            excluded_llm_metadata_keys=bulky,
        )

    def load_data(
        self, file: Path | str, extra_info: dict[str, Any] | None = None, fs: Any = None
    ) -> list[Document]:
        """One ``Document`` for the audio ``file`` (a path; ``fs``: an fsspec file system)."""
        path = Path(file)
        audio: Any = path
        if fs is not None:
            with fs.open(str(path), "rb") as fh:
                audio = fh.read()
        call = Audio(self._client).translate if self._translate else Audio(self._client).transcribe
        result = call(audio, deployment=self._deployment, filename=path.name, **self._options)
        return [self._document(result, path, extra_info)]

    async def aload_data(
        self, file: Path | str, extra_info: dict[str, Any] | None = None, fs: Any = None
    ) -> list[Document]:
        path = Path(file)
        audio: Any = path
        if fs is not None:
            with fs.open(str(path), "rb") as fh:
                audio = fh.read()
        core = Audio(self._client)
        call = core.atranslate if self._translate else core.atranscribe
        result = await call(audio, deployment=self._deployment, filename=path.name, **self._options)
        return [self._document(result, path, extra_info)]


class AzureTextToSpeechToolSpec(ServiceConnection, BaseToolSpec):
    """Text-to-speech tools for LlamaIndex agents::

        spec = AzureTextToSpeechToolSpec(engine="tts-hd", voice="nova", azure_endpoint=...)
        agent = FunctionAgent(tools=spec.to_tool_list(), llm=llm)

    ``text_to_speech`` writes the audio into ``output_dir`` (default: a temporary folder made
    for this spec) and returns the file's path; :attr:`last_speech` holds the last audio.
    ``voice``, ``response_format``, ``speed`` and ``instructions`` (gpt-4o-mini-tts) set how
    every call speaks. Connection arguments as for :class:`AzureSpeechToTextReader`.
    """

    # a class variable here (ruff RUF012), an instance annotation on BaseToolSpec
    spec_functions: ClassVar[list[str | tuple[str, str]]] = [  # type: ignore[misc]
        ("text_to_speech", "atext_to_speech")
    ]

    def __init__(
        self,
        engine: str | None = None,
        model: str | None = None,
        *,
        voice: str = "alloy",
        response_format: Literal["mp3", "opus", "aac", "flac", "wav", "pcm"] = "mp3",
        speed: float | None = None,
        instructions: str | None = None,
        output_dir: str | os.PathLike[str] | None = None,
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
        self._speech_options: dict[str, Any] = {
            "voice": voice,
            "response_format": response_format,
            "speed": speed,
            "instructions": instructions,
        }
        self._output_dir = Path(output_dir) if output_dir is not None else None
        self._count = 0
        self.last_speech: Speech | None = None
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

    def _save(self, speech: Speech) -> str:
        if self._output_dir is None:
            self._output_dir = Path(tempfile.mkdtemp(prefix="azoai-speech-"))
        self._output_dir.mkdir(parents=True, exist_ok=True)
        self._count += 1
        path = self._output_dir / f"speech-{self._count}.{speech.response_format}"
        speech.save(path)
        self.last_speech = speech
        return (
            f"Saved the spoken audio to {path} ({speech.response_format}, "
            f"{len(speech.audio):,} bytes)."
        )

    def text_to_speech(self, text: str) -> str:
        """Turn a text into spoken audio saved to a file; returns the file's path.

        Args:
            text: the exact words to speak aloud.
        """
        speech = Audio(self._client).speech(
            text, deployment=self._deployment, **self._speech_options
        )
        return self._save(speech)

    async def atext_to_speech(self, text: str) -> str:
        """Turn a text into spoken audio saved to a file; returns the file's path.

        Args:
            text: the exact words to speak aloud.
        """
        speech = await Audio(self._client).aspeech(
            text, deployment=self._deployment, **self._speech_options
        )
        return self._save(speech)
