"""A LlamaIndex RAG pipeline: ingestion (SentenceSplitter + embeddings) into a VectorStoreIndex,
then a streamed query whose answer cites its source document.

EMBED_DEPLOYMENT is your embeddings deployment (the emulator's is called "embed")."""

from llama_index.core import Document, VectorStoreIndex
from llama_index.core.ingestion import IngestionPipeline
from llama_index.core.node_parser import SentenceSplitter

from llamaindex_azoai import AzureOpenAI, AzureOpenAIEmbedding

EMBED_DEPLOYMENT = "embed"

documents = [
    Document(
        text="The Great Barrier Reef is the world's largest coral reef system, off Queensland.",
        metadata={"source": "reef.txt"},
    ),
    Document(
        text="Mount Kilimanjaro in Tanzania is the highest mountain in Africa.",
        metadata={"source": "mountain.txt"},
    ),
    Document(
        text="The Atacama Desert in Chile is one of the driest places on Earth.",
        metadata={"source": "desert.txt"},
    ),
]
embed_model = AzureOpenAIEmbedding(azure_deployment=EMBED_DEPLOYMENT)
nodes = IngestionPipeline(transformations=[SentenceSplitter(chunk_size=256), embed_model]).run(
    documents=documents
)
index = VectorStoreIndex(nodes, embed_model=embed_model)

engine = index.as_query_engine(llm=AzureOpenAI(temperature=0), streaming=True, similarity_top_k=1)
response = engine.query("What is the highest mountain in Africa?")
for piece in response.response_gen:
    print(piece, end="", flush=True)
print()
print("source:", response.source_nodes[0].node.metadata["source"])
