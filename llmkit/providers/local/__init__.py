"""Models in this Python process (extra `local`): no server, no key, no network.

`TransformersProvider` runs a Hugging Face causal language model with
`transformers` and `torch`; `SentenceTransformersProvider` embeds with
`sentence-transformers`. Both import their libraries on first use.
"""

from llmkit.providers.local.embed import SentenceTransformersProvider
from llmkit.providers.local.provider import TransformersProvider

__all__ = ["SentenceTransformersProvider", "TransformersProvider"]
