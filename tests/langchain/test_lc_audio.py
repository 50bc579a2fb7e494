"""LangChain's audio surfaces (issue 19): ``AzureTextToSpeechTool``, a ``BaseTool`` an agent
calls, answering with a short text for the model and the audio as the tool message's artifact;
``AzureSpeechToTextParser``, a ``BaseBlobParser`` turning audio blobs into ``Document`` s with
the transcript and its metadata; against the emulator, whose transcription hears its own
speech."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain.agents import create_agent
from langchain_core.document_loaders.blob_loaders import Blob
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from azoai import Audio, Client
from azoai.errors import ConfigError, InputTooLargeError
from azoai_emulator import Emulator, EmulatorDeployment
from langchain_azoai import AzureChatOpenAI, AzureSpeechToTextParser, AzureTextToSpeechTool

DEPLOYMENTS = (
    EmulatorDeployment("chat", model="gpt-4o"),
    EmulatorDeployment("tts", model="tts"),
    EmulatorDeployment("whisper", model="whisper"),
    EmulatorDeployment("transcribe", model="gpt-4o-transcribe"),
)
SAID = "Good morning, harbour. The boats are in. The fog has lifted."


@pytest.fixture(scope="module")
def audio_emu() -> Iterator[Emulator]:
    with Emulator(DEPLOYMENTS) as e:
        yield e


@pytest.fixture(autouse=True)
def _clean(audio_emu: Emulator) -> None:
    audio_emu.reset()


def tts(emu: Emulator, **kw: object) -> AzureTextToSpeechTool:
    return AzureTextToSpeechTool(
        azure_endpoint=emu.endpoint, api_key=emu.api_key, azure_deployment="tts", **kw
    )


def parser(emu: Emulator, deployment: str = "whisper", **kw: object) -> AzureSpeechToTextParser:
    return AzureSpeechToTextParser(
        azure_endpoint=emu.endpoint, api_key=emu.api_key, azure_deployment=deployment, **kw
    )


def test_the_tool_returns_a_short_text_and_the_audio_as_an_artifact(audio_emu: Emulator) -> None:
    tool = tts(audio_emu, voice="nova", audio_format="wav")
    message = tool.invoke(
        {"type": "tool_call", "id": "call-1", "name": tool.name, "args": {"text": SAID}}
    )
    assert isinstance(message, ToolMessage) and message.tool_call_id == "call-1"
    assert message.content.startswith("Spoke 11 words in the voice 'nova' as wav audio")
    [block] = message.artifact
    assert block["type"] == "audio" and block["mime_type"] == "audio/wav"
    audio = base64.b64decode(block["base64"])
    assert audio.startswith(b"RIFF")
    body = audio_emu.requests[-1].body
    assert body == {"input": SAID, "voice": "nova", "response_format": "wav", "model": "tts"}
    # the artifact is real speech: transcribing it gives the words back
    [doc] = parser(audio_emu).parse(Blob.from_data(audio, path="said.wav"))
    assert doc.page_content == SAID


def test_an_agent_calls_the_tool_and_the_model_never_reads_the_audio(audio_emu: Emulator) -> None:
    audio_emu.script(
        "chat",
        [
            {"tool_calls": [{"name": "text_to_speech", "arguments": {"text": "Welcome aboard."}}]},
            "I said it aloud for you.",
        ],
    )
    llm = AzureChatOpenAI(
        azure_endpoint=audio_emu.endpoint, api_key=audio_emu.api_key, azure_deployment="chat"
    )
    agent = create_agent(llm, tools=[tts(audio_emu)], system_prompt="Speak when asked.")
    state = agent.invoke({"messages": [HumanMessage("Say 'Welcome aboard' out loud.")]})
    [tool_message] = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    assert tool_message.artifact[0]["mime_type"] == "audio/mpeg"
    assert base64.b64decode(tool_message.artifact[0]["base64"]).startswith(b"ID3")
    final = state["messages"][-1]
    assert isinstance(final, AIMessage) and final.text == "I said it aloud for you."
    second_chat = [r for r in audio_emu.requests if r.path == "/openai/v1/chat/completions"][-1]
    tool_turn = next(m for m in second_chat.body["messages"] if m["role"] == "tool")
    assert tool_turn["content"].startswith("Spoke 2 words")  # text only, no base64


async def test_the_tool_async(audio_emu: Emulator) -> None:
    tool = tts(audio_emu, audio_format="flac", speed=1.5)
    message = await tool.ainvoke(
        {"type": "tool_call", "id": "c", "name": tool.name, "args": {"text": "Async words."}}
    )
    assert base64.b64decode(message.artifact[0]["base64"]).startswith(b"fLaC")
    assert audio_emu.requests[-1].body["speed"] == 1.5


def test_the_parser_gives_documents_with_timestamps(audio_emu: Emulator, tmp_path: Path) -> None:
    speech = Audio(
        Client(endpoint=audio_emu.endpoint, api_key=audio_emu.api_key, env={}, config_file="")
    ).speech(SAID, deployment="tts", response_format="mp3")
    path = tmp_path / "harbour.mp3"
    path.write_bytes(speech.audio)
    [doc] = list(parser(audio_emu).lazy_parse(Blob.from_path(path)))
    assert doc.page_content == SAID
    meta = doc.metadata
    assert meta["source"] == str(path) and meta["language"] == "english" and meta["duration"] > 0
    assert meta["response_format"] == "verbose_json" and meta["deployment"] == "whisper"
    assert [s["text"] for s in meta["segments"]] == [
        "Good morning, harbour.",
        "The boats are in.",
        "The fog has lifted.",
    ]
    words = parser(audio_emu, timestamp_granularities=["word"]).parse(Blob.from_path(path))
    first = words[0].metadata["words"][0]
    assert first["word"] == "Good" and 0 < first["start"] < first["end"]
    subtitles = parser(audio_emu, response_format="srt").parse(Blob.from_path(path))
    assert subtitles[0].metadata["subtitles"].startswith("1\n00:00:00,")


def test_the_parser_on_a_json_only_model_and_translation(audio_emu: Emulator) -> None:
    client = Client(endpoint=audio_emu.endpoint, api_key=audio_emu.api_key, env={}, config_file="")
    wav = Audio(client).speech(SAID, deployment="tts", response_format="wav").audio
    [doc] = parser(audio_emu, "transcribe").parse(Blob.from_data(wav, path="a.wav"))
    assert doc.page_content == SAID and "segments" not in doc.metadata
    assert doc.metadata["response_format"] == "json"  # "auto" learned the model gives json only
    [english] = AzureSpeechToTextParser(
        client=client, azure_deployment="whisper", translate=True
    ).parse(Blob.from_data(wav, path="a.wav"))
    assert english.metadata["task"] == "translate"
    with pytest.raises(ConfigError, match="text-to-speech model"):
        parser(audio_emu, "tts").parse(Blob.from_data(wav, path="a.wav"))


def test_a_30_mb_recording_is_refused_before_anything_is_sent(
    audio_emu: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "all-day.wav"
    with path.open("wb") as fh:
        fh.truncate(30 * 1024 * 1024)
    with pytest.raises(InputTooLargeError, match="25 MB"):
        parser(audio_emu).parse(Blob.from_path(path))
    assert audio_emu.requests == []
