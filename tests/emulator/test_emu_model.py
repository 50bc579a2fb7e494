"""The emulator's rule-based model, schema filler, embeddings and token estimate, without HTTP."""

from __future__ import annotations

import json
import math
from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel, Field

from azoai_emulator.embeddings import embed
from azoai_emulator.extract import arithmetic, evaluate, named_keys, proper_nouns
from azoai_emulator.model import Conversation, ToolCall, ToolSpec, Turn, respond
from azoai_emulator.schema import Hints, instance
from azoai_emulator.tokens import count_tokens, sentences, stream_pieces

WEATHER = ToolSpec(
    "get_weather",
    "Get the current weather for a city",
    {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city"],
    },
)
ADD = ToolSpec(
    "add",
    "Add two integers",
    {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    },
)


def ask(text: str, *tools: ToolSpec, **kw: Any) -> Any:
    return respond(Conversation([Turn("user", text)], list(tools), **kw))


# --- text rules ----------------------------------------------------------------------------------


def test_rag_prompt_in_the_user_message_quotes_the_best_passage() -> None:
    prompt = (
        "Context information is below.\n---------------------\n"
        "The author grew up writing short stories. He later studied painting in Florence. "
        "The weather in Florence was often warm.\n---------------------\n"
        "Given the context information and not prior knowledge, answer the query.\n"
        "Query: Where did the author study painting?\nAnswer: "
    )
    assert ask(prompt).content == "He later studied painting in Florence."


def test_context_in_the_system_message_answers_the_user_question() -> None:
    conv = Conversation(
        [
            Turn(
                "system",
                "Use the retrieved context. Paris is the capital of France. Berlin is the capital of Germany.",
            ),
            Turn("user", "What is the capital of Germany?"),
        ]
    )
    assert respond(conv).content == "Berlin is the capital of Germany."


def test_answers_from_earlier_turns() -> None:
    conv = Conversation(
        [
            Turn("user", "My name is Ada."),
            Turn("assistant", "Hello Ada."),
            Turn("user", "What is my name?"),
        ]
    )
    assert "Ada" in (respond(conv).content or "")


@pytest.mark.parametrize(
    ("prompt", "quote"),
    [
        (
            "Context: Paris is the capital of France. Berlin is in Germany.\n\n"
            "What is the capital of France?",
            "Paris is the capital of France.",
        ),
        (
            "Passage 1: Paris is the capital of France.\nPassage 2: Berlin is the capital of "
            "Germany.\nQuestion: What is the capital of Germany?",
            "Berlin is the capital of Germany.",
        ),
        (
            "Document 1 (fr.txt): Paris is the capital of France.\n"
            "Document 2: Berlin is the capital of Germany.\n\nWhat is the capital of Germany?",
            "Berlin is the capital of Germany.",
        ),
        (
            "[1] Oslo is the capital of Norway.\n[2] Lisbon lies on the Tagus river.\n\n"
            "Which river does Lisbon lie on?",
            "Lisbon lies on the Tagus river.",
        ),
        (
            "Source: Lisbon lies on the Tagus river.\n\nWhich river does Lisbon lie on?",
            "Lisbon lies on the Tagus river.",
        ),
        (  # LangChain's RAG prompt
            "You are an assistant for question-answering tasks. Use the following pieces of "
            "retrieved context to answer the question. If you don't know the answer, just say "
            "that you don't know.\nQuestion: What is the capital of France? \n"
            "Context: Paris is the capital of France.\n\nBerlin is in Germany. \nAnswer:",
            "Paris is the capital of France.",
        ),
    ],
)
def test_rag_quotes_leave_out_context_labels(prompt: str, quote: str) -> None:
    assert ask(prompt).content == quote


LLAMA_INDEX_QA = (
    "Context information is below.\n---------------------\n{context}\n---------------------\n"
    "Given the context information and not prior knowledge, answer the query.\n"
    "Query: {query}\nAnswer: "
)


def test_llamaindex_prompt_quotes_the_text_not_the_metadata() -> None:
    context = (
        "page_label: 3\nfile_path: /data/capital_city_of_france.txt\n\n"
        "The Eiffel Tower opened in 1889. Paris is the capital of France."
    )
    prompt = LLAMA_INDEX_QA.format(context=context, query="What is the capital city of France?")
    assert ask(prompt).content == "Paris is the capital of France."


def test_llamaindex_prompt_quotes_the_context_not_the_instructions() -> None:
    context = "file_path: data/spain.txt\n\nMadrid hosts the Spanish parliament."
    prompt = LLAMA_INDEX_QA.format(context=context, query="Which city hosts the government?")
    system = "If the context does not name the city that hosts the government, say you do not know."
    conv = Conversation([Turn("system", system), Turn("user", prompt)])
    assert respond(conv).content == "Madrid hosts the Spanish parliament."


def test_context_in_tags_is_preferred_and_key_value_facts_still_answer() -> None:
    tagged = (
        "Answer about the capital of Sweden using the documents only.\n"
        "<documents>\nStockholm is the capital of Sweden.\n</documents>\n"
        "What is the capital of Sweden?"
    )
    assert ask(tagged).content == "Stockholm is the capital of Sweden."
    profile = Conversation(
        [Turn("system", "User profile:\nName: Ada\nCity: Lisbon"), Turn("user", "What is my name?")]
    )
    assert respond(profile).content == "Name: Ada"


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("What is 3 * (4 + 5)?", "27"),
        ("calculate 10 / 4", "2.5"),
        ("Say 'pong'", "pong"),
        ("Reply with exactly: all good.", "all good"),
        ("hello", "Hello! How can I help you today?"),
        ("Tell me a joke", "You said: Tell me a joke"),
    ],
)
def test_text_rules(text: str, reply: str) -> None:
    assert ask(text).content == reply


def test_a_question_with_numbers_is_not_arithmetic() -> None:
    assert ask("What happened between 1990 - 1995 in Berlin?").content != "-5"


def test_answer_after_a_tool_result_is_the_result() -> None:
    call = ToolCall("call_1", "get_weather", '{"city": "Paris"}')
    conv = Conversation(
        [
            Turn("user", "Weather in Paris?"),
            Turn("assistant", "", (call,)),
            Turn("tool", "Sunny, 21 C", tool_call_id="call_1"),
        ],
        [WEATHER],
    )
    reply = respond(conv)
    assert reply.content == "Sunny, 21 C"
    assert not reply.tool_calls


def test_several_tool_results_are_listed_by_name() -> None:
    calls = (ToolCall("c1", "get_weather", "{}"), ToolCall("c2", "add", "{}"))
    conv = Conversation(
        [
            Turn("user", "x"),
            Turn("assistant", "", calls),
            Turn("tool", "rain", tool_call_id="c1"),
            Turn("tool", "5", tool_call_id="c2"),
        ]
    )
    assert respond(conv).content == "get_weather: rain\nadd: 5"


# --- tools ---------------------------------------------------------------------------------------


def test_auto_calls_a_tool_the_message_names_with_arguments_from_the_text() -> None:
    reply = ask("What's the weather in Paris in fahrenheit?", WEATHER, ADD)
    assert [c.name for c in reply.tool_calls] == ["get_weather"]
    assert json.loads(reply.tool_calls[0].arguments) == {"city": "Paris", "unit": "fahrenheit"}
    assert reply.content is None


def test_auto_does_not_call_an_unrelated_tool() -> None:
    reply = ask("Tell me a story about dragons", WEATHER, ADD)
    assert not reply.tool_calls
    assert reply.content


def test_asking_for_a_tool_calls_the_best_one() -> None:
    reply = ask("Use the tool to sum 2 and 5", ADD)
    assert json.loads(reply.tool_calls[0].arguments) == {"a": 2, "b": 5}


def test_parallel_calls_one_per_place() -> None:
    reply = ask("What is the weather in Paris and New York?", WEATHER)
    assert [json.loads(c.arguments)["city"] for c in reply.tool_calls] == ["Paris", "New York"]
    assert len({c.id for c in reply.tool_calls}) == 2


def test_a_capitalised_request_word_is_not_a_place() -> None:
    reply = ask("Weather in Lisbon and in Madrid?", WEATHER)
    assert [json.loads(c.arguments)["city"] for c in reply.tool_calls] == ["Lisbon", "Madrid"]
    lookup = ToolSpec(
        "lookup", "Look up hotels", {"type": "object", "properties": {"city": {"type": "string"}}}
    )
    assert json.loads(
        ask("Hotels near Porto", lookup, tool_choice="required").tool_calls[0].arguments
    ) == {"city": "Porto"}


CUSTOMER = ToolSpec(
    "unicode_customer",
    "Tool for creating a customer with Unicode name.",
    {
        "type": "object",
        "properties": {"customer_name": {"type": "string"}, "description": {"type": "string"}},
        "required": ["customer_name", "description"],
    },
)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        (
            "Create a customer named '你好啊集团' (Hello Group) - a Chinese technology company",
            "你好啊集团",
        ),
        (
            "Create a customer named 'こんにちは株式会社' (Hello Corporation) - a Japanese company",
            "こんにちは株式会社",
        ),
        ('Register "Müller & Söhne" as a customer from Berlin', "Müller & Söhne"),
        ("Create a customer named Acme Corp", "Acme Corp"),
        ("Schedule Globex for a demo", "Globex"),
    ],
)
def test_names_prefer_quoted_text_and_skip_sentence_initial_verbs(text: str, name: str) -> None:
    [call] = ask(text, CUSTOMER, tool_choice="required").tool_calls
    args = json.loads(call.arguments)
    assert args["customer_name"] == name
    assert args["description"] == text  # the quoted name is not reused for free text
    assert name in call.arguments  # not escaped as \\uXXXX


def test_lower_case_quoted_text_is_not_a_name() -> None:
    search = ToolSpec(
        "search_places",
        "Search for places",
        {
            "type": "object",
            "properties": {"query": {"type": "string"}, "location": {"type": "string"}},
            "required": ["query", "location"],
        },
    )
    [call] = ask("Search 'best pizza' near Boston", search, tool_choice="required").tool_calls
    assert json.loads(call.arguments) == {"query": "best pizza", "location": "Boston"}


def test_proper_nouns_skip_sentence_initial_verbs_and_request_heads() -> None:
    assert proper_nouns("Book a table at Nobu. Create Initech for Bob.") == [
        "Nobu",
        "Initech",
        "Bob",
    ]
    assert proper_nouns("Flights from Rome to Paris") == ["Rome", "Paris"]
    assert proper_nouns("New York in June") == ["New York", "June"]
    assert proper_nouns("Paris to London by train") == ["Paris", "London"]


def test_parallel_false_makes_one_call() -> None:
    reply = ask("What is the weather in Paris and London?", WEATHER, parallel_tool_calls=False)
    assert len(reply.tool_calls) == 1


def test_several_named_tools_are_called_together() -> None:
    reply = ask("Get the weather in Rome and add 1 and 2", WEATHER, ADD)
    assert {c.name for c in reply.tool_calls} == {"get_weather", "add"}


def test_tool_choice_none_required_and_named() -> None:
    assert not ask("weather in Paris", WEATHER, tool_choice="none").tool_calls
    assert (
        ask("Tell me a story", WEATHER, tool_choice="required").tool_calls[0].name == "get_weather"
    )
    forced = ask("whatever 4 and 9", WEATHER, ADD, forced_tool="add")
    assert forced.tool_calls[0].name == "add"
    assert json.loads(forced.tool_calls[0].arguments) == {"a": 4, "b": 9}


def test_required_still_calls_after_a_tool_result() -> None:
    conv = Conversation(
        [
            Turn("user", "weather in Oslo"),
            Turn("assistant", "", (ToolCall("c", "get_weather", "{}"),)),
            Turn("tool", "cold", tool_call_id="c"),
        ],
        [WEATHER],
        tool_choice="required",
    )
    assert respond(conv).tool_calls


# --- structured output ---------------------------------------------------------------------------


class Address(BaseModel):
    city: str
    country: str = Field(description="Country name")


class Person(BaseModel):
    name: str
    age: int = Field(ge=0, le=150)
    email: str | None = None
    tags: list[str] = Field(min_length=2)
    address: Address
    role: str = Field(json_schema_extra={"enum": ["admin", "user"]})


SCHEMAS: list[dict[str, Any]] = [
    Person.model_json_schema(),
    {
        "type": "object",
        "properties": {"n": {"type": "number", "exclusiveMinimum": 5, "maximum": 6}},
        "required": ["n"],
    },
    {"type": "array", "items": {"type": "integer"}, "minItems": 3, "uniqueItems": True},
    {"anyOf": [{"type": "null"}, {"type": "string", "minLength": 5, "maxLength": 8}]},
    {
        "type": "object",
        "properties": {"when": {"type": "string", "format": "date"}, "ok": {"type": "boolean"}},
    },
    {"type": ["string", "null"], "pattern": "^[A-Z]{2}$"},
    {
        "$defs": {
            "node": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "child": {"anyOf": [{"$ref": "#/$defs/node"}, {"type": "null"}]},
                },
                "required": ["name", "child"],
            }
        },
        "$ref": "#/$defs/node",
    },
]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_instances_validate_against_their_schema(schema: dict[str, Any]) -> None:
    value = instance(
        schema, Hints("Alice, 34, from Paris, France. Code NL.", "an answer", fill_optional=True)
    )
    jsonschema.validate(value, schema)


def test_instance_values_come_from_the_text() -> None:
    schema = Person.model_json_schema()
    value = instance(
        schema,
        Hints("Add Alice, aged 34, living in Paris, France, as admin", "x", fill_optional=True),
    )
    assert value["name"] == "Alice"
    assert value["age"] == 34
    assert value["address"]["city"] == "Paris"
    assert value["role"] == "admin"


def test_json_schema_reply_is_valid() -> None:
    schema = Person.model_json_schema()
    reply = ask("Describe Bob who is 40", json_schema=schema)
    jsonschema.validate(json.loads(reply.content or ""), schema)


def test_json_object_follows_an_example_in_the_prompt() -> None:
    conv = Conversation(
        [
            Turn("system", 'Answer in JSON like {"setup": "...", "rating": 3}'),
            Turn("user", "A joke about 7 cats"),
        ],
        json_object=True,
    )
    value = json.loads(respond(conv).content or "")
    assert set(value) == {"setup", "rating"}
    assert value["rating"] == 7


JOKE = (
    "Tell me a joke about cats. Return the result as a JSON with 'setup' and 'punchline' keys. "
    "Return nothing other than JSON."
)


@pytest.mark.parametrize(
    ("prompt", "keys"),
    [
        (JOKE, ["setup", "punchline"]),
        ("Describe Lisbon. Respond in JSON with keys 'city', 'country'.", ["city", "country"]),
        (
            "Rate this review as JSON with fields summary and sentiment: slow service",
            ["summary", "sentiment"],
        ),
        ('Give JSON with properties "x" and "y" for the origin.', ["x", "y"]),
        ("In JSON, with a 'name' field and an 'age' field: who wrote Hamlet?", ["name", "age"]),
        (
            "Use JSON output with these keys:\n- title\n- year\nFor the film Alien.",
            ["title", "year"],
        ),
        (
            "Answer as JSON. Include the keys: summary, sentiment, and score.",
            ["summary", "sentiment", "score"],
        ),
    ],
)
def test_json_object_has_exactly_the_keys_named_in_prose(prompt: str, keys: list[str]) -> None:
    value = json.loads(ask(prompt, json_object=True).content or "")
    assert list(value) == keys
    assert all(isinstance(v, str) and v for v in value.values())


def test_json_object_values_answer_the_request_not_the_format_instruction() -> None:
    value = json.loads(ask(JOKE, json_object=True).content or "")
    assert all("keys" not in v and "JSON" not in v for v in value.values())
    sums = ask("What is 6 * 7? Reply in JSON with 'answer' and 'working' keys.", json_object=True)
    assert json.loads(sums.content or "") == {"answer": "42", "working": "42"}


def test_json_object_keys_from_the_system_message_and_examples_still_win() -> None:
    conv = Conversation(
        [
            Turn("system", "Always reply in JSON with keys 'reply' and 'mood'."),
            Turn("user", "hello"),
        ],
        json_object=True,
    )
    assert json.loads(respond(conv).content or "") == {
        "reply": "Hello! How can I help you today?",
        "mood": "Hello! How can I help you today?",
    }
    example = Conversation(
        [
            Turn("system", 'Answer in JSON like {"setup": "...", "rating": 3}'),
            Turn("user", "A joke about 7 cats, with 'foo' and 'bar' keys"),
        ],
        json_object=True,
    )
    assert set(json.loads(respond(example).content or "")) == {"setup", "rating"}


@pytest.mark.parametrize(
    "text",
    ["Reply in json", "Return JSON with keys and values", "a JSON object with keys to the kingdom"],
)
def test_prose_without_key_names_names_no_keys(text: str) -> None:
    assert named_keys(text) == []


def test_json_object_without_a_hint_wraps_the_answer() -> None:
    assert json.loads(ask("What is 2 + 2? Reply in json", json_object=True).content or "") == {
        "answer": "4"
    }


# --- embeddings and text helpers -----------------------------------------------------------------


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_embeddings_are_deterministic_unit_vectors_and_shared_words_are_close() -> None:
    a = embed("The cat sat on the mat", 256)
    assert a == embed("The cat sat on the mat", 256)
    assert math.isclose(math.sqrt(sum(x * x for x in a)), 1.0)
    near = cosine(a, embed("A cat on a mat", 256))
    far = cosine(a, embed("Quarterly revenue grew strongly", 256))
    assert near > 0.5 > far


def test_embedding_of_text_without_words_and_of_token_ids_is_not_zero() -> None:
    assert any(embed("!!!", 8))
    assert any(embed([1, 2, 3], 8))


def test_token_estimate_and_stream_pieces() -> None:
    assert count_tokens("Hello, world!") == 4
    text = "Hello,  world! How are you?  "
    pieces = stream_pieces(text)
    assert "".join(pieces) == text
    assert len(pieces) == count_tokens(text)


def test_sentences_and_extraction_helpers() -> None:
    assert sentences("One. Two!\n---\nThree?") == ["One.", "Two!", "Three?"]
    assert proper_nouns("What's the weather in San Francisco, CA and Paris?") == [
        "San Francisco, CA",
        "Paris",
    ]
    assert arithmetic("on 2024-01-01 we met") is None
    assert evaluate("2 ** 1000") is None
    assert evaluate("__import__('os')") is None
