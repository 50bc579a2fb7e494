"""LangChain adapter for azoai (chat model and embeddings): under construction, see issue 5."""

__all__: list[str] = []
