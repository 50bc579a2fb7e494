"""azoai's benchmark suite: client CPU, imports, cold start, memory, token acquisition and
ingestion under a quota, against the anchors (the openai SDK, langchain-openai, llama-index).
Run it with ``python -m benchmarks``; see ``benchmarks/README.md``."""
