"""PostgreSQL URIs shown in messages and logs: never with a password, never raising."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signing_async._core.bulk._dsn import safe_dsn, without_passwords

SECRET = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1).map(
    lambda text: f"S3CRET-{text}"
)


@given(password=SECRET, where=st.sampled_from(["userinfo", "query", "sslpassword"]))
def test_a_password_is_shown_nowhere(password: str, where: str) -> None:
    encoded = quote(password, safe="")
    dsn = {
        "userinfo": f"postgresql://app:{encoded}@db1:5432,db2:5432/jobs?sslmode=require",
        "query": f"postgresql://app@db/jobs?sslmode=require&password={encoded}",
        "sslpassword": f"postgresql://app@db/jobs?sslpassword={encoded}&x=1",
    }[where]
    shown = safe_dsn(dsn)
    assert "S3CRET" not in shown
    assert shown.startswith("postgresql://app")
    # A driver's message quoting either form of it says neither.
    message = without_passwords(f"bad token {encoded!r} ({password})", dsn)
    assert "S3CRET" not in message


@given(text=st.text())
def test_anything_is_shown_without_raising(text: str) -> None:
    assert isinstance(safe_dsn(text), str)
    assert isinstance(safe_dsn(f"postgresql://{text}"), str)
    assert isinstance(without_passwords(text, f"postgresql://{text}"), str)


@pytest.mark.parametrize(
    ("dsn", "password"),
    [
        # libpq ends the userinfo at the last @ before the first /: ? and # are the password's.
        ("postgresql://app:Pa?ss#1@127.0.0.1:1/db", "Pa?ss#1"),
        # It decodes query keys, and reads a value to the end, # included.
        ("postgresql://app@db/jobs?%70assword=TopSecret", "TopSecret"),
        ("postgresql://app@db/jobs?password=Top#Secret", "Top#Secret"),
        ("postgresql://app@db?password=NoPath", "NoPath"),
    ],
)
def test_passwords_libpq_reads_are_hidden(dsn: str, password: str) -> None:
    assert password not in safe_dsn(dsn)
    assert without_passwords(f"failed: {password}!", dsn) == "failed: ***!"
