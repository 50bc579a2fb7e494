"""Audio on a :class:`~azoai.client.Client`: text to speech, speech to text and audio
translation, on the client's connection pool, credentials, token cache and retry loop.

::

    audio = Audio(Client(endpoint=..., api_key=...))
    speech = audio.speech("Hello", deployment="tts", response_format="wav")
    speech.save("hello.wav")
    text = audio.transcribe("hello.wav", deployment="whisper").text

Routes: ``/openai/deployments/{d}/audio/{speech|transcriptions|translations}?api-version=``
(speech from 2024-02-15-preview, transcription and translation from 2023-09-01-preview and GA
2024-02-01), or ``/openai/v1/audio/...`` with the deployment in the body; Azure documents audio
on the v1 route in its preview release (``POST {endpoint}/openai/v1/audio/speech?api-version=
preview``), so a v1 client sends ``api-version=preview`` there.

Before anything is sent: the model's rules when the model behind the deployment is known (from
``deployments=``, discovery, ``model=``, or a deployment named after its model: ``whisper``,
``tts-hd``): formats, instructions, timestamps, translation; the api-version; the 25 MB Azure
reads per audio request (:class:`~azoai.errors.InputTooLargeError`).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, Self

from azoai.config.audio_models import MAX_AUDIO_BYTES, SPEECH_CONTENT_TYPES, lookup_audio_model
from azoai.config.catalog import lookup_model
from azoai.config.endpoints import operation_url
from azoai.config.versions import ApiVersion, Feature, require_feature
from azoai.error_reading import kept_headers
from azoai.errors import (
    BadRequestError,
    ConfigError,
    InputTooLargeError,
    InvalidResponseError,
    StreamInterruptedError,
)
from azoai.io.bytestream import abyte_chunks, byte_chunks
from azoai.io.exchange import Cut, HttpRequest, Opened, Reply
from azoai.io.multipart import FilePart, encode
from azoai.pipeline.loop import arun, run
from azoai.pipeline.policy import DEFAULT_OPTIONS, Call, CallOptions
from azoai.pipeline.telemetry.services import traced_service
from azoai.service import Service
from azoai.wire.audio import (
    Speech,
    Transcription,
    audio_filename,
    check_speech_model,
    check_transcription_model,
    parse_transcription,
    speech_body,
    transcription_fields,
)
from azoai.wire.common import dumps

if TYPE_CHECKING:
    from azoai.config.audio_models import AudioModel
    from azoai.config.deployments import Resolution

__all__ = ["AsyncSpeechStream", "Audio", "AudioInput", "SpeechStream"]

#: A file path, the audio's bytes, or an open binary file.
AudioInput = str | os.PathLike[str] | bytes | bytearray | memoryview | BinaryIO

SpeechFormat = Literal["mp3", "opus", "aac", "flac", "wav", "pcm"]
TranscriptionFormat = Literal["json", "text", "srt", "verbose_json", "vtt", "auto"]

_V1_PREVIEW = ApiVersion("preview", "v1-preview")
_MIME = {
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "mpeg": "audio/mpeg",
    "mpga": "audio/mpeg",
    "flac": "audio/flac",
    "ogg": "audio/ogg",
    "oga": "audio/ogg",
    "webm": "audio/webm",
    "m4a": "audio/mp4",
    "mp4": "audio/mp4",
}


def _mb(n: int) -> str:
    return f"{n / 1_048_576:.1f} MB"


def _too_large(size: int, what: str) -> InputTooLargeError:
    return InputTooLargeError(
        f"{what} is {size:,} bytes ({_mb(size)}); Azure reads at most {MAX_AUDIO_BYTES:,} bytes "
        f"(25 MB) per audio request and answers 413 past it",
        size=size,
        limit=MAX_AUDIO_BYTES,
        setting="file",
        fix="split the audio into shorter parts, or compress it (mp3, opus) before sending",
    )


def _read_audio(audio: AudioInput, filename: str | None) -> tuple[bytes, str | None]:
    """The audio's bytes and its name; a file larger than Azure reads is refused before it is
    read whole."""
    if isinstance(audio, bytes | bytearray | memoryview):
        return bytes(audio), filename
    if isinstance(audio, str | os.PathLike):
        path = os.fspath(audio)
        size = os.path.getsize(path)
        if size > MAX_AUDIO_BYTES:
            raise _too_large(size, f"audio file {os.path.basename(path)!r}")
        with open(path, "rb") as fh:
            return fh.read(), filename or path
    read = getattr(audio, "read", None)
    if read is None:
        raise TypeError(
            f"audio must be a file path, bytes or a binary file, not {type(audio).__name__}"
        )
    content = read(MAX_AUDIO_BYTES + 1)  # never more than one byte past the limit in memory
    if not isinstance(content, bytes):
        raise TypeError("audio file objects must be opened in binary mode ('rb')")
    if len(content) > MAX_AUDIO_BYTES:
        raise _too_large(len(content), "the audio file")
    name = getattr(audio, "name", None)
    return content, filename or (name if isinstance(name, str) else None)


class SpeechStream:
    """Synthesised speech as it arrives: iterate for the audio's chunks (``bytes``), in
    ``response_format``. The connection is held until the stream is read to the end or
    :meth:`close` d (use ``with``). A stream that stops early raises
    :class:`~azoai.errors.StreamInterruptedError`."""

    def __init__(self, opened: Opened, chunks: Iterator[bytes], speech: Speech) -> None:
        self._opened = opened
        self._chunks = chunks
        self.response_format = speech.response_format
        self.content_type = speech.content_type
        self.deployment = speech.deployment
        self.headers = speech.headers
        self.received = 0
        #: called once when the stream ends (read to the end, failed or closed): telemetry's
        #: record of the call (``pipeline.telemetry.services``), else ``None``
        self.on_end: Callable[[Any, BaseException | None, bool], None] | None = None
        self._complete = False
        self._error: BaseException | None = None

    def __iter__(self) -> Iterator[bytes]:
        try:
            for chunk in self._chunks:
                self.received += len(chunk)
                yield chunk
            self._complete = True
        except Cut as cut:
            self._error = _interrupted(cut, self.deployment, self.received)
            raise self._error from None
        except Exception as err:
            self._error = err
            raise
        finally:
            self.close()

    def read(self) -> bytes:
        """The rest of the audio, whole."""
        return b"".join(self)

    def close(self) -> None:
        self._opened.close()
        end, self.on_end = self.on_end, None
        if end is not None:
            end(self, self._error, self._complete)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncSpeechStream:
    """The async :class:`SpeechStream` (``async for`` / ``async with``)."""

    def __init__(self, opened: Opened, chunks: AsyncIterator[bytes], speech: Speech) -> None:
        self._opened = opened
        self._chunks = chunks
        self.response_format = speech.response_format
        self.content_type = speech.content_type
        self.deployment = speech.deployment
        self.headers = speech.headers
        self.received = 0
        self.on_end: Callable[[Any, BaseException | None, bool], None] | None = None
        self._complete = False
        self._error: BaseException | None = None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._chunks:
                self.received += len(chunk)
                yield chunk
            self._complete = True
        except Cut as cut:
            self._error = _interrupted(cut, self.deployment, self.received)
            raise self._error from None
        except Exception as err:
            self._error = err
            raise
        finally:
            await self.aclose()

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self])

    async def aclose(self) -> None:
        await self._opened.aclose()
        end, self.on_end = self.on_end, None
        if end is not None:
            end(self, self._error, self._complete)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def _interrupted(cut: Cut, deployment: str, received: int) -> StreamInterruptedError:
    return StreamInterruptedError(
        f"the speech stream from deployment {deployment!r} stopped after {received:,} bytes: "
        f"{cut.why}",
        deployment=deployment,
        fix=cut.fix() or "synthesise again (speech is not resumable)",
    )


class Audio(Service):
    """Text to speech, speech to text and translation: ``Audio(client)``, or
    ``Audio(endpoint=..., api_key=...)`` (the settings a :class:`~azoai.client.Client` takes; the
    client it builds is closed with it). Every method takes ``deployment=`` (default: the
    client's default deployment) and ``options=`` (:class:`~azoai.client.CallOptions`: timeout,
    retries, headers); async twins are prefixed with ``a``."""

    # -- shared ----------------------------------------------------------------------------------

    def _model(self, res: Resolution) -> tuple[AudioModel | None, str]:
        """The audio model behind a deployment when known, and how it is known (for messages).
        A deployment configured (or discovered) to run a chat or embedding model is refused."""
        s = self.client.settings
        configured = (
            res.record.model
            if res.record is not None and res.record.model
            else s.model
            if s.model and res.deployment == s.deployment
            else None
        )
        if configured is not None:
            found = lookup_audio_model(configured)
            if found is None and lookup_model(configured).known:
                raise ConfigError(
                    f"deployment {res.deployment!r} runs {configured}, a "
                    f"{lookup_model(configured).kind} model, not an audio model (tts, tts-hd, "
                    "gpt-4o-mini-tts; whisper, gpt-4o-transcribe)",
                    setting="deployment",
                    fix="name an audio deployment (deployment=...)",
                )
            return found, ""
        for name, target in s.deployment_map.items():
            if target == res.deployment and lookup_audio_model(name) is not None:
                return lookup_audio_model(name), ""
        found = lookup_audio_model(res.deployment)
        return found, " (by its name)" if found is not None else ""

    def _audio_url(self, op: str, deployment: str, feature: Feature) -> str:
        s = self.client.settings
        require_feature(s.api_version, feature, check=s.check_api_version)
        version = s.api_version
        if s.route == "v1" and version.value == "v1":
            version = _V1_PREVIEW  # audio is in Azure's v1 preview release
        return operation_url(s.endpoint, op, deployment, route=s.route, version=version)

    def _call(self, op: str, res: Resolution, url: str, body: bytes, stream: bool) -> Call:
        return Call(res.deployment, op, url, body, self.client._model_for(res), stream, [])

    def _exchange(self, call: Call, req: HttpRequest, options: CallOptions) -> Any:
        """One request through the client's loop (a stream's answer is an :class:`Opened`)."""
        http = self.client._transport
        return run(self.client._attempts(call, options), lambda: http.send(req))

    async def _aexchange(self, call: Call, req: HttpRequest, options: CallOptions) -> Any:
        http = self.client._transport
        return await arun(self.client._attempts(call, options), lambda: http.asend(req))

    async def _discover(self) -> None:
        if self.client.settings.discovery is not None and self.client._discovery_stale():
            await asyncio.to_thread(self.client.known_deployments)  # blocking HTTP, off the loop

    # -- text to speech --------------------------------------------------------------------------

    def _prepare_speech(
        self,
        text: str,
        deployment: str | None,
        voice: str,
        response_format: str,
        speed: float | None,
        instructions: str | None,
        stream: bool,
        options: CallOptions,
    ) -> tuple[Call, HttpRequest]:
        res = self.client.resolve(deployment)
        model, label = self._model(res)
        check_speech_model(model, res.deployment, label)
        body = speech_body(
            text,
            model=model,
            deployment=res.deployment,
            label=label,
            voice=voice,
            response_format=response_format,
            speed=speed,
            instructions=instructions,
            model_field=self.client.settings.route == "v1",
        )
        url = self._audio_url("audio/speech", res.deployment, Feature.AUDIO_SPEECH)
        call = self._call("audio/speech", res, url, dumps(body), stream)
        accept = f"{SPEECH_CONTENT_TYPES[response_format]}, application/octet-stream"
        req = HttpRequest(
            url,
            call.body,
            stream,
            res.deployment,
            options.timeout,
            options.extra_headers,
            accept=accept,
        )
        return call, req

    @staticmethod
    def _speech(audio: bytes, response_format: str, deployment: str, headers: Any) -> Speech:
        served = str(headers.get("content-type") or "").split(";")[0].strip().lower()
        if served.startswith(("application/json", "text/")):
            # a 200 whose body is not audio: a proxy's page, never what Azure sends
            raise InvalidResponseError(
                f"the speech answer from deployment {deployment!r} is {served}, not audio",
                deployment=deployment,
            )
        return Speech(
            audio=audio,
            response_format=response_format,
            content_type=served or SPEECH_CONTENT_TYPES[response_format],
            deployment=deployment,
            headers=kept_headers(headers),
        )

    @traced_service("generate_content", "audio.speech", output="speech", model_kw="deployment")
    def speech(
        self,
        text: str,
        *,
        deployment: str | None = None,
        voice: str = "alloy",
        response_format: SpeechFormat = "mp3",
        speed: float | None = None,
        instructions: str | None = None,
        options: CallOptions | None = None,
    ) -> Speech:
        """``text`` spoken by ``voice`` as one audio file in ``response_format`` (mp3, opus,
        aac, flac, wav or pcm); ``speed`` 0.25 to 4.0; ``instructions`` (tone, accent) for
        gpt-4o-mini-tts."""
        opts = options or DEFAULT_OPTIONS
        call, req = self._prepare_speech(
            text, deployment, voice, response_format, speed, instructions, False, opts
        )
        reply: Reply = self._exchange(call, req, opts)
        return self._speech(reply.content, response_format, call.deployment, reply.headers)

    @traced_service("generate_content", "audio.speech", output="speech", model_kw="deployment")
    async def aspeech(
        self,
        text: str,
        *,
        deployment: str | None = None,
        voice: str = "alloy",
        response_format: SpeechFormat = "mp3",
        speed: float | None = None,
        instructions: str | None = None,
        options: CallOptions | None = None,
    ) -> Speech:
        await self._discover()
        opts = options or DEFAULT_OPTIONS
        call, req = self._prepare_speech(
            text, deployment, voice, response_format, speed, instructions, False, opts
        )
        reply: Reply = await self._aexchange(call, req, opts)
        return self._speech(reply.content, response_format, call.deployment, reply.headers)

    @traced_service(
        "generate_content",
        "audio.speech",
        output="speech",
        model_kw="deployment",
        opens_stream=True,
    )
    def stream_speech(
        self,
        text: str,
        *,
        deployment: str | None = None,
        voice: str = "alloy",
        response_format: SpeechFormat = "mp3",
        speed: float | None = None,
        instructions: str | None = None,
        options: CallOptions | None = None,
    ) -> SpeechStream:
        """:meth:`speech`, returned as soon as Azure starts sending: iterate the
        :class:`SpeechStream` for the audio's chunks (play or save them as they come). Until the
        answer starts, failures are retried like any call."""
        opts = options or DEFAULT_OPTIONS
        call, req = self._prepare_speech(
            text, deployment, voice, response_format, speed, instructions, True, opts
        )
        opened: Opened = self._exchange(call, req, opts)
        try:
            head = self._speech(b"", response_format, call.deployment, opened.resp.headers)
        except BaseException:
            opened.close()
            raise
        return SpeechStream(opened, byte_chunks(self.client.settings, opened), head)

    @traced_service(
        "generate_content",
        "audio.speech",
        output="speech",
        model_kw="deployment",
        opens_stream=True,
    )
    async def astream_speech(
        self,
        text: str,
        *,
        deployment: str | None = None,
        voice: str = "alloy",
        response_format: SpeechFormat = "mp3",
        speed: float | None = None,
        instructions: str | None = None,
        options: CallOptions | None = None,
    ) -> AsyncSpeechStream:
        await self._discover()
        opts = options or DEFAULT_OPTIONS
        call, req = self._prepare_speech(
            text, deployment, voice, response_format, speed, instructions, True, opts
        )
        opened: Opened = await self._aexchange(call, req, opts)
        try:
            head = self._speech(b"", response_format, call.deployment, opened.resp.headers)
        except BaseException:
            await opened.aclose()
            raise
        return AsyncSpeechStream(opened, abyte_chunks(self.client.settings, opened), head)

    # -- speech to text --------------------------------------------------------------------------

    def _format(self, response_format: str, res: Resolution) -> tuple[str, bool]:
        """The format to ask for, and whether it is a guess to take back on Azure's refusal:
        ``auto`` is the richest the model gives (``verbose_json`` for whisper, ``json`` for the
        gpt-4o transcribe models), ``verbose_json`` for a model the table does not know."""
        if response_format != "auto":
            return response_format, False
        model, _ = self._model(res)
        if model is None:
            return "verbose_json", True
        return ("verbose_json" if "verbose_json" in model.formats else "json"), False

    def _prepare_upload(
        self,
        content: bytes,
        name: str | None,
        res: Resolution,
        response_format: str,
        fields: _UploadFields,
        options: CallOptions,
    ) -> tuple[Call, HttpRequest]:
        if len(content) > MAX_AUDIO_BYTES:
            raise _too_large(len(content), "the audio")
        if not content:
            raise ConfigError("the audio is empty (0 bytes)", setting="file")
        model, label = self._model(res)
        translate = fields.translate
        check_transcription_model(model, res.deployment, label, translate=translate)
        form_fields = transcription_fields(
            model=model,
            deployment=res.deployment,
            label=label,
            response_format=response_format,
            language=fields.language,
            prompt=fields.prompt,
            temperature=fields.temperature,
            timestamp_granularities=fields.timestamp_granularities,
            model_field=self.client.settings.route == "v1",
            translate=translate,
        )
        if fields.timestamp_granularities:
            s = self.client.settings
            require_feature(s.api_version, Feature.AUDIO_TIMESTAMPS, check=s.check_api_version)
        filename = audio_filename(name, content)
        mime = _MIME.get(filename.rsplit(".", 1)[-1].lower(), "application/octet-stream")
        form = encode(form_fields, [FilePart("file", filename, content, mime)])
        if len(form.body) > MAX_AUDIO_BYTES:  # Azure counts the whole request body
            raise _too_large(len(content), f"the audio ({filename!r}, with the form around it)")
        op = "audio/translations" if translate else "audio/transcriptions"
        url = self._audio_url(op, res.deployment, Feature.AUDIO_TRANSCRIPTION)
        call = self._call(op, res, url, form.body, False)
        req = HttpRequest(
            url,
            form.body,
            False,
            res.deployment,
            options.timeout,
            options.extra_headers,
            content_type=form.content_type,
            accept="application/json, text/plain",
        )
        return call, req

    def _upload(
        self,
        audio: AudioInput,
        filename: str | None,
        deployment: str | None,
        fmt: str,
        fields: _UploadFields,
        options: CallOptions | None,
    ) -> Transcription:
        opts = options or DEFAULT_OPTIONS
        content, name = _read_audio(audio, filename)
        res = self.client.resolve(deployment)
        chosen, guessed = self._format(fmt, res)
        call, req = self._prepare_upload(content, name, res, chosen, fields, opts)
        try:
            reply: Reply = self._exchange(call, req, opts)
        except BadRequestError as err:
            if not (guessed and _format_refused(err)):
                raise
            chosen = "json"  # the model has no verbose_json (a gpt-4o transcribe model)
            call, req = self._prepare_upload(content, name, res, chosen, fields, opts)
            reply = self._exchange(call, req, opts)
        return self._parsed(reply, chosen, fields.task, call.deployment)

    async def _aupload(
        self,
        audio: AudioInput,
        filename: str | None,
        deployment: str | None,
        fmt: str,
        fields: _UploadFields,
        options: CallOptions | None,
    ) -> Transcription:
        await self._discover()
        opts = options or DEFAULT_OPTIONS
        content, name = await asyncio.to_thread(_read_audio, audio, filename)
        res = self.client.resolve(deployment)
        chosen, guessed = self._format(fmt, res)
        call, req = self._prepare_upload(content, name, res, chosen, fields, opts)
        try:
            reply: Reply = await self._aexchange(call, req, opts)
        except BadRequestError as err:
            if not (guessed and _format_refused(err)):
                raise
            chosen = "json"
            call, req = self._prepare_upload(content, name, res, chosen, fields, opts)
            reply = await self._aexchange(call, req, opts)
        return self._parsed(reply, chosen, fields.task, call.deployment)

    @traced_service(
        "generate_content", "audio.transcriptions", output="text", model_kw="deployment"
    )
    def transcribe(
        self,
        audio: AudioInput,
        *,
        deployment: str | None = None,
        response_format: TranscriptionFormat = "json",
        language: str | None = None,
        prompt: str | None = None,
        temperature: float | None = None,
        timestamp_granularities: Sequence[Literal["word", "segment"]] | None = None,
        filename: str | None = None,
        options: CallOptions | None = None,
    ) -> Transcription:
        """The speech in ``audio`` (a path, bytes or a binary file; at most 25 MB) as text.

        ``response_format``: ``json`` (text), ``text``, ``verbose_json`` (language, duration,
        segments, and words with ``timestamp_granularities=["word"]``), ``srt`` or ``vtt``
        (subtitles, also parsed into segments), or ``auto``: the richest the deployment's model
        gives (``verbose_json`` for whisper, ``json`` for the gpt-4o transcribe models, which
        answer ``json`` and ``text`` only). ``language``: an ISO-639-1 hint (``"en"``);
        ``prompt``: a style or vocabulary hint; ``filename``: names bytes whose format Azure
        cannot otherwise tell."""
        fields = _UploadFields("transcribe", language, prompt, temperature, timestamp_granularities)
        return self._upload(audio, filename, deployment, response_format, fields, options)

    @traced_service(
        "generate_content", "audio.transcriptions", output="text", model_kw="deployment"
    )
    async def atranscribe(
        self,
        audio: AudioInput,
        *,
        deployment: str | None = None,
        response_format: TranscriptionFormat = "json",
        language: str | None = None,
        prompt: str | None = None,
        temperature: float | None = None,
        timestamp_granularities: Sequence[Literal["word", "segment"]] | None = None,
        filename: str | None = None,
        options: CallOptions | None = None,
    ) -> Transcription:
        fields = _UploadFields("transcribe", language, prompt, temperature, timestamp_granularities)
        return await self._aupload(audio, filename, deployment, response_format, fields, options)

    @traced_service("generate_content", "audio.translations", output="text", model_kw="deployment")
    def translate(
        self,
        audio: AudioInput,
        *,
        deployment: str | None = None,
        response_format: TranscriptionFormat = "json",
        prompt: str | None = None,
        temperature: float | None = None,
        filename: str | None = None,
        options: CallOptions | None = None,
    ) -> Transcription:
        """The speech in ``audio`` translated into English text (whisper deployments only);
        formats as for :meth:`transcribe`."""
        fields = _UploadFields("translate", None, prompt, temperature, None)
        return self._upload(audio, filename, deployment, response_format, fields, options)

    @traced_service("generate_content", "audio.translations", output="text", model_kw="deployment")
    async def atranslate(
        self,
        audio: AudioInput,
        *,
        deployment: str | None = None,
        response_format: TranscriptionFormat = "json",
        prompt: str | None = None,
        temperature: float | None = None,
        filename: str | None = None,
        options: CallOptions | None = None,
    ) -> Transcription:
        fields = _UploadFields("translate", None, prompt, temperature, None)
        return await self._aupload(audio, filename, deployment, response_format, fields, options)

    @staticmethod
    def _parsed(reply: Reply, response_format: str, task: str, deployment: str) -> Transcription:
        return parse_transcription(
            reply.content,
            response_format=response_format,
            task=task,
            deployment=deployment,
            headers=kept_headers(reply.headers),
        )


@dataclass(frozen=True, slots=True)
class _UploadFields:
    """A transcription's or translation's options besides the audio and its format."""

    task: str  # "transcribe" or "translate"
    language: str | None
    prompt: str | None
    temperature: float | None
    timestamp_granularities: Sequence[str] | None

    @property
    def translate(self) -> bool:
        return self.task == "translate"


def _format_refused(err: BadRequestError) -> bool:
    """Azure's 400 for a response format the model does not give ("response_format
    'verbose_json' is not compatible with model ...")."""
    return "response_format" in err.message or err.code == "unsupported_value"
