"""``AzureOpenAI``: a LlamaIndex ``FunctionCallingLLM`` backed by the azoai core.

Drop-in for ``llama_index.llms.azure_openai.AzureOpenAI`` (same constructor names and aliases)
and, with ``use_responses_api=True``, for ``AzureOpenAIResponses``. Everything Azure-specific
(routes, API versions, auth and token refresh, retries, parameter rules per model family,
content filtering) happens in :class:`azoai.client.Client`; this module translates LlamaIndex
calls to neutral requests and results back (see :mod:`llamaindex_azoai._convert`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Callable, Generator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from llama_index.core.base.llms.generic_utils import (
    astream_chat_response_to_completion_response,
    chat_response_to_completion_response,
    stream_chat_response_to_completion_response,
)
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.callbacks import CallbackManager
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import ToolSelection
from llama_index.core.types import BaseOutputParser, PydanticProgramMode
from llama_index_instrumentation import get_dispatcher

from azoai.client import CallOptions, Client
from azoai.config.settings import Settings
from azoai.errors import AzoaiError
from azoai.wire import ChatRequest, ChatResult
from llamaindex_azoai._convert import (
    RESPONSE_ID,
    StreamFolder,
    from_result,
    openai_shaped,
    response_format_for,
    response_kwargs,
    split_builtin,
    to_logprobs,
    to_response_format,
    to_tool_choice,
    to_tool_spec,
    to_wire_messages,
    tool_selections,
)
from llamaindex_azoai._settings import (
    AzureConnection,
    reject_unknown,
    resolve_alias,
    resolve_engine,
)
from llamaindex_azoai._signatures import presign
from llamaindex_azoai.batch import LLMBatchApi

if TYPE_CHECKING:
    import httpx
    from llama_index.core.program.utils import FlexibleModel
    from llama_index.core.prompts import PromptTemplate
    from llama_index.core.tools.types import BaseTool
    from pydantic import BaseModel

__all__ = ["AzureOpenAI"]

log = logging.getLogger("llamaindex_azoai")
dispatcher = get_dispatcher(__name__)

# ChatRequest fields a call's keyword arguments may set directly, and their other spellings.
_REQUEST_FIELDS = frozenset(
    {
        "temperature",
        "top_p",
        "max_tokens",
        "stop",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "logprobs",
        "top_logprobs",
        "logit_bias",
        "user",
        "reasoning_effort",
        "reasoning_summary",
        "verbosity",
        "store",
        "previous_response_id",
        "include",
        "metadata",
        "parallel_tool_calls",
    }
)
_REQUEST_ALIASES = {
    "max_completion_tokens": "max_tokens",
    "max_output_tokens": "max_tokens",
    "call_metadata": "metadata",
}
_OPTION_FIELDS = ("timeout", "max_retries", "extra_headers", "return_filtered")
# The constructor's temperature when none is given (llama-index's DEFAULT_TEMPERATURE).
_DEFAULT_TEMPERATURE: Any = object()


def _default_temperature(model: str | None, engine: str | None) -> float:
    """llama-index's default 0.1, or 1.0 for a reasoning model: the only temperature those run
    at (the core sends them none), so the attribute shows what the call uses, as llama-index
    shows it for o1."""
    from azoai.config.catalog import lookup_model

    info = lookup_model(model)
    if not info.known:
        info = lookup_model(engine)
    return 1.0 if info.reasoning else 0.1


@presign
class AzureOpenAI(LLMBatchApi, AzureConnection, FunctionCallingLLM):
    """Azure OpenAI chat models for LlamaIndex, through the azoai core.

    Change the import from ``llama_index.llms.azure_openai`` to ``llamaindex_azoai``; the
    arguments keep their names::

        llm = AzureOpenAI(engine="my-gpt-4o", model="gpt-4o",
                          azure_endpoint="https://<resource>.example", api_key="...")

    ``engine`` (or ``deployment_name``/``deployment_id``/``deployment``/``azure_deployment``)
    names the deployment; ``model`` names the real model behind it (optional: it sharpens
    ``metadata`` and the parameter rules; unknown names never raise). ``use_azure_ad=True``
    without a token provider uses ``DefaultAzureCredential`` with refreshed bearer tokens.
    ``use_responses_api=True`` switches to the Responses API. See ``docs/llamaindex.md``.
    """

    _settings_fields: ClassVar[frozenset[str]] = frozenset({"engine", "model", "use_responses_api"})

    model: str | None = Field(
        default=None, description="The real model behind the deployment, e.g. gpt-4o."
    )
    engine: str | None = Field(default=None, description="The deployment name.")
    temperature: float | None = Field(default=0.1, description="Sampling temperature.")
    max_tokens: int | None = Field(default=None, description="Most tokens to generate.")
    additional_kwargs: dict[str, Any] = Field(
        default_factory=dict, description="Extra request parameters for every call."
    )
    max_retries: int | None = Field(default=3, description="Retries of the core's one retry layer.")
    timeout: float | None = Field(default=60.0, description="Seconds to wait for a response.")
    strict: bool = Field(default=False, description="Strict (Structured Outputs) tool schemas.")
    reasoning_effort: str | None = Field(default=None, description="Reasoning models' effort.")
    logprobs: bool | None = Field(default=None, description="Ask for token log probabilities.")
    top_logprobs: int = Field(default=0, description="How many alternatives per token.")
    context_window: int | None = Field(
        default=None, description="Override the context window reported in metadata."
    )
    return_filtered: bool = Field(
        default=False,
        description="Return completions the content filter cut (finish_reason 'content_filter') "
        "instead of raising ContentFilterError.",
    )
    # Responses API
    use_responses_api: bool = Field(default=False, description="Use the Responses API.")
    track_previous_responses: bool = Field(
        default=False, description="Chain turns with previous_response_id (implies store=True)."
    )
    store: bool | None = Field(default=None, description="Store responses server-side.")
    reasoning_options: dict[str, Any] | None = Field(
        default=None, description="Responses reasoning options: {'effort': ..., 'summary': ...}."
    )
    include: list[str] | None = Field(default=None, description="Responses 'include' items.")
    built_in_tools: list[dict[str, Any]] | None = Field(
        default=None,
        description="Built-in Responses tools sent with every call (llama-index's "
        "OpenAIResponses name): {'type': 'web_search'}, {'type': 'code_interpreter', "
        "'container': {'type': 'auto'}}, file_search, mcp, image_generation. Needs "
        "use_responses_api=True.",
    )
    instructions: str | None = Field(default=None, description="Instructions (a system message).")
    user: str | None = Field(default=None, description="End-user id sent with requests.")
    call_metadata: dict[str, str] | None = Field(default=None, description="Request metadata.")
    # the Batch API (batch_chat, batch_complete, batch_submit...: llamaindex_azoai.batch)
    batch_deployment: str | None = Field(
        default=None, description="The Global Batch deployment batch jobs go to (default: engine)."
    )
    batch_api_options: dict[str, Any] | None = Field(
        default=None, description="azoai.batch.BatchOptions fields (job_dir, ...)."
    )

    _previous_response_id: str | None = PrivateAttr(default=None)

    def __init__(
        self,
        model: str | None = None,
        engine: str | None = None,
        temperature: Any = _DEFAULT_TEMPERATURE,
        max_tokens: int | None = None,
        additional_kwargs: dict[str, Any] | None = None,
        max_retries: int | None = 3,
        timeout: float | None = 60.0,
        reuse_client: bool = True,
        api_key: Any = None,
        api_version: str | None = None,
        api_base: str | None = None,
        azure_endpoint: str | None = None,
        azure_deployment: str | None = None,
        azure_ad_token_provider: Callable[..., Any] | None = None,
        use_azure_ad: bool = False,
        callback_manager: CallbackManager | None = None,
        deployment_name: str | None = None,
        deployment_id: str | None = None,
        deployment: str | None = None,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        system_prompt: str | None = None,
        messages_to_prompt: Callable[[Sequence[ChatMessage]], str] | None = None,
        completion_to_prompt: Callable[[str], str] | None = None,
        pydantic_program_mode: PydanticProgramMode = PydanticProgramMode.DEFAULT,
        output_parser: BaseOutputParser | None = None,
        *,
        use_responses_api: bool = False,
        previous_response_id: str | None = None,
        max_output_tokens: int | None = None,
        http_async_client: httpx.AsyncClient | None = None,
        **kwargs: Any,
    ) -> None:
        engine = resolve_engine(
            engine,
            deployment_name=deployment_name,
            deployment_id=deployment_id,
            deployment=deployment,
            azure_deployment=azure_deployment,
        )
        max_tokens = resolve_alias(
            {"max_tokens": max_tokens, "max_output_tokens": max_output_tokens},
            setting="max_tokens",
        )
        modalities = kwargs.pop("modalities", None)
        if kwargs.pop("audio_config", None) is not None or (
            modalities and any(m != "text" for m in modalities)
        ):
            raise NotImplementedError("audio output is not supported; use text modalities")
        for name in ("openai_client", "async_openai_client"):
            if kwargs.get(name) is not None:
                raise NotImplementedError(
                    f"{name} is not supported: azoai talks to Azure itself (see docs/llamaindex.md)"
                )
            kwargs.pop(name, None)
        reject_unknown("AzureOpenAI", kwargs, type(self).model_fields)
        if temperature is _DEFAULT_TEMPERATURE:
            temperature = _default_temperature(model, engine)
        fields: dict[str, Any] = dict(
            model=model,
            engine=engine,
            temperature=temperature,
            max_tokens=max_tokens,
            additional_kwargs=additional_kwargs or {},
            max_retries=max_retries,
            timeout=timeout,
            reuse_client=reuse_client,
            api_key=api_key,
            api_version=api_version,
            api_base=api_base,
            azure_endpoint=azure_endpoint,
            azure_ad_token_provider=azure_ad_token_provider,
            use_azure_ad=use_azure_ad,
            callback_manager=callback_manager,
            system_prompt=system_prompt,
            messages_to_prompt=messages_to_prompt,
            completion_to_prompt=completion_to_prompt,
            pydantic_program_mode=pydantic_program_mode,
            output_parser=output_parser,
            use_responses_api=use_responses_api,
            **kwargs,
        )
        super().__init__(**fields)
        if self.track_previous_responses and self.store is None:
            self.store = True
        self._previous_response_id = previous_response_id
        self._init_connection(http_client, async_http_client, http_async_client)

    def _settings_from_fields(self) -> Settings:
        return self._build_settings(
            deployment=self.engine,
            model=self.model,
            api="responses" if self.use_responses_api else None,
        )

    @classmethod
    def class_name(cls) -> str:
        return "azoai_azure_openai_llm"

    # -- metadata ------------------------------------------------------------------------------

    @property
    def metadata(self) -> LLMMetadata:
        """From the core's catalogue and discovery; an unknown model gets conservative limits."""
        from azoai.config.catalog import lookup_model

        try:
            info = self.client.model_info()
        except AzoaiError:
            info = lookup_model(self.model)
        window = self.context_window or info.context_window
        # num_output is what LlamaIndex reserves out of the window for the answer; keep at least
        # half of the window for the prompt when a model's output limit equals its window.
        num_output = self.max_tokens or min(info.max_output, window // 2)
        if self.model:
            name = self.model
        elif info.known:
            name = info.name
        else:
            name = self.settings.deployment or info.name
        return LLMMetadata(
            context_window=window,
            num_output=num_output,
            is_chat_model=True,
            is_function_calling_model=info.tools,
            model_name=name,
            system_role=MessageRole.SYSTEM,
        )

    @property
    def previous_response_id(self) -> str | None:
        """The id the next Responses call continues from (``track_previous_responses``)."""
        return self._previous_response_id

    def reset_previous_response(self) -> None:
        """Start a new chain: the next call sends the whole history again."""
        self._previous_response_id = None

    # -- building requests ---------------------------------------------------------------------

    def _base_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"temperature": self.temperature, "max_tokens": self.max_tokens}
        if self.logprobs:
            params["logprobs"] = True
            if self.top_logprobs:
                params["top_logprobs"] = self.top_logprobs
        if self.reasoning_effort is not None:
            params["reasoning_effort"] = self.reasoning_effort
        if self.reasoning_options:
            params["reasoning"] = self.reasoning_options
        for name in ("store", "include", "user", "call_metadata"):
            value = getattr(self, name)
            if value is not None:
                params[name] = value
        return params

    def _prepare(
        self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]
    ) -> tuple[ChatRequest, str | None, CallOptions]:
        """``ChatRequest`` from the class fields < ``additional_kwargs`` < the call's kwargs."""
        params = {**self._base_params(), **self.additional_kwargs, **kwargs}
        fields: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        options: dict[str, Any] = {"return_filtered": self.return_filtered}
        model: str | None = None
        for key, value in params.items():
            key = _REQUEST_ALIASES.get(key, key)
            if key in _REQUEST_FIELDS:
                if value is not None:
                    fields[key] = value
            elif key in _OPTION_FIELDS:
                if value is not None:
                    options[key] = value
            elif key == "model":
                model = value
            elif key == "tools":
                functions, builtin = split_builtin(value or ())
                if functions:
                    fields["tools"] = [to_tool_spec(t, strict=self.strict) for t in functions]
                if builtin:
                    fields["builtin_tools"] = builtin
            elif key == "tool_choice":
                if value is not None:
                    fields["tool_choice"] = to_tool_choice(value, False)
            elif key == "response_format":
                fields["response_format"] = to_response_format(value)
            elif key == "stream_options":
                if isinstance(value, dict) and "include_usage" in value:
                    fields["stream_usage"] = bool(value["include_usage"])
            elif key == "reasoning":
                if isinstance(value, dict):
                    if value.get("effort") is not None:
                        fields.setdefault("reasoning_effort", value["effort"])
                    if value.get("summary") is not None:
                        fields.setdefault("reasoning_summary", value["summary"])
            elif key == "extra_body":
                extra.update(value or {})
            elif key in ("stream", "use_chat_completions"):
                continue  # decided by the method called
            else:
                extra[key] = value
        if isinstance(fields.get("stop"), str):
            fields["stop"] = [fields["stop"]]
        if self.built_in_tools:
            fields["builtin_tools"] = [*self.built_in_tools, *fields.get("builtin_tools", ())]
        wire = to_wire_messages(self._chain(list(messages), fields))
        if self.instructions:
            from azoai.wire import Message

            wire.insert(0, Message("system", self.instructions))
        request = ChatRequest(messages=wire, extra_body=extra or None, **fields)
        return request, model, CallOptions(**options)

    def _chain(self, messages: list[ChatMessage], fields: dict[str, Any]) -> list[ChatMessage]:
        """With ``track_previous_responses``, continue from the last response: send its id and
        only what came after it (system messages are sent again; the Responses API does not
        carry instructions over)."""
        prev = self._previous_response_id
        if not (self.use_responses_api and prev) or "previous_response_id" in fields:
            return messages
        if not self.track_previous_responses:
            return messages
        fields["previous_response_id"] = prev
        for i in range(len(messages) - 1, -1, -1):
            m = messages[i]
            if m.role == MessageRole.ASSISTANT and m.additional_kwargs.get(RESPONSE_ID) == prev:
                head = [
                    x for x in messages[:i] if x.role in (MessageRole.SYSTEM, MessageRole.DEVELOPER)
                ]
                return head + messages[i + 1 :]
        return messages

    def _track(self, response_id: str | None) -> None:
        if self.use_responses_api and self.track_previous_responses and response_id:
            self._previous_response_id = response_id

    def _response(self, client: Client, result: ChatResult, model: str | None) -> ChatResponse:
        self._track(result.response_id)
        return ChatResponse(
            message=from_result(result),
            raw=openai_shaped(result.raw),
            logprobs=to_logprobs(result.logprobs),
            additional_kwargs=response_kwargs(result),
        )

    def _folder(self) -> StreamFolder:
        # No deployment lookup here: the core puts the one it resolved on the first delta.
        return StreamFolder(api=self.settings.api)

    # -- chat ------------------------------------------------------------------------------------

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return self._chat(messages, **kwargs)

    def _chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        request, model, options = self._prepare(messages, kwargs)
        client, owned = self._call_client()
        try:
            result = client.chat(request, model=model, options=options)
            return self._response(client, result, model)
        finally:
            if owned:
                client.close()

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        return self._stream_chat(messages, **kwargs)

    def _stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        request, model, options = self._prepare(messages, kwargs)

        def gen() -> Generator[ChatResponse, None, None]:
            client, owned = self._call_client()
            try:
                folder = self._folder()
                for delta in client.stream(request, model=model, options=options, into=folder.acc):
                    yield folder.present(delta)
                self._track(folder.acc.response_id)
            finally:
                if owned:
                    client.close()

        return gen()

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return await self._achat(messages, **kwargs)

    async def _achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        request, model, options = self._prepare(messages, kwargs)
        client, owned = self._call_client()
        try:
            result = await client.achat(request, model=model, options=options)
            return self._response(client, result, model)
        finally:
            if owned:
                await client.aclose()

    @llm_chat_callback()
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        return await self._astream_chat(messages, **kwargs)

    async def _astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        request, model, options = self._prepare(messages, kwargs)

        async def gen() -> AsyncGenerator[ChatResponse, None]:
            client, owned = self._call_client()
            try:
                folder = self._folder()
                async for delta in client.astream(
                    request, model=model, options=options, into=folder.acc
                ):
                    yield folder.present(delta)
                self._track(folder.acc.response_id)
            finally:
                if owned:
                    await client.aclose()

        return gen()

    # -- completion (a chat with one user message) -------------------------------------------------

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return chat_response_to_completion_response(self._chat([_user(prompt)], **kwargs))

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        return stream_chat_response_to_completion_response(
            self._stream_chat([_user(prompt)], **kwargs)
        )

    @llm_completion_callback()
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        return chat_response_to_completion_response(await self._achat([_user(prompt)], **kwargs))

    @llm_completion_callback()
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        return astream_chat_response_to_completion_response(
            await self._astream_chat([_user(prompt)], **kwargs)
        )

    # -- tools -----------------------------------------------------------------------------------

    def _prepare_chat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        tool_choice: str | dict[str, Any] | None = None,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """The chat kwargs for a tool call: tool specs, ``tool_choice`` (``tool_required`` ->
        required), and ``parallel_tool_calls`` exactly as the caller chose it."""
        use_strict = self.strict if strict is None else strict
        functions, builtin = split_builtin(tools)
        specs: list[Any] = [to_tool_spec(t, strict=use_strict) for t in functions] + builtin
        messages = list(chat_history or [])
        if isinstance(user_msg, str):
            user_msg = _user(user_msg)
        if user_msg is not None:
            messages.append(user_msg)
        out: dict[str, Any] = {"messages": messages, **kwargs}
        if specs:
            out["tools"] = specs
            out["tool_choice"] = to_tool_choice(tool_choice, tool_required)
            out["parallel_tool_calls"] = allow_parallel_tool_calls
        return out

    def _validate_chat_with_tools_response(
        self,
        response: ChatResponse,
        tools: Sequence[BaseTool],
        allow_parallel_tool_calls: bool = False,
        **kwargs: Any,
    ) -> ChatResponse:
        """A model may still return several calls when single calls were asked for (some
        models cannot be told); keep the first and say so, as the caller asked for one."""
        if allow_parallel_tool_calls:
            return response
        from llama_index.core.base.llms.types import ToolCallBlock

        calls = [b for b in response.message.blocks if isinstance(b, ToolCallBlock)]
        if len(calls) > 1:
            log.warning(
                "llamaindex_azoai: the model returned %d tool calls although "
                "allow_parallel_tool_calls=False; keeping the first (%s)",
                len(calls),
                calls[0].tool_name,
            )
            first = calls[0]
            response.message.blocks = [
                b for b in response.message.blocks if not isinstance(b, ToolCallBlock) or b is first
            ]
        return response

    def get_tool_calls_from_response(
        self, response: ChatResponse, error_on_no_tool_call: bool = True, **kwargs: Any
    ) -> list[ToolSelection]:
        """The tool calls in ``response``. Arguments that are not a JSON object raise
        :class:`~llamaindex_azoai.InvalidToolArgumentsError` naming the tool."""
        return tool_selections(response, error_on_no_tool_call=error_on_no_tool_call)

    # -- structured output -------------------------------------------------------------------------

    def _use_json_schema(self) -> bool:
        if self.pydantic_program_mode != PydanticProgramMode.DEFAULT:
            return False
        try:
            return self.client.supports_json_schema()
        except AzoaiError:
            return False

    @staticmethod
    def _schema_kwargs(
        llm_kwargs: dict[str, Any] | None, output_cls: type[BaseModel]
    ) -> dict[str, Any]:
        out = dict(llm_kwargs or {})
        out["response_format"] = response_format_for(output_cls)
        out.pop("tool_choice", None)
        return out

    @staticmethod
    def _tool_kwargs(llm_kwargs: dict[str, Any] | None) -> dict[str, Any]:
        out = dict(llm_kwargs or {})
        out.setdefault("tool_choice", "required")
        return out

    @dispatcher.span
    def structured_predict(
        self,
        output_cls: type[BaseModel],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Any:
        """json_schema where the deployment and api_version support it, tool calling
        (with the tool required) otherwise."""
        if self._use_json_schema():
            messages = self._extend_messages(prompt.format_messages(**prompt_args))
            response = self.chat(messages, **self._schema_kwargs(llm_kwargs, output_cls))
            return output_cls.model_validate_json(response.message.content or "")
        return super().structured_predict(
            output_cls, prompt, llm_kwargs=self._tool_kwargs(llm_kwargs), **prompt_args
        )

    @dispatcher.span
    async def astructured_predict(
        self,
        output_cls: type[BaseModel],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Any:
        if self._use_json_schema():
            messages = self._extend_messages(prompt.format_messages(**prompt_args))
            response = await self.achat(messages, **self._schema_kwargs(llm_kwargs, output_cls))
            return output_cls.model_validate_json(response.message.content or "")
        return await super().astructured_predict(
            output_cls, prompt, llm_kwargs=self._tool_kwargs(llm_kwargs), **prompt_args
        )

    def _structured_stream_call(
        self,
        output_cls: type[BaseModel],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Generator[Any, None, None]:
        if self._use_json_schema():
            from llama_index.core.program.streaming_utils import (
                process_streaming_content_incremental,
            )

            messages = self._extend_messages(prompt.format_messages(**prompt_args))
            kwargs = self._schema_kwargs(llm_kwargs, output_cls)
            current: BaseModel | FlexibleModel | None = None
            for response in self.stream_chat(messages, **kwargs):
                current = process_streaming_content_incremental(response, output_cls, current)
                yield current
        else:
            yield from super()._structured_stream_call(
                output_cls, prompt, self._tool_kwargs(llm_kwargs), **prompt_args
            )

    async def _structured_astream_call(
        self,
        output_cls: type[BaseModel],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> AsyncGenerator[Any, None]:
        if not self._use_json_schema():
            return await super()._structured_astream_call(
                output_cls, prompt, self._tool_kwargs(llm_kwargs), **prompt_args
            )
        from llama_index.core.program.streaming_utils import process_streaming_content_incremental

        messages = self._extend_messages(prompt.format_messages(**prompt_args))
        kwargs = self._schema_kwargs(llm_kwargs, output_cls)

        async def gen() -> AsyncGenerator[Any, None]:
            current: BaseModel | FlexibleModel | None = None
            async for response in await self.astream_chat(messages, **kwargs):
                current = process_streaming_content_incremental(response, output_cls, current)
                yield current

        return gen()


def _user(prompt: str) -> ChatMessage:
    return ChatMessage(role=MessageRole.USER, content=prompt)
