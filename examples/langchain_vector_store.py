"""Embeddings into a LangChain vector store, then a similarity search.

AZOAI_EMBED_DEPLOYMENT-style names are yours to choose: set EMBED_DEPLOYMENT below to your
embeddings deployment (the emulator's is called "embed").
"""

from langchain_core.documents import Document
from langchain_core.vectorstores import InMemoryVectorStore

from langchain_azoai import AzureOpenAIEmbeddings

EMBED_DEPLOYMENT = "embed"

embeddings = AzureOpenAIEmbeddings(azure_deployment=EMBED_DEPLOYMENT)
store = InMemoryVectorStore(embeddings)
store.add_documents(
    [
        Document(
            "Penguins live in the southern hemisphere and cannot fly.", metadata={"topic": "birds"}
        ),
        Document(
            "The Rhine flows from the Swiss Alps to the North Sea.", metadata={"topic": "rivers"}
        ),
        Document(
            "Sourdough bread rises thanks to wild yeast and bacteria.", metadata={"topic": "baking"}
        ),
    ]
)
best = store.similarity_search("Which river reaches the North Sea?", k=1)[0]
print("best match:", best.metadata["topic"], "-", best.page_content)
