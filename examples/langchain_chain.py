"""A LangChain LCEL chain (prompt | model | parser), streamed token by token.

Run against your resource (AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY, AZURE_OPENAI_DEPLOYMENT)
or against the emulator: `azoai emulator --port 8000` and AZURE_OPENAI_ENDPOINT=http://127.0.0.1:8000,
AZURE_OPENAI_API_KEY=azoai-emulator-key, AZURE_OPENAI_DEPLOYMENT=chat.
"""

from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from langchain_azoai import AzureChatOpenAI

# Endpoint, key and deployment come from the environment; pass them as arguments if you prefer.
llm = AzureChatOpenAI(temperature=0)

prompt = ChatPromptTemplate.from_messages(
    [
        ("system", "Answer in one sentence using the context."),
        ("user", "Context: {context}\n\nQuestion: {question}"),
    ]
)
chain = prompt | llm | StrOutputParser()

for piece in chain.stream(
    {
        "context": "The Amazon river carries more water than any other river on Earth.",
        "question": "Which river carries the most water?",
    }
):
    print(piece, end="", flush=True)
print()
