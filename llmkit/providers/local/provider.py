"""`TransformersProvider`: a Hugging Face model running in this Python process.

The model loads lazily on first use (`loading.acquire`), once per process for
every provider that asks for the same spec. Each call renders the chat
template and queues a `generate.Job` for the model's one worker thread (so
calls run one at a time, or batched with `max_batch_size`, and the wait is
reported); the worker's streamer hands token ids back to the event loop, and
`text.ReplyText` turns them into text deltas, stop sequences and tool calls,
the same way for a complete reply and a stream. A cancelled stream stops its
generation at the next token.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from functools import partial
from typing import Any, ClassVar, get_args

from llmkit import _sync
from llmkit.errors import ConfigurationError, ContextLengthExceededError, LLMError
from llmkit.providers._base import ModelInfo, SyncTwins
from llmkit.providers._stream import ResponseStream
from llmkit.providers.local import chat
from llmkit.providers.local.generate import Done, Inbox, Job, run_next
from llmkit.providers.local.loading import (
    Device,
    Dtype,
    LoadedModel,
    LoadSpec,
    Quantization,
    acquire,
    release,
)
from llmkit.providers.local.text import ReplyText
from llmkit.tokens import TokenCount
from llmkit.types import (
    Embeddings,
    FinishReason,
    Request,
    Response,
    StreamEvent,
    ToolCallDelta,
    Usage,
)

__all__ = ["TransformersProvider"]

_log = logging.getLogger("llmkit")


class TransformersProvider(SyncTwins):
    """Any Hugging Face causal language model, in process (extra `local`).

    Example:
        provider = TransformersProvider(model="Qwen/Qwen3-0.6B")
        client = QwenClient(provider=provider, model="Qwen/Qwen3-0.6B")
        reply = await client.generate("Say hi")
    """

    name: ClassVar[str] = "local"

    def __init__(
        self,
        model: str | None = None,
        *,
        device: Device = "auto",
        dtype: Dtype = "auto",
        quantization: Quantization | None = None,
        trust_remote_code: bool = False,
        max_new_tokens: int = 512,
        revision: str | None = None,
        chat_template: str | None = None,
        max_batch_size: int = 1,
    ) -> None:
        """Configure the provider; nothing is loaded until the first call (or `load()`).

        Args:
            model: a Hugging Face model id (read from the local cache, `HF_HOME`) or a
                directory saved with `save_pretrained`. The default model for requests
                that name none; a request naming another model loads that one too.
            device: `auto` (CUDA, then Apple MPS, then CPU), `cpu`, `cuda` or `mps`.
            dtype: `auto` (bfloat16/float16 on a GPU, float32 on CPU) or a torch dtype name.
            quantization: `8bit` or `4bit` through `bitsandbytes`; needs CUDA.
            trust_remote_code: run the model repository's own Python code (off by default).
            max_new_tokens: the output limit when a request sets no `max_tokens`.
            revision: a branch, tag or commit of the model repository.
            chat_template: a Jinja chat template for models that ship none.
            max_batch_size: how many waiting requests with the same options and a similar
                prompt length may share one `generate` call (1: one at a time). Requests
                with a `seed` always run alone.
        """
        _check("device", device, Device)
        _check("dtype", dtype, Dtype)
        if quantization is not None:
            _check("quantization", quantization, Quantization)
        if max_new_tokens < 1 or max_batch_size < 1:
            raise ConfigurationError(
                "max_new_tokens and max_batch_size must be at least 1", provider=self.name
            )
        self.max_batch_size = max_batch_size
        self._options = {
            "device": device,
            "dtype": dtype,
            "quantization": quantization,
            "trust_remote_code": trust_remote_code,
            "revision": revision,
        }
        self.model = model
        """The default model; `load()` changes it."""
        self.max_new_tokens = max_new_tokens
        self.chat_template = chat_template
        self._held: dict[LoadSpec, LoadedModel] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"TransformersProvider(model={self.model!r})"

    # -- loading --------------------------------------------------------------------

    def _spec(self, model: str) -> LoadSpec:
        return LoadSpec(model=model, **self._options)  # type: ignore[arg-type]

    def _hold(self, model: str) -> LoadedModel:
        """The loaded model for `model`, held by this provider (blocking: run in a thread)."""
        spec = self._spec(model)
        with self._lock:
            loaded = self._held.get(spec)
            if loaded is None:
                loaded = self._held[spec] = acquire(spec)
            return loaded

    async def _loaded(self, model: str | None) -> LoadedModel:
        name = model or self.model
        if not name:
            raise ConfigurationError(
                "TransformersProvider has no model: pass `model=` (a Hugging Face id or a "
                "directory) to the provider or the client",
                provider=self.name,
            )
        spec = self._spec(name)
        loaded = self._held.get(spec)
        if loaded is not None and loaded.model is not None:
            return loaded
        return await asyncio.to_thread(self._hold, name)

    async def load(self, model: str | None = None) -> None:
        """Load `model` (default: the provider's) now and make it the default.

        The model the provider held before is freed once the requests running on
        it have finished; requests already queued on it finish on it.
        """
        name = model or self.model
        await self._loaded(name)
        previous, self.model = self.model, name
        if previous and previous != name:
            await self._free(previous)

    async def unload(self) -> None:
        """Free every model this provider loaded (requests already running finish first)."""
        for spec in list(self._held):
            await self._free(spec.model)

    async def _free(self, model: str) -> None:
        with self._lock:
            loaded = self._held.pop(self._spec(model), None)
        if loaded is not None:
            await asyncio.to_thread(release, loaded)

    async def aclose(self) -> None:
        """Free the models (the same as `unload()`)."""
        await self.unload()

    async def __aenter__(self) -> TransformersProvider:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- the protocol ---------------------------------------------------------------

    async def complete(self, request: Request) -> Response:
        """Generate the whole reply to `request`."""
        return await self.stream(request).collect()

    def stream(self, request: Request) -> ResponseStream:
        """Stream the reply to `request`, token by token."""
        return ResponseStream(partial(self._events, request), provider=self.name)

    async def list_models(self) -> list[ModelInfo]:
        """The models in the local Hugging Face cache, and the ones loaded now."""
        found = {spec.model for spec in self._held}
        if self.model:
            found.add(self.model)
        found.update(await asyncio.to_thread(_cached_models))
        return [ModelInfo(id=name, provider=self.name, owned_by="local") for name in sorted(found)]

    async def count_tokens(self, request: Request) -> TokenCount:
        """The exact prompt tokens of `request`, with the model's own tokenizer and template."""
        loaded = await self._loaded(request.model)
        ids, _ = self._render(loaded, request)
        return TokenCount(len(ids), exact=True, method=f"local:{loaded.spec.model}")

    def count_tokens_sync(self, request: Request) -> TokenCount:
        """Blocking twin of `count_tokens`."""
        return _sync.run(partial(self.count_tokens, request))

    async def embed(
        self,
        inputs: str | Sequence[str],
        *,
        model: str | None = None,
        kind: str | None = None,
        dimensions: int | None = None,
    ) -> Embeddings:
        """Mean-pooled last hidden states of a decoder model, one vector per input.

        For models meant to be used that way; `SentenceTransformersProvider` is the
        usual choice for embedding models.
        """
        if dimensions is not None:
            raise ConfigurationError(
                "a decoder model's mean-pooled vectors cannot be shortened: drop `dimensions=`",
                provider=self.name,
            )
        texts = [inputs] if isinstance(inputs, str) else list(inputs)
        loaded = await self._loaded(model)
        future = loaded.worker.submit(_mean_pool, loaded, texts)
        vectors, tokens = await asyncio.wrap_future(future)
        return Embeddings(
            vectors,
            model=loaded.spec.model,
            provider=self.name,
            usage=Usage(input_tokens=tokens),
        )

    # -- one generation ---------------------------------------------------------------

    def _render(self, loaded: LoadedModel, request: Request) -> tuple[list[int], str]:
        tokenizer = loaded.tokenizer
        template = self.chat_template or getattr(tokenizer, "chat_template", None)
        if not template:
            raise ConfigurationError(
                f"{loaded.spec.model} has no chat template: pass "
                "`TransformersProvider(chat_template=...)` (a Jinja template)",
                provider=self.name,
                model=loaded.spec.model,
            )
        kwargs = dict(request.extra.get("chat_template_kwargs") or {})
        text = tokenizer.apply_chat_template(
            chat.template_messages(request.messages),
            tools=chat.template_tools(request),
            chat_template=template,
            add_generation_prompt=True,
            tokenize=False,
            **kwargs,
        )
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        return list(ids), text

    async def _events(self, request: Request) -> AsyncIterator[StreamEvent]:
        loaded = await self._loaded(request.model)
        options = chat.generation_options(request, max_new_tokens=self.max_new_tokens)
        ids, prompt = self._render(loaded, request)
        _check_window(loaded, request, len(ids), options["max_new_tokens"])
        inbox = Inbox(asyncio.get_running_loop())
        reply = ReplyText(
            partial(loaded.tokenizer.decode, skip_special_tokens=True),
            stop=request.stop or (),
            tools=bool(request.tools),
            prefix=chat.open_think_prefix(prompt),
        )
        job = Job(
            ids,
            options,
            request.seed,
            inbox.post,
            max_batch_size=self.max_batch_size,
        )
        submitted = time.perf_counter()
        with loaded.queue_lock:
            loaded.queue.append(job)
        loaded.worker.submit(run_next, loaded)
        generated: list[int] = []
        emitted_calls = 0
        done: Done | None = None
        try:
            while done is None:
                new: list[int] = []
                for item in await inbox.take():  # all the tokens posted since the last look
                    if isinstance(item, BaseException):
                        raise _generation_error(item, request)
                    if isinstance(item, Done):
                        done = item
                        break
                    new.extend(item)
                if not new:
                    continue
                generated.extend(new)
                text = reply.push(new)
                if reply.stopped:
                    job.cancel.set()
                for event in _deltas(text, reply, emitted_calls):
                    yield event
                emitted_calls = len(reply.tool_calls)
            for event in _deltas(reply.finish(), reply, emitted_calls):
                yield event
        finally:
            job.cancel.set()  # a generation still running stops at its next token
        yield _last_event(loaded, reply, ids, generated, options, done, done.started - submitted)

    @property
    def default_model(self) -> str | None:
        """The model used when a request or client names none."""
        return self.model


def _deltas(text: str, reply: ReplyText, emitted_calls: int) -> Iterable[StreamEvent]:
    if text:
        yield StreamEvent(text=text)
    for index in range(emitted_calls, len(reply.tool_calls)):
        call = reply.tool_calls[index]
        arguments = call.raw_arguments or json.dumps(dict(call.arguments), ensure_ascii=False)
        yield StreamEvent(tool_call=ToolCallDelta(index, call.id, call.name, arguments))


def _last_event(
    loaded: LoadedModel,
    reply: ReplyText,
    prompt: list[int],
    generated: list[int],
    options: dict[str, Any],
    done: Done,
    queued: float,
) -> StreamEvent:
    eos = loaded.model.generation_config.eos_token_id if loaded.model is not None else None
    eos_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
    if reply.stopped:
        finish, raw = FinishReason.STOP, "stop_sequence"
    elif generated and generated[-1] in eos_ids:
        finish, raw = FinishReason.STOP, "eos_token"
    elif len(generated) >= options["max_new_tokens"]:
        finish, raw = FinishReason.LENGTH, "max_new_tokens"
    else:
        finish, raw = FinishReason.STOP, "stop"
    return StreamEvent(
        finish_reason=finish,
        raw_finish_reason=raw,
        usage=Usage(input_tokens=len(prompt), output_tokens=len(generated)),
        model=loaded.spec.model,
        raw={
            "queue_wait": queued,
            "generate_seconds": done.seconds,
            "tokens_per_second": len(generated) / done.seconds if done.seconds > 0 else None,
            "batch_size": done.batch_size,
            "device": loaded.device,
        },
    )


def _mean_pool(loaded: LoadedModel, texts: list[str]) -> tuple[list[list[float]], int]:
    import torch

    tokenizer = loaded.tokenizer
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    batch = tokenizer(texts, padding=True, return_tensors="pt").to(loaded.model.device)
    with torch.inference_mode():
        hidden = loaded.model(**batch, output_hidden_states=True).hidden_states[-1]
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)
    return pooled.float().cpu().tolist(), int(batch["attention_mask"].sum())


def _check_window(loaded: LoadedModel, request: Request, prompt: int, new_tokens: int) -> None:
    window = getattr(loaded.model.config, "max_position_embeddings", None)
    if isinstance(window, int) and prompt + new_tokens > window:
        raise ContextLengthExceededError(
            f"{loaded.spec.model} holds {window} tokens; the prompt has {prompt} and "
            f"max_tokens asks for {new_tokens}: shorten the prompt or lower max_tokens",
            provider="local",
            model=request.model,
        )


def _generation_error(exc: BaseException, request: Request) -> LLMError:
    return LLMError(
        f"the local model failed while generating ({type(exc).__name__}: {exc})",
        provider="local",
        model=request.model,
    )


def _cached_models() -> list[str]:
    try:
        from huggingface_hub import scan_cache_dir
    except ImportError:
        return []
    try:
        info = scan_cache_dir()
    except Exception:  # no cache directory yet, or one it cannot read
        return []
    return [repo.repo_id for repo in info.repos if repo.repo_type == "model"]


def _check(what: str, value: object, allowed: Any) -> None:
    choices = get_args(allowed)
    if value not in choices:
        raise ConfigurationError(
            f"{what}={value!r} is not one of {', '.join(map(repr, choices))}", provider="local"
        )
