"""Structured output into a pydantic model with as_structured_llm (json_schema where the API
version allows it, tool calling otherwise)."""

from llama_index.core.llms import ChatMessage
from pydantic import BaseModel, Field

from llamaindex_azoai import AzureOpenAI


class Invoice(BaseModel):
    """An invoice's key facts."""

    customer: str = Field(description="who is billed")
    total_eur: float = Field(description="the amount due in euros")


llm = AzureOpenAI(temperature=0).as_structured_llm(Invoice)
response = llm.chat(
    [ChatMessage(role="user", content="Invoice for 'Acme Ltd': total due 1250.50 EUR.")]
)
invoice = response.raw
print(type(invoice).__name__, invoice.model_dump())
