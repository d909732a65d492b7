"""The LLM layer: the :class:`Model` protocol, the hub resolving model ids, test models,
prices and the response cache."""

from evopipe.models.base import (
    Capabilities,
    InvalidOutputError,
    Message,
    Model,
    ModelError,
    ModelRequest,
    ModelResponse,
    ModelTimeoutError,
    ModelWrapper,
    RateLimitedError,
    RetryableModelError,
    ServerError,
    StreamingModel,
    ToolCall,
    ToolSpec,
    UnknownModelError,
    Usage,
)
from evopipe.models.cache import CachedModel, CachePolicy, InMemoryCache, ResponseCacheBackend
from evopipe.models.config import EndpointConfig, ModelsConfig, load_config
from evopipe.models.hub import ModelHub

__all__ = [
    "CachePolicy",
    "CachedModel",
    "Capabilities",
    "EndpointConfig",
    "InMemoryCache",
    "InvalidOutputError",
    "Message",
    "Model",
    "ModelError",
    "ModelHub",
    "ModelRequest",
    "ModelResponse",
    "ModelTimeoutError",
    "ModelWrapper",
    "ModelsConfig",
    "RateLimitedError",
    "ResponseCacheBackend",
    "RetryableModelError",
    "ServerError",
    "StreamingModel",
    "ToolCall",
    "ToolSpec",
    "UnknownModelError",
    "Usage",
    "load_config",
]
