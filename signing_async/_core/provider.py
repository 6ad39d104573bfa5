"""What a provider is, in one object: :class:`Provider` and its :class:`BulkSpec` s.

Each provider package builds one :class:`Provider` and the package-level
registry (``signing_async._providers``) lists them; the client, the CLI, the
manifest reader and the sandbox read it instead of keeping tables of their
own. Nothing here knows a provider's name: the core only defines the shape.

A :class:`BulkSpec` turns into a namespace's ``*_many`` method through
:func:`run_many`: the key, the single-item call, the journal's encoding and
decoding, and the job's kind all come from the spec, so a namespace's bulk
method is one line.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import Any, Generic, TypeVar

import attrs

from .bulk import (
    DEFAULT_CONNECT_FAILURES,
    BulkOptions,
    BulkProgress,
    BulkRun,
    JournalOption,
    OnUncertain,
    call_arguments,
    journal_record,
    run_bulk,
    run_bulk_batches,
)
from .coerce import build
from .error_mapping import ErrorMapper
from .errors import ConfigurationError, ValidationError
from .serde import decode
from .validation import require_id

__all__ = ["BulkSpec", "Provider", "bulk_method", "field_key", "run_many"]

R = TypeVar("R")


@attrs.frozen
class BulkSpec(Generic[R]):
    """How one namespace sends many items: the wiring of its ``*_many`` method.

    Attributes:
        namespace: The namespace's attribute on the client (``"circuits"``).
        method: The bulk method's name (``"start_many"``).
        operation: The single-item method each item goes to (``"start"``);
            an item is its ``request_type`` or a mapping of its keyword
            arguments. A mapping is passed to it as it is, its keys checked
            first, and a request object spread into its fields: the method
            checks every value itself (as it does on a direct call), and
            accepts a mapping wherever ``request_type`` does.
        request_type: The attrs class naming the single-item call's
            arguments, with the call's defaults: its fields without a default
            are required in a mapping; the manifest reader derives file
            fields and CSV types from it.
        result_type: What the single-item call returns (decoded back from the journal).
        key: The item's natural key (None when it has none). It may raise
            :class:`ValidationError`, which fails the item.
        label: What is sent, in words (``"circuits"``, ``"OTP signatures"``).
        provider: The provider's display name; with ``label`` it names the job's kind.
        id_field: The result's field holding the provider's id (results files).
        load: Turns a journal record (parsed JSON) back into a result; a plain
            decode into ``result_type`` by default.
        batch: For an endpoint taking many items per request, the namespace
            method that sends one batch: it takes a sequence of
            ``request_type`` objects and returns, in order, each item's result
            or the exception that failed it. None sends items one by one
            through ``operation``.
        batch_size: Items per batch request, unless the caller says otherwise.
    """

    namespace: str
    method: str
    operation: str
    request_type: type[Any]
    result_type: type[R]
    key: Callable[[Any], str | None]
    label: str
    provider: str
    id_field: str
    load: Callable[[Any], R] | None = None
    batch: str | None = None
    batch_size: int = 1

    @property
    def kind(self) -> str:
        """The job's kind, kept in its journal (``"DANAconnect circuits"``)."""
        return f"{self.provider} {self.label}"

    @property
    def required(self) -> tuple[str, ...]:
        """The arguments an item's mapping must carry: the request fields without a default."""
        return tuple(
            field.name
            for field in attrs.fields(self.request_type)
            if field.default is attrs.NOTHING
        )

    def decode_result(self, stored: str) -> R:
        """A result recorded in the journal, as the single-item call returned it."""
        data = json.loads(stored)
        if self.load is not None:
            return self.load(data)
        return decode(data, self.result_type, what=f"a {self.kind} result recorded in the journal")


def run_many(
    namespace: object,
    spec: BulkSpec[R],
    items: Iterable[Any] | AsyncIterable[Any],
    options: BulkOptions,
    *,
    batch_size: int | None = None,
) -> BulkRun[R]:
    """The ``*_many`` method of ``namespace`` that ``spec`` describes, run on ``items``.

    Args:
        namespace: The namespace object whose ``spec.operation`` sends one
            item (or whose ``spec.batch`` sends a batch). It keeps its core
            endpoint as ``_endpoint``, as every namespace does: the run grows
            that endpoint's transport's connection pool to
            ``options.concurrency`` (see :func:`run_bulk`).
        spec: The wiring.
        items: Request objects or mappings of the single-item call's
            keyword arguments (:class:`~signing_async.InvalidItem` s are
            answered by the engine itself).
        options: Concurrency, journal, progress and the circuit breaker.
        batch_size: Items per batch request (``spec.batch`` only); the
            spec's ``batch_size`` when None.

    Returns:
        The run, to iterate.
    """
    common: dict[str, Any] = {
        "key": spec.key,
        "options": options,
        "encode_result": journal_record,
        "decode_result": spec.decode_result,
        "kind": spec.kind,
        # Read here, not passed in: no *_many method can forget to grow the pool.
        "transport": namespace._endpoint.transport,  # type: ignore[attr-defined]
    }
    if spec.batch is not None:
        send_batch: Callable[[list[Any]], Awaitable[Sequence[R | Exception]]] = getattr(
            namespace, spec.batch
        )
        return run_bulk_batches(
            items,
            send_batch=partial(_send_built, send_batch, spec.request_type),
            batch_size=spec.batch_size if batch_size is None else batch_size,
            **common,
        )
    single: Callable[..., Awaitable[R]] = getattr(namespace, spec.operation)

    async def send(item: Any) -> R:
        return await single(**call_arguments(item, spec.request_type))

    return run_bulk(items, send=send, **common)


async def _send_built(
    send_batch: Callable[[list[Any]], Awaitable[Sequence[R | Exception]]],
    request_type: type[Any],
    items: Sequence[Any],
) -> list[R | Exception]:
    """One batch's answers: items that do not build fail alone; the others go in one request."""
    answers: list[R | Exception | None] = []
    requests: list[Any] = []
    for item in items:
        try:
            requests.append(build(request_type, item, ""))
            answers.append(None)
        except ValidationError as exc:
            answers.append(exc)
    results = list(await send_batch(requests)) if requests else []
    if len(results) != len(requests):
        raise RuntimeError(f"{len(results)} answers for {len(requests)} items")
    sent = iter(results)
    return [next(sent) if answer is None else answer for answer in answers]


def bulk_method(spec: BulkSpec[R]) -> Callable[..., BulkRun[R]]:
    """A namespace's ``*_many`` method made from ``spec``, for a class body.

    Example:
        >>> class Cards:
        ...     create_many = bulk_method(CREATE_MANY)

    The namespace keeps its core endpoint as ``_endpoint`` (see :func:`run_many`).
    The method takes the items and the keywords of every ``*_many`` method
    (``concurrency``, ``journal``, ``on_uncertain``, ``progress``,
    ``stop_after_connect_failures``). The built-in namespaces spell theirs
    out, for their signatures and docstrings, and delegate to :func:`run_many`.
    """

    def many(
        self: object,
        items: Iterable[Any] | AsyncIterable[Any],
        *,
        concurrency: int = 8,
        journal: JournalOption = None,
        on_uncertain: OnUncertain = "report",
        progress: Callable[[BulkProgress], object] | None = None,
        stop_after_connect_failures: int | None = DEFAULT_CONNECT_FAILURES,
        job: str | None = None,
    ) -> BulkRun[R]:
        options = BulkOptions(
            concurrency=concurrency,
            journal=journal,
            on_uncertain=on_uncertain,
            progress=progress,
            stop_after_connect_failures=stop_after_connect_failures,
            job=job,
        )
        return run_many(self, spec, items, options)

    many.__name__ = spec.method
    many.__doc__ = f"Send many {spec.label}, each through ``{spec.operation}``, never one twice."
    return many


def field_key(request_type: type[Any], name: str) -> Callable[[Any], str]:
    """A key function reading the id field ``name`` of a request object or a mapping.

    The key is checked as an id (:func:`require_id`): a bad one fails its item.
    """

    def key(item: Any) -> str:
        if isinstance(item, request_type):
            return require_id(getattr(item, name), name)
        if isinstance(item, Mapping):
            return require_id(item.get(name), name)
        raise ValidationError(
            "item",
            f"expected a {request_type.__name__} or a mapping, not {type(item).__name__}",
        )

    return key


@attrs.frozen
class Provider:
    """Everything the rest of the house needs to know about one provider.

    Attributes:
        name: The ``SigningClient`` keyword argument and CLI name (``"danaconnect"``).
        display: The name messages use (``"DANAconnect"``).
        config: The config class ``SigningClient(name=...)`` takes.
        errors: The error mapping of its answers.
        env_prefix: The prefix of its environment variables (``"SIGNING_DANACONNECT_"``).
        env: Each config field read from the environment, and its variable's
            name after the prefix (``{"client_id": "CLIENT_ID", ...}``). The
            first is the switch: set, it turns the provider on in
            ``SigningClient.from_env``. A field without a default is required;
            an unset or empty variable leaves a field its default.
        namespaces: Each namespace's attribute on the client and class; the
            class is built with ``(session, config)``.
        bulk: The bulk methods of its namespaces.
    """

    name: str
    display: str
    config: type[Any]
    errors: ErrorMapper
    env_prefix: str
    env: Mapping[str, str]
    namespaces: Mapping[str, type[Any]]
    bulk: tuple[BulkSpec[Any], ...] = ()

    @property
    def argument(self) -> str:
        """How the client's constructor takes its config, for messages."""
        return f"{self.name}={self.config.__name__}"

    @property
    def env_switch(self) -> str:
        """The variable whose presence switches the provider on in ``SigningClient.from_env``."""
        return self.env_prefix + next(iter(self.env.values()))

    def config_from_env(self, env: Mapping[str, str]) -> Any:
        """Its config from ``env``, or None when its switch variable is not set.

        Raises:
            ConfigurationError: A required variable is unset or empty (the
                message names it), or the config refuses a value.
        """
        if not env.get(self.env_switch):
            return None
        optional = {
            field.name for field in attrs.fields(self.config) if field.default is not attrs.NOTHING
        }
        values: dict[str, str] = {}
        for field, suffix in self.env.items():
            name = self.env_prefix + suffix
            value = env.get(name)
            if value:
                values[field] = value
            elif field not in optional:
                raise ConfigurationError(f"environment variable {name} is not set")
        return self.config(**values)
