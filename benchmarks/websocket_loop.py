"""A 20-turn model-tool loop over HTTP and over the Responses WebSocket, against the emulator.

``python -m benchmarks.websocket_loop [--turns 20] [--rounds 3] [--request-latency 0.05]
[--model-latency 0.1] [--json FILE]``

The loop is an agent's: the model calls a weather tool, gets the result, answers, the user asks
about the next city, and so on, ``turns`` model calls in all, each sending the conversation so
far (as the LangChain and LlamaIndex adapters do). Four ways to run it:

* ``http``: the Responses API over HTTP, the whole conversation in every request;
* ``http-chained``: over HTTP with ``previous_response_id`` and only the new messages
  (stored responses; the adapters' ``use_previous_response_id``);
* ``ws``: ``transport="websocket"`` with the default ``close_on_finish``: a socket per call;
* ``ws-session``: ``transport="websocket"`` inside ``client.websocket_session()``: one socket,
  each turn chained to the previous response in the connection's cache.

Three emulator set-ups, because the emulator can only model costs, and the two costs behave
differently:

* ``request latency``: ``Emulator(request_latency=R)`` delays every HTTP request and every
  WebSocket handshake, not the messages on an open socket: the per-request trip through the
  service's front end that a WebSocket pays once (what Azure's WebSocket mode saves);
* ``model latency``: ``EmulatorDeployment(latency=L)`` delays every response whatever the
  transport: model time, which no transport saves;
* both together, the headline: what a loop gains depends on how the per-request overhead
  compares with the model's time.

Each round runs every way once, in a shuffled order; the report gives the median wall time of the
whole loop per way and the ratio to ``http``. All ways must produce the same answers (checked).
The emulator runs in this process on its own thread, so its own work per response (generation,
tokenising) is in every number, the same for every way.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from azoai.client import Client
from azoai.wire import ChatRequest, Message, ToolSpec
from azoai_emulator import Emulator, EmulatorDeployment

WEATHER = ToolSpec(
    "get_weather",
    "Current weather for a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
CITIES = ["Oslo", "Paris", "Lisbon", "Madrid", "Rome", "Vienna", "Prague", "Dublin", "Berlin"]
WAYS = ("http", "http-chained", "ws", "ws-session")


def agent_loop(call: Callable[[ChatRequest], Any], turns: int, chained: bool) -> list[str]:
    """``turns`` model calls of a tool loop; returns what the model said or called each turn."""
    messages = [
        Message("system", "You answer weather questions with the tool."),
        Message("user", f"What is the weather in {CITIES[0]}?"),
    ]
    new_from = 0  # for explicit chaining: the first message not sent yet
    previous: str | None = None
    out: list[str] = []
    asked = 1
    for _ in range(turns):
        if chained and previous is not None:
            request = ChatRequest(
                messages=messages[new_from:], tools=[WEATHER], previous_response_id=previous
            )
        else:
            request = ChatRequest(messages=messages, tools=[WEATHER])
        result = call(request)
        previous = result.response_id
        messages.append(result.message)
        new_from = len(messages)
        if result.tool_calls:
            out.append(f"{result.tool_calls[0].name}({result.tool_calls[0].raw_arguments})")
            for tool_call in result.tool_calls:
                city = (tool_call.arguments or {}).get("city", "?")
                messages.append(
                    Message("tool", f"Sunny and 21 degrees in {city}.", tool_call_id=tool_call.id)
                )
        else:
            out.append(result.text)
            messages.append(
                Message("user", f"What is the weather in {CITIES[asked % len(CITIES)]}?")
            )
            asked += 1
    return out


@contextmanager
def runner(emu: Emulator, way: str) -> Iterator[Callable[[ChatRequest], Any]]:
    """A callable running one request the ``way`` asked for (built, warmed up, then closed)."""
    client = Client(
        endpoint=emu.endpoint,
        api_key=emu.api_key,
        api="responses",
        transport="websocket" if way.startswith("ws") else "http",
        deployment="chat",
        model="gpt-4o",
        env={},
        config_file="",
    )
    try:
        client.chat(ChatRequest(messages=[Message("user", "Say warm")]))  # imports, pools
        if way == "ws-session":
            with client.websocket_session() as session:
                yield session.chat
        else:
            yield client.chat
    finally:
        client.close()


def measure(emu: Emulator, way: str, turns: int) -> tuple[float, list[str]]:
    with runner(emu, way) as call:
        start = time.perf_counter()
        answers = agent_loop(call, turns, chained=way == "http-chained")
        return time.perf_counter() - start, answers


def run_setup(name: str, emu: Emulator, turns: int, rounds: int) -> dict[str, Any]:
    times: dict[str, list[float]] = {w: [] for w in WAYS}
    reference: list[str] | None = None
    for _ in range(rounds):
        order = list(WAYS)
        random.shuffle(order)
        for way in order:
            seconds, answers = measure(emu, way, turns)
            if reference is None:
                reference = answers
            elif answers != reference:
                raise SystemExit(f"{name}: {way} answered differently: {answers} != {reference}")
            times[way].append(seconds)
            emu.reset()
    medians = {w: statistics.median(t) for w, t in times.items()}
    return {
        "setup": name,
        "turns": turns,
        "rounds": rounds,
        "seconds": medians,
        "range": {w: [min(t), max(t)] for w, t in times.items()},
        "ratio_to_http": {w: medians[w] / medians["http"] for w in WAYS},
    }


def report(result: dict[str, Any]) -> str:
    lines = [f"{result['setup']}  ({result['turns']} turns, median of {result['rounds']} rounds)"]
    lines.append(f"  {'way':<14}{'loop (s)':>10}{'per turn (ms)':>15}{'vs http':>9}")
    for way in WAYS:
        s = result["seconds"][way]
        lines.append(
            f"  {way:<14}{s:>10.3f}{s / result['turns'] * 1000:>15.1f}"
            f"{result['ratio_to_http'][way]:>9.2f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--request-latency", type=float, default=0.05)
    parser.add_argument("--model-latency", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    random.seed(args.seed)
    r = f"request latency {args.request_latency * 1000:.0f} ms per HTTP request / handshake"
    m = f"model latency {args.model_latency * 1000:.0f} ms per response"
    setups = [
        (
            f"{r} + {m}",
            {"request_latency": args.request_latency},
            EmulatorDeployment("chat", model="gpt-4o", latency=args.model_latency),
        ),
        (r, {"request_latency": args.request_latency}, EmulatorDeployment("chat", model="gpt-4o")),
        (m, {}, EmulatorDeployment("chat", model="gpt-4o", latency=args.model_latency)),
    ]
    results = []
    for name, kwargs, deployment in setups:
        with Emulator(deployments=[deployment], **kwargs) as emu:
            result = run_setup(name, emu, args.turns, args.rounds)
        results.append(result)
        print(report(result), flush=True)
        print()
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
