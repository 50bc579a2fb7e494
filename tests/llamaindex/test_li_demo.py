"""The LlamaIndex steps of ``azoai demo`` run against the emulator the runner starts."""

from __future__ import annotations

from azoai.demo import demo_context, run_demo
from llamaindex_azoai._demo import steps


def test_demo_steps_run_against_the_emulator() -> None:
    lines: list[str] = []
    streamed: list[str] = []
    with demo_context(force_emulator=True, write=lines.append, stream=streamed.append) as ctx:
        assert run_demo(ctx, steps()) == 0
    text = "\n".join(lines)
    assert "Done." in text
    assert "get_weather('Paris')" in text
    assert "answer: 18 C and sunny" in text
    assert "Lighthouses flash in distinct patterns" in "".join(streamed)
    usage = [line for line in lines if line.strip().startswith("tokens:")]
    assert len(usage) == 2
    assert all(not line.strip().startswith("tokens: 0 in") for line in usage)
