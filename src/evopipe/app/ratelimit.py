"""Rate limits: a token bucket per API key and one per tenant; a request spends one token
from each. A refusal says when to retry and how the limits stand (the ``RateLimit`` and
``RateLimit-Policy`` fields of the IETF draft).

>>> limiter = RateLimiter(Rate(2, 1.0), Rate(100, 10.0))
>>> [limiter.take("k", "t").allowed for _ in range(3)]
[True, True, False]
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rate:
    """``burst`` tokens at most, refilled at ``per_s`` tokens a second."""

    burst: int
    per_s: float

    @property
    def window_s(self) -> int:
        """The time to refill a whole bucket (the policy's ``w``)."""
        return max(1, math.ceil(self.burst / self.per_s))


@dataclass
class _Bucket:
    tokens: float
    at: float


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_s: int
    """Seconds until a refused request would be admitted (0 when allowed)."""
    remaining: int
    """Tokens left in the tighter bucket."""
    reset_s: int
    """Seconds until the tighter bucket is full again."""
    policy: str
    scope: str

    def headers(self) -> dict[str, str]:
        out = {
            "RateLimit-Policy": self.policy,
            "RateLimit": f'"{self.scope}";r={self.remaining};t={self.reset_s}',
        }
        if not self.allowed:
            out["Retry-After"] = str(self.retry_after_s)
        return out


@dataclass
class RateLimiter:
    per_key: Rate
    per_tenant: Rate
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[tuple[str, str], _Bucket] = field(default_factory=dict)

    def _fill(self, scope: str, ident: str, rate: Rate, now: float) -> _Bucket:
        bucket = self._buckets.get((scope, ident))
        if bucket is None:
            bucket = self._buckets[(scope, ident)] = _Bucket(float(rate.burst), now)
        bucket.tokens = min(rate.burst, bucket.tokens + (now - bucket.at) * rate.per_s)
        bucket.at = now
        return bucket

    def take(self, key: str, tenant: str) -> Decision:
        """Spend one token from the key's and the tenant's bucket, or refuse (spending none)."""
        now = self.clock()
        pairs = [
            ("key", self._fill("key", key, self.per_key, now), self.per_key),
            ("tenant", self._fill("tenant", tenant, self.per_tenant, now), self.per_tenant),
        ]
        allowed = all(b.tokens >= 1.0 for _, b, _ in pairs)
        if allowed:
            for _, bucket, _ in pairs:
                bucket.tokens -= 1.0
        scope, bucket, rate = min(pairs, key=lambda p: p[1].tokens / p[2].burst)
        wait = max((1.0 - b.tokens) / r.per_s for _, b, r in pairs)
        policy = ", ".join(f'"{s}";q={r.burst};w={r.window_s}' for s, _, r in pairs)
        return Decision(
            allowed=allowed,
            retry_after_s=0 if allowed else max(1, math.ceil(wait)),
            remaining=int(bucket.tokens),
            reset_s=math.ceil((rate.burst - bucket.tokens) / rate.per_s),
            policy=policy,
            scope=scope,
        )
