"""The ``redact`` hook: a last line of defence so registered secrets never reach the database.

The engine scrubs secrets before it emits events; the store additionally passes every string it
writes (run inputs, outputs, errors, event payloads, cache values, blob bytes) through the hook
given to :meth:`Store.open`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

Redact = Callable[[str], str]
"""A hook mapping a string to its redacted form."""

MASK = "[REDACTED]"
MIN_SECRET_LENGTH = 4
"""Shorter values are not registered: masking them would mangle ordinary text."""

SECRET_ENV_NAME = re.compile(
    r"(API_?KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|PRIVATE_?KEY|ACCESS_?KEY)", re.IGNORECASE
)
"""Environment variable names whose values :meth:`SecretRedactor.from_environ` registers."""
MIN_ENV_SECRET_LENGTH = 8


class SecretRedactor:
    """Replaces every registered secret value by ``[REDACTED]``.

    >>> r = SecretRedactor(["sk-123456"])
    >>> r("key=sk-123456")
    'key=[REDACTED]'
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: list[str] = []
        for secret in secrets:
            self.register(secret)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> SecretRedactor:
        """A redactor for the values of secret-looking variables (``*_API_KEY``, ``*TOKEN*``,
        ``*SECRET*``, ``*PASSWORD*``, ...) of ``environ`` that are at least 8 characters long.

        Faces pass ``os.environ``: ``Store.open(url, redact=SecretRedactor.from_environ(
        os.environ))``.
        """
        redactor = cls()
        for name, value in environ.items():
            if SECRET_ENV_NAME.search(name) and len(value) >= MIN_ENV_SECRET_LENGTH:
                redactor.register(value)
        return redactor

    def __len__(self) -> int:
        return len(self._secrets)

    def register(self, secret: str) -> None:
        """Mask ``secret`` from now on (values shorter than 4 characters are ignored)."""
        if len(secret) >= MIN_SECRET_LENGTH and secret not in self._secrets:
            self._secrets.append(secret)
            self._secrets.sort(key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text


def redact_value(value: Any, redact: Redact) -> Any:
    """Apply ``redact`` to every string (keys included) inside a JSON-like value."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_value(k, redact): redact_value(v, redact) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v, redact) for v in value]
    return value


def redact_bytes(data: bytes, redact: Redact) -> bytes:
    """Apply ``redact`` to UTF-8 text; other bytes are returned unchanged."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data
    redacted = redact(text)
    return data if redacted == text else redacted.encode("utf-8")


def redact_params(params: Any, redact: Redact) -> Any:
    """Apply ``redact`` to every string and UTF-8 byte string of DB-API parameters (a tuple,
    a dict, or a list of them for ``executemany``)."""
    if isinstance(params, str):
        return redact(params)
    if isinstance(params, bytes):
        return redact_bytes(params, redact)
    if isinstance(params, dict):
        return {k: redact_params(v, redact) for k, v in params.items()}
    if isinstance(params, tuple):
        return tuple(redact_params(v, redact) for v in params)
    if isinstance(params, list):
        return [redact_params(v, redact) for v in params]
    return params


def redacting_listener(redact: Redact) -> Callable[..., tuple[str, Any]]:
    """A SQLAlchemy ``before_cursor_execute`` hook (``retval=True``) masking every parameter
    bound through the engine: the last line of defence for the areas' own tables."""

    def listener(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> tuple[str, Any]:
        return statement, redact_params(parameters, redact)

    return listener
