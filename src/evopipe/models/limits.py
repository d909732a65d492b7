"""Per-endpoint limits (concurrency semaphore + requests-per-minute token bucket) and a retry
wrapper that honours ``retry_after_s`` (HTTP ``Retry-After``) on retryable errors.

A :class:`Limiter` belongs to one hub and one endpoint; nothing here is process-global.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from types import TracebackType

from evopipe.models.base import (
    Model,
    ModelRequest,
    ModelResponse,
    ModelWrapper,
    RetryableModelError,
)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class TokenBucket:
    """``rate_per_minute`` tokens per minute, bursting up to ``capacity`` (default: 1 second's
    worth, at least one)."""

    def __init__(
        self,
        rate_per_minute: float,
        capacity: float | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.rate = rate_per_minute / 60.0
        self.capacity = capacity if capacity is not None else max(1.0, self.rate)
        self._tokens = self.capacity
        self._clock, self._sleep = clock, sleep
        self._last = clock()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = self._clock()
                self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
                self._last = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return
                await self._sleep((1.0 - self._tokens) / self.rate)


class Limiter:
    """``async with limiter:`` waits for a concurrency slot and a request token."""

    def __init__(
        self,
        concurrency: int | None = None,
        requests_per_minute: float | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.concurrency = concurrency
        self.requests_per_minute = requests_per_minute
        self._sem = asyncio.Semaphore(concurrency) if concurrency else None
        self._bucket = (
            TokenBucket(requests_per_minute, clock=clock, sleep=sleep)
            if requests_per_minute
            else None
        )
        self.in_flight = 0
        self.max_in_flight = 0

    async def __aenter__(self) -> Limiter:
        if self._sem is not None:
            await self._sem.acquire()
        try:
            if self._bucket is not None:
                await self._bucket.acquire()
        except BaseException:
            if self._sem is not None:
                self._sem.release()
            raise
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.in_flight -= 1
        if self._sem is not None:
            self._sem.release()


def parse_retry_after(headers: object) -> float | None:
    """Seconds from ``retry-after-ms`` / ``retry-after`` (seconds or an HTTP date)."""
    get = getattr(headers, "get", None)
    if get is None:
        return None
    millis = get("retry-after-ms")
    if millis:
        try:
            return float(millis) / 1000.0
        except ValueError:
            pass
    value = get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class RetryingModel(ModelWrapper):
    """Retries :class:`RetryableModelError` up to ``attempts`` times in total.

    The delay is the error's ``retry_after_s`` when given (capped at ``max_delay_s``), otherwise
    exponential backoff with jitter from ``base_delay_s``.
    """

    def __init__(
        self,
        inner: Model,
        *,
        attempts: int = 3,
        base_delay_s: float = 0.5,
        max_delay_s: float = 30.0,
        sleep: Sleep = asyncio.sleep,
        seed: int | None = None,
    ) -> None:
        super().__init__(inner)
        self.attempts = max(1, attempts)
        self.base_delay_s, self.max_delay_s = base_delay_s, max_delay_s
        self._sleep = sleep
        self._rng = random.Random(seed)
        self.delays: list[float] = []

    async def complete(self, request: ModelRequest) -> ModelResponse:
        for attempt in range(1, self.attempts + 1):
            try:
                return await self.inner.complete(request)
            except RetryableModelError as exc:
                if attempt == self.attempts:
                    raise
                delay = self._delay(exc, attempt)
                self.delays.append(delay)
                await self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _delay(self, exc: RetryableModelError, attempt: int) -> float:
        if exc.retry_after_s is not None:
            return min(self.max_delay_s, exc.retry_after_s)
        backoff = self.base_delay_s * float(2 ** (attempt - 1))
        return min(self.max_delay_s, backoff * (0.5 + self._rng.random() / 2))
