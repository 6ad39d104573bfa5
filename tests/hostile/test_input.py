"""Careless and hostile input: refused before anything is sent, with the field's name.

Two halves:

- against a raw loopback server (``HostileServer``, the real aiohttp
  transport, which normalises ``.`` and ``..`` in paths as any HTTP client
  does): ids that would change the route, and download targets that cannot
  be written, send nothing at all, so a one-shot storage URL stays unspent;
- a property test (Hypothesis) throwing generated text (lone surrogates,
  NUL, control characters) and wrong types at every public method's
  arguments through a ``MockTransport`` that fails the test if anything is
  sent for input that must be refused: only ``ValidationError`` or success
  may come out, never a raw ``UnicodeEncodeError``, ``TypeError`` or
  ``ValueError``.
"""

from __future__ import annotations

import asyncio
import functools
import io
import json
import logging
import math
import os
import re
import sys
import zipfile
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import signing_async as sa
from signing_async.transports import RecordedRequest

from ..conftest import MINIMAL_PDF
from .server import HostileServer, RawRequest, answer, answer_json

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64 + b"\xff\xd9"
PASSWORD = "hunter2-userinfo"
ROOT = Path(__file__).resolve().parents[2]


def zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("signed.pdf", MINIMAL_PDF)
    return out.getvalue()


ZIP = zip_bytes()


def configs(url: str) -> dict[str, Any]:
    return {
        "danasign": sa.DanaSignConfig(server_url=url, api_token="tok-input"),
        "danaconnect": sa.DanaConnectConfig(
            client_id="cid",
            client_secret="csecret",
            channel="acme",
            base_url=url,
            download_base_url=url,
        ),
        "sofia": sa.SofiaConfig(
            client_id="sid", client_secret="ssecret", tenant_id="empresa-1", base_url=url
        ),
    }


# --- ids that would change the route, against a real server -----------------------------

BAD_IDS = ["", "  ", ".", "..", "a\x00b", "a\nb", "a\rb", "\x7f", "\x85", "x" * 1025, "a\ud800b"]

IdCall = Callable[[sa.SigningClient, Any, Path], Awaitable[object]]

ID_CALLS: dict[str, tuple[str, IdCall]] = {
    "templates.get": ("template_id", lambda c, v, _: c.templates.get(v)),
    "documents.create_from_template": (
        "template_id",
        lambda c, v, _: c.documents.create_from_template(
            v, signers=[{"role": "Client", "name": "Ana", "email": "ana@example.com"}]
        ),
    ),
    "documents.list": ("status", lambda c, v, _: c.documents.list(v).first_page()),
    "circuits.download_to": ("circuit_id", lambda c, v, d: c.circuits.download_to(v, d / "s.zip")),
    "circuits.start": (
        "id",
        lambda c, v, _: c.circuits.start(
            id=v, signer={"name": "Ana", "email": "ana@example.com", "nif": "1"}, docs=MINIMAL_PDF
        ),
    ),
    "otp_signatures.sign": ("transaction_id", lambda c, v, _: c.otp_signatures.sign(v, "123456")),
    "otp_signatures.create": (
        "transaction_id",
        lambda c, v, _: c.otp_signatures.create(
            transaction_id=v,
            user_selfie=JPEG,
            image_front=JPEG,
            document_sign=MINIMAL_PDF,
            phone="+34600000000",
            email="ana@example.com",
        ),
    ),
}


async def refuse_everything(request: RawRequest, writer: asyncio.StreamWriter) -> None:
    await answer_json(writer, 500, b'{"error": "nothing should have been sent"}')


@pytest.mark.parametrize("bad", BAD_IDS, ids=repr)
@pytest.mark.parametrize("method", sorted(ID_CALLS))
async def test_an_id_that_would_change_the_route_sends_nothing(
    tmp_path: Path, method: str, bad: str
) -> None:
    field, call = ID_CALLS[method]
    async with HostileServer(refuse_everything) as server:
        async with sa.SigningClient(**configs(server.url)) as client:
            with pytest.raises(sa.ValidationError) as caught:
                await call(client, bad, tmp_path)
        assert server.requests == []  # not even the token request
    assert caught.value.field == field
    assert os.listdir(tmp_path) == []


async def test_an_id_with_slashes_and_marks_is_percent_encoded_not_refused() -> None:
    async def template(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        await answer_json(writer, 200, b'{"objectId": "t-1"}')

    async with (
        HostileServer(template) as server,
        sa.SigningClient(danasign=configs(server.url)["danasign"]) as client,
    ):
        found = await client.templates.get("a/b?c#d%e .x")
    assert found.object_id == "t-1"
    assert [r.target for r in server.requests] == ["/api/1.0/template/a%2Fb%3Fc%23d%25e%20.x"]


# --- download targets, checked before the one-shot URL is spent --------------------------


class OneShot:
    """A storage URL that serves its file once, then 404: what a signed URL often is."""

    def __init__(self, content: bytes, content_type: str) -> None:
        self.content = content
        self.content_type = content_type
        self.gets = 0

    async def __call__(self, request: RawRequest, writer: asyncio.StreamWriter) -> None:
        if request.path.endswith("/oauth2/token"):
            await answer_json(writer, 200, b'{"access_token": "at-1", "expires_in": 3600}')
            return
        self.gets += 1
        if self.gets > 1:
            await answer_json(writer, 404, b'{"error": "this link was used already"}')
            return
        await answer(writer, 200, self.content, {"Content-Type": self.content_type})


def unwritable_targets(root: Path) -> Iterator[tuple[object, str]]:
    """Targets that cannot be written, with what the error must say. Root ignores
    permissions, so each is impossible for another reason."""
    (root / "a-file").write_bytes(b"not a folder")
    (root / "a-folder").mkdir()
    yield (
        root / "missing" / "out.bin",
        f"the folder of {root / 'missing' / 'out.bin'} does not exist",
    )
    yield root / "a-file" / "out.bin", f"{root / 'a-file'} is not a folder"
    yield root / "a-folder", f"{root / 'a-folder'} is a folder"
    yield str(root / "out\x00.bin"), "NUL"
    yield 42, "expected a path, not int"
    yield root / ("n" * 300), "cannot write"  # longer than a file name may be


@pytest.mark.parametrize("provider", ["circuits", "otp_signatures"])
async def test_a_target_that_cannot_be_written_is_refused_before_the_one_shot_url_is_used(
    tmp_path: Path, provider: str
) -> None:
    content, kind = (
        (ZIP, "application/zip")
        if provider == "circuits"
        else (
            MINIMAL_PDF,
            "application/pdf",
        )
    )
    shot = OneShot(content, kind)
    async with HostileServer(shot) as server, sa.SigningClient(**configs(server.url)) as client:

        async def download(target: Any) -> sa.DownloadedFile:
            if provider == "circuits":
                return await client.circuits.download_to("658936", target)
            return await client.otp_signatures.download_signed(
                f"{server.url}/bucket/signed.pdf?sig=abc", target
            )

        for target, problem in list(unwritable_targets(tmp_path)):
            with pytest.raises(sa.ValidationError) as caught:
                await download(target)
            assert caught.value.field == "path"
            assert problem in caught.value.problem
            assert ".part" not in str(caught.value)  # never the temporary file
        assert shot.gets == 0

        done = await download(tmp_path / "signed.bin")  # the link still works
    assert shot.gets == 1
    assert (tmp_path / "signed.bin").read_bytes() == content
    assert done.size == len(content)
    assert sorted(os.listdir(tmp_path)) == ["a-file", "a-folder", "signed.bin"]


async def test_a_failed_download_leaves_no_temporary_file(tmp_path: Path) -> None:
    # Created before the request, the temporary file goes when the request fails.
    async with (
        HostileServer(refuse_everything) as server,
        sa.SigningClient(
            sofia=configs(server.url)["sofia"], retry=sa.RetryPolicy(max_retries=0)
        ) as client,
    ):
        with pytest.raises(sa.ServerError):
            await client.otp_signatures.download_signed(f"{server.url}/x.pdf", tmp_path / "x.pdf")
    assert os.listdir(tmp_path) == []


# --- URL userinfo never reaches a log line or a message ----------------------------------


async def test_url_userinfo_is_redacted_in_logs_and_messages(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []

    async def storage(request: RawRequest, writer: asyncio.StreamWriter) -> None:
        seen.append(request.headers.get("authorization", ""))
        await answer_json(writer, 404, b'{"message": "no such file"}')

    caplog.set_level(logging.DEBUG)
    async with HostileServer(storage) as server:
        # Another origin than the API's (localhost, not 127.0.0.1): a storage host
        # whose URL carries its own user:password, used as given.
        url = server.url.replace("http://127.0.0.1", f"http://reader:{PASSWORD}@localhost")
        async with sa.SigningClient(sofia=configs(server.url)["sofia"]) as client:
            with pytest.raises(sa.SigningError) as caught:
                await client.otp_signatures.download_signed(f"{url}/f.pdf?t=t0k", tmp_path / "f")
    assert len(seen) == 1
    assert seen[0].startswith("Basic ")  # the URL's own credentials were used
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "***@localhost" in logged  # the attempt was logged, its userinfo replaced
    assert PASSWORD not in logged
    assert "t0k" not in logged
    assert PASSWORD not in str(caught.value)
    assert os.listdir(tmp_path) == []


async def test_url_userinfo_for_the_apis_own_host_is_refused_unsent(tmp_path: Path) -> None:
    async with HostileServer(refuse_everything) as server:
        url = server.url.replace("http://", f"http://reader:{PASSWORD}@") + "/f.pdf"
        async with sa.SigningClient(sofia=configs(server.url)["sofia"]) as client:
            with pytest.raises(sa.ValidationError) as caught:
                await client.otp_signatures.download_signed(url, tmp_path / "f.pdf")
        assert server.requests == []
    assert caught.value.field == "signature_or_url"
    assert PASSWORD not in str(caught.value)


# --- the property: only ValidationError or success, and nothing sent when refused -------


def reply(data: Any) -> sa.Response:
    return sa.Response(
        200, headers={"Content-Type": "application/json"}, content=json.dumps(data).encode()
    )


def answer_for(request: RecordedRequest) -> sa.Response:
    """A documented answer for every route the public methods use."""
    path = request.url.split("?", 1)[0]
    if path.endswith("/oauth2/token"):
        return reply({"access_token": "at-1", "expires_in": 3600})
    if "/start_circuit/" in path:
        return reply({"circuitId": "658936", "link": "https://sign.example/658936"})
    if "/document_circuit/" in path:
        return sa.Response(200, headers={"Content-Type": "application/zip"}, content=ZIP)
    if path.endswith("/api/1.0/contacts/batch"):
        return reply({"success": 1, "failed": 0})
    if path.endswith("/api/1.0/contacts") and request.method == "POST":
        return reply({"objectId": "c-1"})
    if path.endswith(("/api/1.0/contacts", "/api/1.0/templates")) or "/documentlist/" in path:
        return reply({"data": [], "pagination": {"total": 0, "hasMore": False}})
    if "/api/1.0/template/" in path:
        return reply({"objectId": "t-1"})
    if "/api/1.0/createdocument" in path:
        return reply({"documentId": "d-1", "status": "sent"})
    if path.endswith("/create_signature"):
        return reply({"transaction_id": "t", "status": "PENDING_OTP"})
    if path.endswith("/sign_document"):
        return reply({"transaction_id": "t", "status": "SIGNED", "signed_document_url": "/s.pdf"})
    return sa.Response(200, headers={"Content-Type": "application/pdf"}, content=MINIMAL_PDF)


Kind = str
"""How a slot's value is judged: see :func:`must_refuse`."""

SIGNER = {"role": "Client", "name": "Ana", "email": "ana@example.com"}
WIDGET = {"type": "signature", "page": 1, "x": 10, "y": 10, "w": 100, "h": 30}


def baseline(method: str, folder: Path) -> dict[str, Any]:
    """Valid keyword arguments for ``method``: fresh mutable containers every time."""
    pdf = folder / "in" / "contract.pdf"
    every: dict[str, dict[str, Any]] = {
        "contacts.create": {"name": "Ana", "email": "ana@example.com", "phone": "+34600000000"},
        "contacts.create_batch": {"contacts": [{"name": "Ana", "email": "ana@example.com"}]},
        "contacts.list": {"search": "ana"},
        "templates.list": {"search": "nda"},
        "templates.get": {"template_id": "t-1"},
        "documents.list": {"status": "completed"},
        "documents.create": {
            "file": pdf,
            "title": "Contract",
            "signers": [dict(SIGNER)],
            "placeholders": [{"role": "Client", "widgets": [dict(WIDGET)]}],
            "filename": "contract.pdf",
            "settings": {"redirect_url": "https://example.com/done"},
            "metadata": {"external_id": "crm-1", "tags": ["a"]},
        },
        "documents.create_from_template": {
            "template_id": "t-1",
            "signers": [dict(SIGNER)],
            "defaults": [{"name": "city", "default": "Madrid"}],
            "metadata": {"external_id": "crm-1"},
        },
        "circuits.start": {
            "id": "circuit-1",
            "signer": {"name": "Ana", "email": "ana@example.com", "nif": "1"},
            "docs": [pdf],
        },
        "circuits.download_to": {"circuit_id": "658936", "path": folder / "out" / "signed.zip"},
        "otp_signatures.create": {
            "transaction_id": "txn-1",
            "user_selfie": JPEG,
            "image_front": JPEG,
            "document_sign": pdf,
            "phone": "+34600000000",
            "email": "ana@example.com",
            "tenant_id": "empresa-2",
        },
        "otp_signatures.sign": {"transaction_id": "txn-1", "otp_code": "123456"},
        "otp_signatures.download_signed": {
            "signature_or_url": "https://files.example/s.pdf",
            "path": folder / "out" / "signed.pdf",
        },
    }
    return every[method]


SLOTS: list[tuple[str, tuple[Any, ...], Kind]] = [
    ("contacts.create", ("name",), "text"),
    ("contacts.create", ("email",), "text"),
    ("contacts.create", ("phone",), "optional text"),
    ("contacts.create_batch", ("contacts",), "sequence"),
    ("contacts.create_batch", ("contacts", 0, "name"), "text"),
    ("contacts.create_batch", ("contacts", 0, "email"), "text"),
    ("contacts.list", ("search",), "query"),
    ("templates.list", ("search",), "query"),
    ("templates.get", ("template_id",), "id"),
    ("documents.list", ("status",), "id"),
    ("documents.create", ("file",), "source"),
    ("documents.create", ("title",), "text"),
    ("documents.create", ("filename",), "optional text"),
    ("documents.create", ("signers",), "sequence"),
    ("documents.create", ("signers", 0, "role"), "text"),
    ("documents.create", ("signers", 0, "name"), "text"),
    ("documents.create", ("signers", 0, "email"), "text"),
    ("documents.create", ("placeholders",), "sequence"),
    ("documents.create", ("placeholders", 0, "widgets", 0, "type"), "text"),
    ("documents.create", ("placeholders", 0, "widgets", 0, "x"), "number"),
    ("documents.create", ("placeholders", 0, "widgets", 0, "page"), "page"),
    ("documents.create", ("settings", "redirect_url"), "optional text"),
    ("documents.create", ("metadata", "external_id"), "text"),
    ("documents.create", ("metadata", "tags"), "sequence"),
    ("documents.create", ("metadata", "tags", 0), "text"),
    ("documents.create_from_template", ("template_id",), "id"),
    ("documents.create_from_template", ("signers", 0, "name"), "text"),
    ("documents.create_from_template", ("defaults",), "sequence"),
    ("documents.create_from_template", ("defaults", 0, "name"), "text"),
    ("documents.create_from_template", ("defaults", 0, "default"), "string"),
    ("circuits.start", ("id",), "id"),
    ("circuits.start", ("signer", "name"), "text"),
    ("circuits.start", ("signer", "nif"), "text"),
    ("circuits.start", ("docs",), "sources"),
    ("circuits.start", ("docs", 0), "source"),
    ("circuits.download_to", ("circuit_id",), "id"),
    ("circuits.download_to", ("path",), "target"),
    ("otp_signatures.create", ("transaction_id",), "id"),
    ("otp_signatures.create", ("tenant_id",), "optional id"),
    ("otp_signatures.create", ("phone",), "text"),
    ("otp_signatures.create", ("email",), "text"),
    ("otp_signatures.create", ("user_selfie",), "source"),
    ("otp_signatures.sign", ("transaction_id",), "id"),
    ("otp_signatures.sign", ("otp_code",), "text"),
    ("otp_signatures.download_signed", ("signature_or_url",), "text"),
    ("otp_signatures.download_signed", ("path",), "target"),
]
SLOTS += [(method, ("timeout",), "timeout") for method in sorted({s[0] for s in SLOTS})]
KINDS = {(method, path): kind for method, path, kind in SLOTS}


def field_name(path: tuple[Any, ...]) -> str:
    """The name a ValidationError gives the slot: ``signers[0].name``."""
    name = ""
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else part)
    return name


NOT_TEXT = re.compile("[\x00\ud800-\udfff]")
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def not_text(value: object, depth: int = 0) -> bool:
    """Whether a string anywhere in ``value`` (100 levels down at most) holds a lone
    surrogate or NUL."""
    if isinstance(value, str):
        return NOT_TEXT.search(value) is not None
    if depth > 100:
        return False
    if isinstance(value, list | tuple):
        return any(not_text(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return any(not_text(item, depth + 1) for item in value.values())
    return False


def is_file_name(text: str) -> bool:
    try:
        os.fsencode(text)
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def must_refuse(kind: Kind, value: object) -> bool:
    """Whether ``value`` in a slot of ``kind`` must be refused (False: either outcome is fine)."""
    if kind == "timeout":
        return value is not None and not isinstance(value, sa.Timeout)
    if kind == "number":  # a finite real number, as a float holds it
        if isinstance(value, bool) or not isinstance(value, int | float):
            return True
        try:
            return not math.isfinite(float(value))
        except OverflowError:
            return True
    if kind == "page":
        return isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10**6
    if kind == "sources" and isinstance(value, list | tuple):
        return any(must_refuse("source", item) for item in value)
    if kind in ("target", "source", "sources"):
        # A path may hold a surrogate that stands for a byte (a file name that
        # is not UTF-8), but no NUL, and no surrogate surrogateescape did not make.
        allowed = (str, os.PathLike) if kind == "target" else (str, os.PathLike, bytes)
        return not isinstance(value, allowed) or (
            isinstance(value, str) and not is_file_name(value)
        )
    if not_text(value):
        return True
    if kind == "sequence":
        return not isinstance(value, list | tuple)
    if kind in ("optional text", "query", "optional id") and value is None:
        return False
    if not isinstance(value, str):
        return True
    if kind in ("id", "optional id"):
        return (
            not value.strip()
            or value in (".", "..")
            or len(value) > 1024
            or CONTROL.search(value) is not None
        )
    if kind == "query":
        return len(value) > 1024
    return kind == "text" and not value.strip()


def put(arguments: dict[str, Any], path: tuple[Any, ...], value: object) -> None:
    target: Any = arguments
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value


def in_folder(folder: Path, kind: Kind, value: object) -> object:
    """A generated path, kept inside the test's folder: one component, never absolute."""
    if kind in ("target", "source", "sources") and isinstance(value, str):
        return str(folder / "gen" / value.replace("/", "_"))
    if kind == "sources" and isinstance(value, list | tuple):
        return [in_folder(folder, "source", item) for item in value]
    return value


async def invoke(client: sa.SigningClient, method: str, arguments: dict[str, Any]) -> object:
    namespace, name = method.split(".")
    bound = getattr(getattr(client, namespace), name)
    if name == "list":
        if "status" in arguments:
            pager = bound(arguments.pop("status"), **arguments)
        else:
            pager = bound(**arguments)
        return await pager.first_page()
    positional = {
        "templates.get": ("template_id",),
        "documents.create_from_template": ("template_id",),
        "circuits.download_to": ("circuit_id", "path"),
        "otp_signatures.sign": ("transaction_id", "otp_code"),
        "otp_signatures.download_signed": ("signature_or_url", "path"),
    }.get(method, ())
    leading = [arguments.pop(key) for key in positional]
    return await bound(*leading, **arguments)


@attrs.define
class Outcome:
    error: BaseException | None
    sent: list[RecordedRequest]


def run_once(folder: Path, method: str, path: tuple[Any, ...], value: object) -> Outcome:
    arguments = baseline(method, folder)
    if path:
        put(arguments, path, value)
    refused = bool(path) and must_refuse(KINDS[method, path], value)

    def handler(request: RecordedRequest) -> sa.Response:
        # Raised inside the SDK's call: an AssertionError is no SigningError, so it
        # surfaces as is and fails the test below.
        assert not refused, f"{method} sent {request.method} {request.url} for refused input"
        return answer_for(request)

    transport = sa.MockTransport(handler)

    async def go() -> BaseException | None:
        async with sa.SigningClient(
            **configs("http://127.0.0.1:9"),
            transport=transport,
            retry=sa.RetryPolicy(max_retries=0),
        ) as client:
            try:
                await invoke(client, method, arguments)
            except Exception as exc:  # judged by the caller
                return exc
        return None

    error = asyncio.run(go())
    return Outcome(error, list(transport.requests))


def judge(folder: Path, method: str, path: tuple[Any, ...], value: object) -> None:
    kind = KINDS[method, path]
    outcome = run_once(folder, method, path, value)
    error = outcome.error
    if error is not None and not isinstance(error, sa.ValidationError):
        raise AssertionError(f"{method}({field_name(path)}={value!r:.80}) raised {error!r}")
    if must_refuse(kind, value):
        assert isinstance(error, sa.ValidationError), f"{method} accepted {value!r:.80}"
        assert error.field.startswith(field_name(path)), (error.field, field_name(path))
    if error is not None:
        assert outcome.sent == [], f"{method} sent a request, then refused its input"
    else:
        assert outcome.sent, f"{method} succeeded without sending anything"
        for request in outcome.sent:
            # Whatever was accepted went out as valid UTF-8.
            request.url.encode("ascii")
            if request.headers.get("Content-Type") == "application/json":
                json.loads(request.content.decode("utf-8"))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name in ("in", "out", "gen"):
        (tmp_path / name).mkdir()
    (tmp_path / "in" / "contract.pdf").write_bytes(MINIMAL_PDF)
    return tmp_path


def test_every_baseline_succeeds(folder: Path) -> None:
    # The control: with nothing changed, every method sends and succeeds.
    for method in sorted({slot[0] for slot in SLOTS}):
        outcome = run_once(folder, method, (), None)
        assert outcome.error is None, (method, outcome.error)
        assert outcome.sent, method


class Unshowable:
    """A caller's object whose ``repr`` fails: a message quoting it must not."""

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


HOSTILE_VALUES: list[object] = [
    "a\ud800b",  # a lone surrogate, as a CSV read with surrogateescape yields
    "\udcff",
    "a\x00b",  # NUL
    "",
    ".",
    "..",
    "x" * 1025,  # one character over the limit of an id
    123,
    1.5,
    ["x"],
    {"x": 1},
    b"bytes",
    None,
    object(),
    10**400,  # past what a float holds
    -(10**5000),  # past int()'s 4,300 digits, in a message
    functools.reduce(lambda inner, _: [inner], range(5000), 1),  # too deep for repr()
    Unshowable(),
]


@pytest.mark.parametrize(("method", "path", "kind"), SLOTS, ids=lambda v: str(v))
def test_hostile_values_in_every_slot(
    tmp_path: Path, method: str, path: tuple[Any, ...], kind: Kind
) -> None:
    # Every value is judged, each in a folder of its own; one test per slot
    # (not per value) spares pytest's per-item cost 14 times over, and the
    # failure lists every value that failed.
    failures: list[str] = []
    for index, value in enumerate(HOSTILE_VALUES):
        own = tmp_path / str(index)
        own.mkdir()
        for name in ("in", "out", "gen"):
            (own / name).mkdir()
        (own / "in" / "contract.pdf").write_bytes(MINIMAL_PDF)
        try:
            judge(own, method, path, in_folder(own, kind, value))
        except AssertionError as exc:
            failures.append(f"{value!r:.20}: {exc}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    ("method", "path"), [(method, path) for method, path, kind in SLOTS if kind.endswith("id")]
)
def test_a_5_mb_id_is_refused_unsent(folder: Path, method: str, path: tuple[Any, ...]) -> None:
    outcome = run_once(folder, method, path, "x" * (5 << 20))
    assert isinstance(outcome.error, sa.ValidationError)
    assert "at most 1024 characters" in outcome.error.problem
    assert len(str(outcome.error)) < 200  # the message does not carry the id
    assert outcome.sent == []


hostile_text = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.characters(categories=["Cs"]),  # lone surrogates
        st.sampled_from(["\x00", "\n", "\r", "\x7f", "\x85", "\u2028", "/", ".", "%", "?", "#"]),
    ),
    max_size=40,
)
wrong_types = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.binary(max_size=8),
    st.lists(st.text(max_size=3), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.tuples(hostile_text),
)


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(slot=st.sampled_from(SLOTS), value=st.one_of(hostile_text, wrong_types))
def test_generated_values_give_validation_error_or_success(
    folder: Path, slot: tuple[str, tuple[Any, ...], Kind], value: object
) -> None:
    method, path, kind = slot
    judge(folder, method, path, in_folder(folder, kind, value))


# --- a disk that fills up during a download ----------------------------------------------

_FULL_DISK_CHILD = """
import asyncio, json, os, resource, signal, sys
from pathlib import Path

import signing_async as sa

folder, provider = Path(sys.argv[1]), sys.argv[2]
# The file size limit stands in for a full disk (the method of
# tests/core/test_streaming.py): writing past 2 MiB fails with EFBIG.
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (2 << 20, 2 << 20))


class Body:
    async def chunks(self):
        for _ in range(40):
            yield b"x" * (1 << 20)

    def iter_chunks(self, size):
        return self.chunks()

    async def aclose(self):
        pass


def handler(request):
    if request.url.endswith("/oauth2/token"):
        return sa.Response(200, content=b'{"access_token": "at", "expires_in": 3600}')
    return sa.Response(200, headers={"Content-Length": str(40 << 20)}, stream=Body())


async def main():
    url = "http://127.0.0.1:9"
    async with sa.SigningClient(
        danaconnect=sa.DanaConnectConfig(
            client_id="c", client_secret="s", channel="acme", base_url=url, download_base_url=url
        ),
        sofia=sa.SofiaConfig(client_id="c", client_secret="s", tenant_id="t", base_url=url),
        transport=sa.MockTransport(handler),
    ) as client:
        try:
            if provider == "circuits":
                await client.circuits.download_to("7", folder / "signed.zip")
            else:
                await client.otp_signatures.download_signed(f"{url}/s.pdf", folder / "signed.pdf")
        except Exception as exc:
            return {
                "signing_error": isinstance(exc, sa.SigningError),
                "os_error": isinstance(exc, OSError),
                "message": str(exc),
                "filename": getattr(exc, "filename", None),
                "left": os.listdir(folder),
            }
    return {"message": None}


print(json.dumps(asyncio.run(main())))
"""


@pytest.mark.parametrize(
    ("provider", "operation", "name"),
    [
        ("circuits", "DANAconnect download circuit 7", "signed.zip"),
        ("otp_signatures", "S.O.F.I.A. download signed document", "signed.pdf"),
    ],
)
async def test_a_disk_that_fills_up_is_a_signing_error_naming_operation_and_target(
    tmp_path: Path, provider: str, operation: str, name: str
) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    done = await anyio.run_process(
        [sys.executable, "-c", _FULL_DISK_CHILD, str(tmp_path), provider], env=env
    )
    result = json.loads(done.stdout)
    assert result["message"] == f"{operation}: cannot write {tmp_path / name}: File too large"
    assert result["signing_error"]
    assert result["os_error"]  # still an OSError, errno kept, for code that catches those
    assert result["filename"] == str(tmp_path / name)
    assert result["left"] == []  # no temporary file, no target
