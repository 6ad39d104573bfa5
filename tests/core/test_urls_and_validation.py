"""Base URL checks and the input validators."""

from __future__ import annotations

import pytest

import signing_async as sa
from signing_async._core.sources import Blob
from signing_async._core.urls import check_base_url, is_loopback, same_origin
from signing_async._core.validation import (
    require_email,
    require_in_range,
    require_pdf,
    require_text,
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
