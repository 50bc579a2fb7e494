"""LlamaIndex's audio surfaces (issue 19): ``AzureSpeechToTextReader``, a ``BaseReader`` that
``SimpleDirectoryReader`` maps audio extensions to, feeding an ingestion pipeline, and
``AzureTextToSpeechToolSpec``, a ``BaseToolSpec`` whose tool writes speech to a file; against
the emulator, whose transcription hears the speech the test generates with the TTS call."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from llama_index.core import SimpleDirectoryReader
from llama_index.core.ingestion import IngestionPipeline
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.schema import MetadataMode

from azoai import Audio, Client
from azoai.errors import InputTooLargeError
from azoai_emulator import Emulator, EmulatorDeployment
from llamaindex_azoai import (
    AzureOpenAIEmbedding,
    AzureSpeechToTextReader,
    AzureTextToSpeechToolSpec,
)

DEPLOYMENTS = (
    EmulatorDeployment("tts", model="tts"),
    EmulatorDeployment("whisper", model="whisper"),
    EmulatorDeployment("transcribe", model="gpt-4o-mini-transcribe"),
    EmulatorDeployment("embed", model="text-embedding-3-small"),
)
TALK = "Sourdough needs a patient starter. Feed it flour and water every day."
NOTE = "Honeybees dance to tell the hive where the flowers are."


@pytest.fixture(scope="module")
def audio_emu() -> Iterator[Emulator]:
    with Emulator(DEPLOYMENTS) as e:
        yield e


@pytest.fixture(autouse=True)
def _clean(audio_emu: Emulator) -> None:
    audio_emu.reset()


def reader(emu: Emulator, engine: str = "whisper", **kw: object) -> AzureSpeechToTextReader:
    return AzureSpeechToTextReader(
        engine=engine, azure_endpoint=emu.endpoint, api_key=emu.api_key, **kw
    )


def speak(emu: Emulator, text: str, fmt: str) -> bytes:
    with Client(endpoint=emu.endpoint, api_key=emu.api_key, env={}, config_file="") as c:
        return Audio(c).speech(text, deployment="tts", response_format=fmt).audio  # type: ignore[arg-type]


def test_a_directory_of_recordings_through_an_ingestion_pipeline(
    audio_emu: Emulator, tmp_path: Path
) -> None:
    (tmp_path / "talk.wav").write_bytes(speak(audio_emu, TALK, "wav"))
    (tmp_path / "note.mp3").write_bytes(speak(audio_emu, NOTE, "mp3"))
    (tmp_path / "readme.txt").write_text("Plain text sits beside the recordings.")
    stt = reader(audio_emu)
    docs = SimpleDirectoryReader(
        str(tmp_path), file_extractor={".wav": stt, ".mp3": stt}
    ).load_data()
    by_name = {d.metadata["file_name"]: d for d in docs}
    assert by_name["talk.wav"].text == TALK and by_name["note.mp3"].text == NOTE
    talk = by_name["talk.wav"].metadata
    assert talk["language"] == "english" and talk["duration"] > 0
    assert [s["text"] for s in talk["segments"]] == [
        "Sourdough needs a patient starter.",
        "Feed it flour and water every day.",
    ]
    assert "file_path" in talk  # SimpleDirectoryReader's own metadata is kept
    embedded = by_name["talk.wav"].get_content(metadata_mode=MetadataMode.EMBED)
    assert "segments" not in embedded and TALK in embedded
    uploads = [r for r in audio_emu.requests if r.path == "/openai/v1/audio/transcriptions"]
    assert sorted(r.body["file"][0]["filename"] for r in uploads) == ["note.mp3", "talk.wav"]

    pipeline = IngestionPipeline(
        transformations=[
            SentenceSplitter(chunk_size=512, chunk_overlap=0),
            AzureOpenAIEmbedding(
                azure_deployment="embed",
                model="text-embedding-3-small",
                azure_endpoint=audio_emu.endpoint,
                api_key=audio_emu.api_key,
            ),
        ]
    )
    nodes = pipeline.run(documents=docs)
    spoken = [n for n in nodes if n.metadata.get("file_name") in ("talk.wav", "note.mp3")]
    assert {n.get_content() for n in spoken} == {TALK, NOTE}
    assert all(n.embedding and len(n.embedding) == 1536 for n in nodes)


async def test_async_load_and_a_json_only_model(audio_emu: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "talk.flac"
    path.write_bytes(speak(audio_emu, TALK, "flac"))
    [doc] = await reader(audio_emu, "transcribe").aload_data(path, extra_info={"topic": "bread"})
    assert doc.text == TALK and doc.metadata["topic"] == "bread"
    assert doc.metadata["response_format"] == "json" and "segments" not in doc.metadata
    [english] = reader(audio_emu, translate=True, response_format="text").load_data(path)
    assert english.text == TALK and english.metadata["task"] == "translate"


def test_a_30_mb_recording_is_refused_before_anything_is_sent(
    audio_emu: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "long.wav"
    with path.open("wb") as fh:
        fh.truncate(30 * 1024 * 1024)
    with pytest.raises(InputTooLargeError, match="25 MB"):
        reader(audio_emu).load_data(path)
    assert audio_emu.requests == []


def test_the_tool_spec_writes_speech_an_agent_can_hand_on(
    audio_emu: Emulator, tmp_path: Path
) -> None:
    spec = AzureTextToSpeechToolSpec(
        engine="tts",
        azure_endpoint=audio_emu.endpoint,
        api_key=audio_emu.api_key,
        voice="shimmer",
        response_format="wav",
        output_dir=tmp_path,
    )
    [tool] = spec.to_tool_list()
    assert tool.metadata.name == "text_to_speech" and "spoken audio" in tool.metadata.description
    output = tool(text=NOTE)
    path = tmp_path / "speech-1.wav"
    assert str(path) in output.content and path.read_bytes().startswith(b"RIFF")
    assert spec.last_speech is not None and spec.last_speech.content_type == "audio/wav"
    assert audio_emu.requests[-1].body["voice"] == "shimmer"
    [doc] = reader(audio_emu).load_data(path)  # the file is real speech
    assert doc.text == NOTE


async def test_the_tool_spec_async(audio_emu: Emulator, tmp_path: Path) -> None:
    client = Client(endpoint=audio_emu.endpoint, api_key=audio_emu.api_key, env={}, config_file="")
    spec = AzureTextToSpeechToolSpec(engine="tts", client=client, output_dir=tmp_path)
    [tool] = spec.to_tool_list()
    output = await tool.acall(text="Async speech.")
    assert (tmp_path / "speech-1.mp3").read_bytes().startswith(b"ID3")
    assert "mp3" in output.content
    await client.aclose()
