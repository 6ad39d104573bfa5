"""How DANAsign calls look on the wire: auth headers, errors, envelopes, pages.

Every namespace goes through :class:`DanaSignEndpoint`, so the details below live in one
place:

- ``/api/tokens/*`` routes take the API token as ``x-danassign-api-key`` (double
  "s", as the server spells it), ``/api/1.0/*`` routes as ``x-api-token``.
- Error answers map as :mod:`._errors` says (a 405 is usually a refused token).
- Answers come as ``{"data": ...}``, OpenSign's ``{"result": ...}``, a flat
  object or a bare array; :func:`unwrap` accepts them all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, TypeVar

from .._core.auth import HeaderAuth
from .._core.endpoint import ACCEPT_JSON, SEND_JSON, Endpoint
from .._core.errors import ResponseDecodeError, ValidationError
from .._core.pagination import AsyncPager, Page
from .._core.session import Call, CoreSession
from .._core.timeouts import Timeout
from .._core.transport import RequestBody
from .._core.validation import MAX_ID_LENGTH, require_string
from ._config import DanaSignConfig
from ._errors import ERRORS, PROVIDER

__all__ = [
    "DanaSignEndpoint",
    "Envelope",
    "normalize_signature_type",
    "unwrap",
]

T = TypeVar("T")

_TOKENS_PREFIX = "/api/tokens/"
_ENVELOPE_KEYS = ("data", "result")
_CONTAINERS = frozenset({dict, list})


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


class DanaSignEndpoint(Endpoint):
    """DANAsign's server: the auth header its route wants, envelopes unwrapped, pages."""

    def __init__(self, session: CoreSession, config: DanaSignConfig) -> None:
        super().__init__(
            session,
            provider=PROVIDER,
            base_url=config.base_url,
            errors=ERRORS,
            auth=HeaderAuth({"x-api-token": config.api_token}),
        )
        self._tokens_auth = HeaderAuth({"x-danassign-api-key": config.api_token})

    def request(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        query: Mapping[str, str | int] | None = None,
        body: RequestBody | None = None,
        timeout: Timeout | None = None,
        secret_answer: bool = False,
    ) -> Call:
        """Build one DANAsign call, JSON both ways; nothing is sent.

        Args:
            operation: What is done, for messages (``list contacts``).
            method: The HTTP method.
            path: The path under the server URL, already quoted.
            query: Query parameters.
            body: A JSON body.
            timeout: Overrides the client's timeouts.
            secret_answer: The answer carries a credential: never quote it in errors.
        """
        return self.call(
            operation,
            method,
            path,
            query=query,
            headers=ACCEPT_JSON if body is None else SEND_JSON,
            body=body if body is not None else b"",
            auth=self._tokens_auth if path.startswith(_TOKENS_PREFIX) else None,
            timeout=timeout,
            secret_answer=secret_answer,
        )

    def answer(
        self,
        call: Call,
        body: Any,
        cls: type[T],
        *,
        prepare: Callable[[Any], Any] | None = None,
    ) -> T:
        """Unwrap the answer to ``call`` and structure its content into ``cls``.

        Args:
            call: The call answered.
            body: The answer's JSON.
            cls: The model.
            prepare: Rewrites the content before decoding.
        """
        content = unwrap(body).content
        return self.decode(call, prepare(content) if prepare else content, cls)

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
            call = self.request(operation, "GET", path, query=params, timeout=timeout)
            answer = unwrap(await self.json(call))
            if not isinstance(answer.content, list):
                raise ResponseDecodeError(
                    f"{PROVIDER} {operation}: expected a list of items, "
                    f"got {type(answer.content).__name__}"
                )
            items = tuple(
                self.decode(call, prepare(item) if prepare else item, cls)
                for item in answer.content
            )
            return _page(items, answer.pagination, skip, limit)

        return AsyncPager(fetch, page_size=page_size, what=f"{PROVIDER} {operation}")
