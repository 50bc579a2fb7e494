"""LlamaIndex adapter for azoai (LLM and embedding): under construction, see issue 6."""

__all__: list[str] = []
