"""Base URL checks and the input validators."""

from __future__ import annotations

import logging

import pytest

import signing_async as sa
from signing_async._core.error_mapping import ErrorMapper
from signing_async._core.session import Call, CoreSession
from signing_async._core.sources import Blob
from signing_async._core.urls import (
    check_base_url,
    is_loopback,
    path_segment,
    redact_url,
    same_origin,
)
from signing_async._core.validation import (
    require_email,
    require_id,
    require_in_range,
    require_pdf,
    require_string,
    require_text,
    shown,
)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("127.0.0.1", True),
        ("127.255.0.9", True),
        ("::1", True),
        ("[::1]", True),
        ("10.0.0.1", False),
        ("example.com", False),
        ("localhost.example.com", False),
        ("0.0.0.0", False),  # noqa: S104 - an input to classify, nothing binds
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_check_base_url() -> None:
    assert check_base_url("https://api.example.com/", "f") == "https://api.example.com"
    assert check_base_url("http://127.0.0.1:8080/x/", "f") == "http://127.0.0.1:8080/x"
    assert check_base_url("http://api.example.com", "f", allow_insecure=True)
    with pytest.raises(sa.ConfigurationError, match=r"f uses plain http:// for api\.example\.com"):
        check_base_url("http://api.example.com", "f")
    for bad in ("api.example.com", "ftp://api.example.com", "https:///path", "file:///etc"):
        with pytest.raises(sa.ConfigurationError, match="f must be an absolute http"):
            check_base_url(bad, "f")


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("https://a.example/x", "https://A.example:443/y?z", True),
        ("http://a.example", "http://a.example:80/", True),
        ("https://a.example", "http://a.example", False),
        ("https://a.example", "https://a.example:8443", False),
        ("https://a.example", "https://b.example", False),
        ("https://a.example", "https://a.example.evil.com", False),
    ],
)
def test_same_origin(a: str, b: str, same: bool) -> None:
    assert same_origin(a, b) is same


def test_require_text() -> None:
    assert require_text("x", "f") == "x"
    for bad in ("", "  \t", None, 3):
        with pytest.raises(sa.ValidationError, match="f: must be a non-empty string"):
            require_text(bad, "f")


@pytest.mark.parametrize("good", ["a@b.co", "ana.perez+x@mail.example.com", "ñ@ejemplo.es"])
def test_require_email_accepts(good: str) -> None:
    assert require_email(good, "email") == good


@pytest.mark.parametrize("bad", ["", "ana", "ana@", "@b.co", "a@b", "a b@c.co", "a@@b.co", 5])
def test_require_email_refuses(bad: object) -> None:
    with pytest.raises(sa.ValidationError) as caught:
        require_email(bad, "signers[0].email")
    assert caught.value.field == "signers[0].email"


def test_require_in_range() -> None:
    assert require_in_range(1, 1, 100, "page_size") == 1
    assert require_in_range(100, 1, 100, "page_size") == 100
    for bad in (0, 101, True, 2.0, "3", None):
        with pytest.raises(
            sa.ValidationError, match=r"page_size: must be an integer from 1 to 100"
        ):
            require_in_range(bad, 1, 100, "page_size")


def test_require_pdf(pdf_bytes: bytes) -> None:
    pdf = Blob("a.pdf", len(pdf_bytes), pdf_bytes[:16], data=pdf_bytes)
    assert require_pdf(pdf, "file") is pdf
    for head in (b"PDF-1.4", b" %PDF-1.4", b"%PDX", b"\x89PNG"):
        with pytest.raises(sa.ValidationError, match=r"file: x\.bin is not a PDF"):
            require_pdf(Blob("x.bin", len(head), head, data=head), "file")


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        ("", "non-empty"),
        (" ", "non-empty"),
        (".", "not an identifier"),
        ("..", "not an identifier"),
        ("a\x00b", "NUL"),
        ("a\tb", "control characters"),
        ("a\x9bb", "control characters"),  # C1: a CSI to a terminal
        ("x" * 1025, "at most 1024"),
        ("a\ud800b", "lone surrogate"),
        (42, "non-empty string"),
        (None, "non-empty string"),
    ],
)
def test_require_id_refuses(bad: object, problem: str) -> None:
    with pytest.raises(sa.ValidationError) as caught:
        require_id(bad, "template_id")
    assert caught.value.field == "template_id"
    assert problem in caught.value.problem


def test_path_segment_quotes_everything_else() -> None:
    assert path_segment("a/b?c#d%e f", "x") == "a%2Fb%3Fc%23d%25e%20f"
    assert path_segment("...", "x") == "..."  # only exactly . and .. move a path
    assert path_segment("ñandú", "x") == "%C3%B1and%C3%BA"
    assert path_segment("x" * 1024, "x") == "x" * 1024


@pytest.mark.parametrize("bad", ["a\ud800", "\udcff", "a\x00"])
def test_text_refuses_surrogates_and_nul(bad: str) -> None:
    for check in (require_text, require_string, require_email):
        with pytest.raises(sa.ValidationError) as caught:
            check(bad, "signers[0].name")
        assert caught.value.field == "signers[0].name"


def test_require_string_allows_empty_and_refuses_other_types() -> None:
    assert require_string("", "f") == ""
    assert require_string("multi\nline\ttext", "f") == "multi\nline\ttext"
    with pytest.raises(sa.ValidationError, match="f: must be a string, not list"):
        require_string(["x"], "f")


def test_messages_never_carry_huge_values() -> None:
    with pytest.raises(sa.ValidationError) as caught:
        require_in_range(10**5000, 1, 100, "page_size")  # repr() of it raises ValueError
    assert "cannot be shown" in str(caught.value)
    with pytest.raises(sa.ValidationError) as caught:
        require_email("x" * 100_000, "email")
    assert len(str(caught.value)) < 200
    assert shown("abc") == "'abc'"


@pytest.mark.parametrize(
    ("url", "logged"),
    [
        ("http://user:pw@host:8/a/b?x=1#f", "http://***@host:8/a/b"),
        ("https://h/x?token=t", "https://h/x"),
        ("http://a@b@c/p", "http://***@c/p"),
        ("http://u:p@h", "http://***@h"),
        ("https://h/contacts/a@b.co", "https://h/contacts/a@b.co"),  # an @ in the path stays
        ("not a url", "not a url"),
        ("http://[::1", "http://[::1"),  # unparsable: still no exception
    ],
)
def test_redact_url(url: str, logged: str) -> None:
    assert redact_url(url) == logged


async def test_the_session_logs_urls_without_userinfo(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="signing_async")
    session = CoreSession(
        sa.MockTransport(lambda request: sa.Response(200, content=b"{}")),
        retry=sa.RetryPolicy(),
        timeout=sa.Timeout(),
    )
    call = Call(
        "P", "get it", "GET", "https://me:pa55word@files.example/x?sig=s1", ErrorMapper("P")
    )
    assert await session.json(call) == {}
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "https://***@files.example/x" in logged
    assert "pa55word" not in logged
    assert "s1" not in logged


def test_a_call_refuses_a_timeout_of_the_wrong_type() -> None:
    with pytest.raises(sa.ValidationError, match="timeout: expected a Timeout or None, not float"):
        Call("P", "get it", "GET", "https://h/x", ErrorMapper("P"), timeout=3.0)  # type: ignore[arg-type]
