"""A real PostgreSQL for the fleet tests: one server per session, a fresh database per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from .postgres import LocalPostgres


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The DSN of the session's server (database ``postgres``); stopped and deleted at the end."""
    server = LocalPostgres()
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def dsn(postgres_server: str) -> str:
    """The DSN of a database made for this test alone."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")  # a fresh name, not input
    return postgres_server.replace("/postgres?", f"/{name}?")
