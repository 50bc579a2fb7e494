"""The azoai core client on its own: chat, a stream, and embeddings, no framework needed."""

from azoai import Client
from azoai.wire import ChatRequest, Message

with Client() as client:  # endpoint, credentials and default deployment from the environment
    result = client.chat(
        ChatRequest(
            messages=[
                Message(
                    "user",
                    "Context: Mercury is the closest planet to the Sun.\n\nWhich planet is closest to the Sun?",
                )
            ]
        )
    )
    print("answer:", result.text)
    print(
        "model:",
        result.model,
        "| region:",
        result.headers.get("x-ms-region"),
        "| tokens:",
        result.usage.total_tokens if result.usage else "?",
    )
    print(
        "streamed:",
        "".join(
            d.text for d in client.stream(ChatRequest(messages=[Message("user", "Say hello")]))
        ),
    )
    vectors = client.embed(["first text", "second text"], model="embed").vectors
    print("embeddings:", len(vectors), "vectors of", len(vectors[0]), "dimensions")
