"""The names azoai's telemetry uses: the GenAI semantic conventions' (as released in
``opentelemetry-semantic-conventions`` 0.66b2, schema 1.44) kept as strings, and azoai's own
``azoai.*`` attributes (:data:`AZOAI_ATTRIBUTES`). See :mod:`azoai.pipeline.telemetry` for why
they are not imported from that package."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "ABANDONED",
    "API_TYPES",
    "API_VERSION",
    "AZOAI_ATTRIBUTES",
    "AZOAI_OPERATION",
    "AZURE_PROVIDER_NAME",
    "AZURE_REQUEST_ID",
    "CACHE_CREATION_TOKENS",
    "CACHE_READ_TOKENS",
    "DIMENSION_COUNT",
    "DURATION",
    "DURATION_BUCKETS",
    "EMBED_INPUTS",
    "EMBED_REQUESTS",
    "ERROR_CODE",
    "ERROR_TYPE",
    "FAILOVERS",
    "FILTERED",
    "FINISH_REASONS",
    "HTTP_STATUS",
    "INPUT_TOKENS",
    "MODEL_VERSION",
    "OPENAI_API_TYPE",
    "OPENAI_PROVIDER_NAME",
    "OPERATION",
    "OUTPUT_TOKENS",
    "OUTPUT_TYPE",
    "PROVIDER",
    "QUOTA_WAIT",
    "REASONING_TOKENS",
    "REGION",
    "REQUEST_MODEL",
    "REQUEST_PARAMS",
    "REQUEST_STREAM",
    "RESPONSE_ID",
    "RESPONSE_MODEL",
    "RETRIES",
    "RETRY_WAIT",
    "ROUTE",
    "ROUTING_NAME",
    "ROUTING_TARGET",
    "SERVER_ADDRESS",
    "SERVER_PORT",
    "STOP_SEQUENCES",
    "SYSTEM_FINGERPRINT",
    "TIME_PER_OUTPUT_CHUNK",
    "TIME_TO_FIRST_CHUNK",
    "TIME_TO_FIRST_CHUNK_METRIC",
    "TOKEN_BUCKETS",
    "TOKEN_TYPE",
    "TOKEN_USAGE",
]

# --- names (GenAI semantic conventions, opentelemetry-semantic-conventions 0.66b2) ---------------
OPERATION = "gen_ai.operation.name"
PROVIDER = "gen_ai.provider.name"
REQUEST_MODEL = "gen_ai.request.model"
REQUEST_STREAM = "gen_ai.request.stream"
RESPONSE_MODEL = "gen_ai.response.model"
RESPONSE_ID = "gen_ai.response.id"
FINISH_REASONS = "gen_ai.response.finish_reasons"
TIME_TO_FIRST_CHUNK = "gen_ai.response.time_to_first_chunk"
INPUT_TOKENS = "gen_ai.usage.input_tokens"
OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
CACHE_READ_TOKENS = "gen_ai.usage.cache_read.input_tokens"
CACHE_CREATION_TOKENS = "gen_ai.usage.cache_creation.input_tokens"
REASONING_TOKENS = "gen_ai.usage.reasoning.output_tokens"
TOKEN_TYPE = "gen_ai.token.type"
OUTPUT_TYPE = "gen_ai.output.type"
DIMENSION_COUNT = "gen_ai.embeddings.dimension.count"
OPENAI_API_TYPE = "openai.api.type"
SYSTEM_FINGERPRINT = "openai.response.system_fingerprint"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
ERROR_TYPE = "error.type"
HTTP_STATUS = "http.response.status_code"
AZURE_REQUEST_ID = "azure.service.request.id"
#: ``gen_ai.request.*`` parameters, from the neutral request's fields.
REQUEST_PARAMS = (
    ("gen_ai.request.temperature", "temperature"),
    ("gen_ai.request.top_p", "top_p"),
    ("gen_ai.request.max_tokens", "max_tokens"),
    ("gen_ai.request.seed", "seed"),
    ("gen_ai.request.frequency_penalty", "frequency_penalty"),
    ("gen_ai.request.presence_penalty", "presence_penalty"),
)
STOP_SEQUENCES = "gen_ai.request.stop_sequences"

DURATION = "gen_ai.client.operation.duration"
TOKEN_USAGE = "gen_ai.client.token.usage"
TIME_TO_FIRST_CHUNK_METRIC = "gen_ai.client.operation.time_to_first_chunk"
TIME_PER_OUTPUT_CHUNK = "gen_ai.client.operation.time_per_output_chunk"
#: The conventions' ExplicitBucketBoundaries advice: seconds for the three time histograms...
DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)  # fmt: skip
#: ... and tokens for the usage histogram.
TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)  # fmt: skip

# --- azoai's own attributes ---------------------------------------------------------------------
AZOAI_OPERATION = "azoai.operation"
API_VERSION = "azoai.api_version"
ROUTE = "azoai.route"
REGION = "azoai.region"
MODEL_VERSION = "azoai.model_version"
RETRIES = "azoai.retry.count"
RETRY_WAIT = "azoai.retry.wait"
QUOTA_WAIT = "azoai.quota.wait"
ROUTING_NAME = "azoai.routing.name"
ROUTING_TARGET = "azoai.routing.target"
FAILOVERS = "azoai.routing.failovers"
FILTERED = "azoai.content_filter.filtered"
ERROR_CODE = "azoai.error.code"
ABANDONED = "azoai.stream.abandoned"
EMBED_INPUTS = "azoai.embeddings.inputs"
EMBED_REQUESTS = "azoai.embeddings.requests"
#: Every ``azoai.*`` attribute and what it holds (the README's table is written from this).
AZOAI_ATTRIBUTES: Mapping[str, str] = {
    AZOAI_OPERATION: "the API a `text_completion` or `generate_content` span called (`completions`, `images.generations`, `images.edits`, `audio.speech`, `audio.transcriptions`, `audio.translations`)",
    API_VERSION: "the api-version sent (`v1`, `preview` or a date)",
    ROUTE: "`v1` or `deployments`: the URL family the request went to",
    REGION: "the Azure region that answered (`x-ms-region`)",
    MODEL_VERSION: "the model version, configured or read from the model Azure names",
    RETRIES: "resends on the same target after failed attempts (429, 5xx, timeouts, a 401 refresh)",
    RETRY_WAIT: "seconds slept before those resends (backoff and `retry-after`)",
    QUOTA_WAIT: "seconds spent waiting for quota: the pacer holding requests under TPM/RPM and 429 `retry-after` sleeps",
    ROUTING_NAME: "the configured route the call named",
    ROUTING_TARGET: "the route target that served the call (or was tried last)",
    FAILOVERS: "targets of the route that failed before another one was tried",
    FILTERED: "content-filter categories that filtered, as `side:category` (`prompt:violence`)",
    ERROR_CODE: "Azure's error code on a failed call (`content_filter`, `DeploymentNotFound`...)",
    ABANDONED: "`true` when the consumer stopped reading a stream before its end",
    EMBED_INPUTS: "the number of texts embedded",
    EMBED_REQUESTS: "the requests an `embed` call sent (batches and their retried halves)",
}

AZURE_PROVIDER_NAME = "azure.ai.openai"
OPENAI_PROVIDER_NAME = "openai"  # an OpenAI-compatible fallback target of a route
API_TYPES = {"chat": "chat_completions", "responses": "responses"}
