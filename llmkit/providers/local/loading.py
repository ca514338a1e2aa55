"""Loading a Hugging Face model into this process, once, and unloading it.

`LoadSpec` says what to load (model id or directory, revision, device, dtype,
quantization, remote code); `acquire(spec)` returns the `LoadedModel` for it,
loading it on first use and sharing it with every provider that asks for the
same spec. `release(loaded)` frees it when the last holder lets go. Loading
never downloads behind the user's back when the hub is unreachable: a model
missing from the local cache is a `ConfigurationError` that says how to
download it. `torch` and `transformers` are imported here, on first load.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

from attrs import define, field, frozen

from llmkit._imports import require
from llmkit.errors import ConfigurationError

__all__ = ["Device", "Dtype", "LoadSpec", "LoadedModel", "acquire", "release", "resolve_device"]

Device = Literal["auto", "cpu", "cuda", "mps"]
Dtype = Literal["auto", "float16", "bfloat16", "float32"]
Quantization = Literal["8bit", "4bit"]

_log = logging.getLogger("llmkit")
_PROVIDER = "local"


@frozen
class LoadSpec:
    """What to load: equal specs share one loaded model in the process."""

    model: str
    revision: str | None = None
    device: Device = "auto"
    dtype: Dtype = "auto"
    quantization: Quantization | None = None
    trust_remote_code: bool = False


@define(eq=False)
class LoadedModel:
    """A tokenizer and model in memory, with the one worker thread that runs `generate`."""

    spec: LoadSpec
    tokenizer: Any
    model: Any
    device: str
    dtype: str
    parameters: int
    memory_bytes: int
    worker: ThreadPoolExecutor
    """One thread: generations on this model run one at a time, in order of arrival."""
    holders: int = 0
    queue: list[Any] = field(factory=list)
    """Jobs waiting for the worker (`generate.Job`), oldest first."""
    queue_lock: threading.Lock = field(factory=threading.Lock)

    @property
    def pad_token_id(self) -> int | None:
        """The id to pad batches with (the end-of-sequence one when the tokenizer has none)."""
        for value in (self.tokenizer.pad_token_id, self.tokenizer.eos_token_id):
            if value is not None:
                return int(value)
        return None

    def describe(self) -> str:
        """`Qwen/Qwen3-0.6B on cpu, float32, 596M parameters, 2.4 GB`."""
        return (
            f"{self.spec.model} on {self.device}, {self.dtype}, "
            f"{_human(self.parameters)} parameters, {self.memory_bytes / 1e9:.2f} GB"
        )


_loaded: dict[LoadSpec, LoadedModel] = {}
_registry_lock = threading.Lock()


def resolve_device(device: Device, torch: Any) -> str:
    """The device to run on: the GPU when there is one (CUDA, then Apple's MPS), else CPU."""
    if device != "auto":
        if device == "cuda" and not torch.cuda.is_available():
            raise ConfigurationError(
                "device='cuda' was asked for, but torch sees no CUDA GPU here "
                f"(torch {torch.__version__}); use device='auto' or 'cpu'",
                provider=_PROVIDER,
            )
        if device == "mps" and not _has_mps(torch):
            raise ConfigurationError(
                "device='mps' was asked for, but this machine has no Apple MPS device; "
                "use device='auto' or 'cpu'",
                provider=_PROVIDER,
            )
        return device
    if torch.cuda.is_available():
        return "cuda"
    return "mps" if _has_mps(torch) else "cpu"


def _has_mps(torch: Any) -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def _dtype(dtype: Dtype, device: str, torch: Any) -> Any:
    if dtype != "auto":
        return getattr(torch, dtype)
    if device == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device == "mps":
        return torch.float16
    return torch.float32


def _quantization_config(spec: LoadSpec, device: str, transformers: Any) -> Any:
    if spec.quantization is None:
        return None
    if device != "cuda":
        raise ConfigurationError(
            f"quantization={spec.quantization!r} needs a CUDA GPU and `bitsandbytes`; this "
            f"model would run on {device}. Drop `quantization=` to load it at full precision "
            "(llmkit never falls back to full precision silently), or run on a CUDA machine",
            provider=_PROVIDER,
        )
    require("bitsandbytes", extra="local")
    if spec.quantization == "8bit":
        return transformers.BitsAndBytesConfig(load_in_8bit=True)
    return transformers.BitsAndBytesConfig(load_in_4bit=True)


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _missing(spec: LoadSpec, exc: BaseException) -> ConfigurationError:
    """The error for a model that is neither a directory nor in the local Hugging Face cache."""
    if _looks_like_path(spec.model):
        folder = Path(spec.model).expanduser()
        if not folder.is_dir():
            what = "there is no such directory"
        elif not (folder / "config.json").is_file():
            what = "the directory holds no config.json"
        elif not any(folder.glob("*.safetensors")) and not any(folder.glob("*.bin")):
            what = "the directory holds no weights (*.safetensors or pytorch_model.bin)"
        else:
            what = f"it could not be read ({type(exc).__name__}: {str(exc)[:200]})"
        return ConfigurationError(
            f"No model at {spec.model!r}: {what}. Save one with `model.save_pretrained(dir)` "
            "and `tokenizer.save_pretrained(dir)`",
            provider=_PROVIDER,
        )
    home = os.environ.get("HF_HOME") or "~/.cache/huggingface"
    revision = f" --revision {spec.revision}" if spec.revision else ""
    why = "HF_HUB_OFFLINE is set" if _offline() else "the Hugging Face hub could not be reached"
    return ConfigurationError(
        f"Model {spec.model!r} is not in the local Hugging Face cache ({home}) and {why}. "
        f"Download it once with `hf download {spec.model}{revision}` (older hubs: "
        f"`huggingface-cli download {spec.model}`), or pass a local directory as `model=` "
        f"({type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''})",
        provider=_PROVIDER,
        model=spec.model,
    )


def _looks_like_path(model: str) -> bool:
    return model.startswith((".", "/", "~")) or os.sep in model.strip("/").replace("/", "", 1)


def _load(spec: LoadSpec) -> LoadedModel:
    torch = require("torch", extra="local")
    transformers = require("transformers", extra="local")
    device = resolve_device(spec.device, torch)
    quantization = _quantization_config(spec, device, transformers)
    source = str(Path(spec.model).expanduser()) if _looks_like_path(spec.model) else spec.model
    common: dict[str, Any] = {
        "revision": spec.revision,
        "trust_remote_code": spec.trust_remote_code,
        "local_files_only": _offline() or Path(source).is_dir(),
    }
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(source, **common)
        model = transformers.AutoModelForCausalLM.from_pretrained(
            source,
            dtype=_dtype(spec.dtype, device, torch),
            quantization_config=quantization,
            **common,
        )
    except OSError as exc:  # missing files, not cached, hub unreachable
        raise _missing(spec, exc) from None
    except ValueError as exc:  # an architecture transformers does not know, remote code refused
        raise ConfigurationError(
            f"transformers cannot load {spec.model!r}: {exc}", provider=_PROVIDER, model=spec.model
        ) from None
    if quantization is None:
        model = model.to(device)
    model.eval()
    loaded = LoadedModel(
        spec=spec,
        tokenizer=tokenizer,
        model=model,
        device=device,
        dtype=str(model.dtype).removeprefix("torch."),
        parameters=int(model.num_parameters()),
        memory_bytes=int(model.get_memory_footprint()),
        worker=ThreadPoolExecutor(max_workers=1, thread_name_prefix="llmkit-local"),
    )
    _log.info("llmkit: loaded %s", loaded.describe())
    return loaded


def acquire(spec: LoadSpec) -> LoadedModel:
    """The loaded model for `spec`, loading it if no provider in the process has yet.

    Blocking (loading reads weights from disk): call it from a worker thread.
    """
    with _registry_lock:
        loaded = _loaded.get(spec)
        if loaded is None:
            loaded = _loaded[spec] = _load(spec)
        loaded.holders += 1
        return loaded


def release(loaded: LoadedModel) -> bool:
    """Let go of `loaded`; the last holder frees its memory. True when it was freed."""
    with _registry_lock:
        loaded.holders -= 1
        if loaded.holders > 0:
            return False
        _loaded.pop(loaded.spec, None)
    # generations already queued finish first: the worker drains before it stops
    loaded.worker.shutdown(wait=True)
    loaded.model = None
    loaded.tokenizer = None
    _free_memory()
    _log.info("llmkit: unloaded %s", loaded.spec.model)
    return True


def _free_memory() -> None:
    import gc

    gc.collect()
    torch = require("torch", extra="local")
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _human(count: int) -> str:
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if count >= size:
            return f"{count / size:.1f}{unit}"
    return str(count)
