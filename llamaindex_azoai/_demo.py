"""The LlamaIndex part of ``azoai demo``: a RAG query over documents shipped with the package
(ingested with a progress bar, answered with a citation) and a structured-output call.

Registered through the ``azoai.demo`` entry point; the runner in the core decides where the
steps point (the emulator or a real resource) and prints the summary lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from azoai.demo import DemoContext, DemoStep, StepReport

#: A few short documents on distinct topics, shipped for the demo.
DOCS = Path(__file__).with_name("demo_docs")


def load_documents(directory: Path = DOCS) -> list[Any]:
    """The shipped documents, named file by file: ``SimpleDirectoryReader`` given a directory
    skips everything under a path with a dot-part, and an install in ``.venv`` is one."""
    from llama_index.core import SimpleDirectoryReader

    files = sorted(directory.glob("*.md"))
    return list(SimpleDirectoryReader(input_files=[str(f) for f in files]).load_data())


def _llm(ctx: DemoContext, counter: Any) -> Any:
    from llama_index.core.callbacks import CallbackManager

    from llamaindex_azoai import AzureOpenAI

    return AzureOpenAI(
        engine=ctx.chat_deployment,
        temperature=0,
        callback_manager=CallbackManager([counter]),
        **ctx.settings_kwargs,
    )


def _report(outcome: str, counter: Any) -> StepReport:
    return StepReport(outcome, counter.prompt_llm_token_count, counter.completion_llm_token_count)


def rag_query(ctx: DemoContext) -> StepReport:
    from llama_index.core import VectorStoreIndex, get_response_synthesizer
    from llama_index.core.callbacks import CallbackManager, TokenCountingHandler
    from llama_index.core.ingestion import IngestionPipeline
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.core.query_engine import RetrieverQueryEngine

    from llamaindex_azoai import AzureOpenAIEmbedding

    counter = TokenCountingHandler()
    embed_model = AzureOpenAIEmbedding(azure_deployment=ctx.embed_deployment, **ctx.settings_kwargs)
    documents = load_documents()
    ctx.write(f"  ingesting {len(documents)} documents from {DOCS.name}/")
    pipeline = IngestionPipeline(
        transformations=[SentenceSplitter(chunk_size=128, chunk_overlap=0), embed_model]
    )
    nodes = pipeline.run(documents=documents, show_progress=True)
    index = VectorStoreIndex(nodes, embed_model=embed_model)
    # The response synthesizer hands its callback manager to the LLM (Settings' unless given).
    synthesizer = get_response_synthesizer(
        llm=_llm(ctx, counter), streaming=True, callback_manager=CallbackManager([counter])
    )
    engine = RetrieverQueryEngine(
        index.as_retriever(similarity_top_k=2), response_synthesizer=synthesizer
    )
    question = "How do honeybees tell each other where flowers are?"
    ctx.write(f"  question: {question}")
    ctx.stream("  answer: ")
    response = engine.query(question)
    chunks = 0
    for piece in response.response_gen:  # type: ignore[union-attr]
        ctx.stream(piece)
        chunks += 1
    ctx.stream("\n")
    sources = [n.node.metadata.get("file_name", "?") for n in response.source_nodes]
    ctx.write(f"  cited: {', '.join(dict.fromkeys(sources))}")
    return _report(
        f"ingested {len(nodes)} chunks, retrieved {len(sources)}, streamed {chunks} chunks "
        "(IngestionPipeline + VectorStoreIndex + AzureOpenAIEmbedding + AzureOpenAI)",
        counter,
    )


class TideFacts(BaseModel):
    """Facts about tides, extracted from a text."""

    cause: str = Field(description="what mainly causes tides")
    high_tides_per_day: int = Field(description="how many high tides most coasts see per lunar day")


def structured_output(ctx: DemoContext) -> StepReport:
    from llama_index.core.callbacks import TokenCountingHandler
    from llama_index.core.llms import ChatMessage

    counter = TokenCountingHandler()
    llm = _llm(ctx, counter).as_structured_llm(TideFacts)
    text = (
        "Tides are caused mainly by the Moon's gravity. Most coasts see 2 high tides per lunar day."
    )
    ctx.write(f"  text: {text}")
    response = llm.chat([ChatMessage(role="user", content=text)])
    facts = response.raw
    ctx.write(
        f"  result: {type(facts).__name__}({facts.model_dump() if isinstance(facts, BaseModel) else facts})"
    )
    return _report("as_structured_llm returned a validated pydantic object", counter)


def steps() -> list[DemoStep]:
    return [
        DemoStep(
            "LlamaIndex: RAG over shipped documents (IngestionPipeline -> VectorStoreIndex)",
            rag_query,
            needs_embeddings=True,
        ),
        DemoStep(
            "LlamaIndex: structured output into a pydantic model (as_structured_llm)",
            structured_output,
        ),
    ]
