"""How DANAsign calls look on the wire: auth headers, errors, envelopes, pages.

Every namespace goes through :class:`Wire`, so the details below live in one
place:

- ``/api/tokens/*`` routes take the API token as ``x-danassign-api-key`` (double
  "s", as the server spells it), ``/api/1.0/*`` routes as ``x-api-token``.
- 405 means a missing or invalid token (an authentication error), unless it
  is a real "method not allowed": one with an ``Allow`` header (HTTP requires
  it there; the token refusal has none) or saying so in its text. Error bodies
  are ``{"error": ...}`` or ``{"message": ...}``.
- Answers come as ``{"data": ...}``, OpenSign's ``{"result": ...}``, a flat
  object or a bare array; :func:`unwrap` accepts them all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NamedTuple, TypeVar
from urllib.parse import urlencode

import attrs

from .._core.auth import HeaderAuth
from .._core.error_mapping import ErrorMapper
from .._core.errors import APIError, AuthenticationError, ResponseDecodeError, ValidationError
from .._core.pagination import AsyncPager, Page
from .._core.serde import decode
from .._core.session import Call, CoreSession
from .._core.timeouts import Timeout
from .._core.transport import RequestBody, Transport
from .._core.validation import MAX_ID_LENGTH, require_string
from ._config import DanaSignConfig

__all__ = [
    "ERRORS",
    "PROVIDER",
    "Envelope",
    "Wire",
    "normalize_signature_type",
    "unwrap",
]

T = TypeVar("T")

PROVIDER = "DANAsign"


@attrs.frozen
class _Errors(ErrorMapper):
    """DANAsign's mapping, which tells its token refusal from a real 405."""

    def error(
        self, operation: str, status: int, headers: Mapping[str, str], body: bytes
    ) -> APIError:
        """The exception for an error answer (see the module's notes on 405)."""
        error = super().error(operation, status, headers, body)
        if status == 405 and ("Allow" in headers or "method not allowed" in error.message.lower()):
            return _HTTP_MEANINGS.error(operation, status, headers, body)
        return error


_HTTP_MEANINGS = ErrorMapper(PROVIDER)
ERRORS = _Errors(PROVIDER, statuses={405: AuthenticationError})

_TOKENS_PREFIX = "/api/tokens/"
_ENVELOPE_KEYS = ("data", "result")
_CONTAINERS = frozenset({dict, list})
# Shared by every call and never changed (the session copies them). Plain
# dicts: the session merges them on every request, and a read-only proxy
# merges several times slower.
_ACCEPT_JSON: Mapping[str, str] = {"Accept": "application/json"}
_SEND_JSON: Mapping[str, str] = {"Accept": "application/json", "Content-Type": "application/json"}


class Envelope(NamedTuple):
    """An answer with its envelope removed.

    Attributes:
        content: The payload: an object or a list.
        pagination: The ``pagination`` object found beside it, if any.
    """

    content: Any
    pagination: Mapping[str, Any] | None = None


def unwrap(body: Any) -> Envelope:
    """Strip ``{"data": ...}`` / ``{"result": ...}`` envelopes, keeping any pagination.

    Envelopes may nest (a Parse function's ``{"result": {"data": [...],
    "pagination": {...}}}``); a flat object or a bare array is its own content.
    """
    pagination: Mapping[str, Any] | None = None
    # A few levels at most: the documented shapes nest at most twice. Exact
    # type checks and operators, not isinstance and .get(): this is decoded
    # JSON, and it runs on every answer.
    for _ in range(3):
        if type(body) is not dict:
            break
        if "pagination" in body and type(body["pagination"]) is dict:
            pagination = body["pagination"]
        for key in _ENVELOPE_KEYS:
            if key in body and type(body[key]) in _CONTAINERS:
                body = body[key]
                break
        else:
            break
    return Envelope(body, pagination)


def normalize_signature_type(item: Any) -> Any:
    """Rewrite ``SignatureType`` as a list of enabled names.

    DANAsign sends ``["draw"]``; OpenSign sends ``[{"name": "draw", "enabled": true}]``.
    """
    if not isinstance(item, Mapping):
        return item
    result = dict(item)
    for key, value in item.items():
        if str(key).replace("_", "").lower() != "signaturetype":
            continue
        entries = [value] if isinstance(value, str | Mapping) else value
        if not isinstance(entries, list):
            continue
        names: list[str] = []
        for entry in entries:
            if isinstance(entry, str):
                names.append(entry)
            elif isinstance(entry, Mapping) and entry.get("enabled", True) and entry.get("name"):
                names.append(str(entry["name"]))
        result[key] = names
    return result


def _page(
    items: tuple[T, ...], pagination: Mapping[str, Any] | None, skip: int, limit: int
) -> Page[T]:
    total_value = pagination.get("total") if pagination is not None else None
    total = (
        total_value if isinstance(total_value, int) and not isinstance(total_value, bool) else None
    )
    has_more_value = pagination.get("hasMore") if pagination is not None else None
    if isinstance(has_more_value, bool):
        has_more = has_more_value
    elif total is not None:
        has_more = skip + len(items) < total
    else:
        # No pagination object (documentlist answers a bare array): a full
        # page may be followed by more, a short one is the last.
        has_more = len(items) >= limit
    return Page(items, total, has_more)


class Wire:
    """Sends DANAsign calls with the right auth header and unwraps the answers."""

    def __init__(self, session: CoreSession, config: DanaSignConfig) -> None:
        self._session = session
        self._base = config.base_url
        self._tokens_auth = HeaderAuth({"x-danassign-api-key": config.api_token})
        self._api_auth = HeaderAuth({"x-api-token": config.api_token})

    @property
    def transport(self) -> Transport:
        """The client's transport (a bulk run sizes its connection pool)."""
        return self._session.transport

    def call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        query: Mapping[str, str | int] | None = None,
        body: RequestBody | None = None,
        timeout: Timeout | None = None,
        secret_answer: bool = False,
    ) -> Awaitable[Any]:
        """Perform one call; awaited, it gives the answer's JSON, envelope and all.

        :meth:`answer` unwraps and decodes it. (A plain method returning the
        session's coroutine, not a coroutine of its own: a request resumes
        several times, each time through every coroutine awaiting it.)

        Args:
            operation: What is done, for messages (``list contacts``).
            method: The HTTP method.
            path: The path under the server URL, already quoted.
            query: Query parameters.
            body: A JSON body.
            timeout: Overrides the client's timeouts.
            secret_answer: The answer carries a credential: never quote it in errors.
        """
        url = f"{self._base}{path}"
        if query:
            url = f"{url}?{urlencode(query)}"
        call = Call(
            PROVIDER,
            operation,
            method,
            url,
            ERRORS,
            headers=_ACCEPT_JSON if body is None else _SEND_JSON,
            body=body if body is not None else b"",
            auth=self._tokens_auth if path.startswith(_TOKENS_PREFIX) else self._api_auth,
            timeout=timeout,
            secret_answer=secret_answer,
        )
        return self._session.json(call)

    def answer(
        self,
        body: Any,
        cls: type[T],
        operation: str,
        *,
        prepare: Callable[[Any], Any] | None = None,
    ) -> T:
        """Unwrap an answer from :meth:`call` and structure its content into ``cls``.

        Args:
            body: The answer's JSON.
            cls: The model.
            operation: What was done, for messages.
            prepare: Rewrites the content before decoding.
        """
        content = unwrap(body).content
        return decode(prepare(content) if prepare else content, cls, what=f"{PROVIDER} {operation}")

    def decode(self, data: Any, cls: type[T], operation: str) -> T:
        """Structure one answer object into ``cls``."""
        return decode(data, cls, what=f"{PROVIDER} {operation}")

    def pager(
        self,
        operation: str,
        path: str,
        cls: type[T],
        *,
        page_size: int,
        query: Mapping[str, str] | None = None,
        prepare: Callable[[Any], Any] | None = None,
        timeout: Timeout | None = None,
    ) -> AsyncPager[T]:
        """A pager over a ``limit``/``skip`` listing.

        Args:
            operation: What is listed, for messages.
            path: The listing's path.
            cls: The item model.
            page_size: The ``limit`` of each request (validated here, 1..100).
            query: Extra query parameters (``search``), each named after the
                caller's argument; checked here, at once.
            prepare: Rewrites each raw item before decoding.
            timeout: Overrides the client's timeouts.

        Raises:
            ValidationError: A query value is not a string (``search=["x"]``
                would be sent as ``"['x']"``), is not text, or is over 1 KiB.
        """
        for name, value in (query or {}).items():
            if len(require_string(value, name)) > MAX_ID_LENGTH:
                raise ValidationError(name, f"must be at most {MAX_ID_LENGTH} characters long")

        async def fetch(skip: int, limit: int) -> Page[T]:
            params: dict[str, str | int] = {"limit": limit, "skip": skip, **(query or {})}
            answer = unwrap(await self.call(operation, "GET", path, query=params, timeout=timeout))
            if not isinstance(answer.content, list):
                raise ResponseDecodeError(
                    f"{PROVIDER} {operation}: expected a list of items, "
                    f"got {type(answer.content).__name__}"
                )
            items = tuple(
                self.decode(prepare(item) if prepare else item, cls, operation)
                for item in answer.content
            )
            return _page(items, answer.pagination, skip, limit)

        return AsyncPager(fetch, page_size=page_size, what=f"{PROVIDER} {operation}")
