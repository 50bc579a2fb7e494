"""Structured output into a pydantic model (json_schema where the API version has it)."""

from pydantic import BaseModel, Field

from langchain_azoai import AzureChatOpenAI


class City(BaseModel):
    name: str = Field(description="the city's name")
    country: str = Field(description="the country it is in")
    population_millions: float = Field(description="population in millions")


llm = AzureChatOpenAI(temperature=0).with_structured_output(City)
city = llm.invoke("Tokyo is the capital of Japan and has about 14 million people.")
print(type(city).__name__, city.model_dump())
