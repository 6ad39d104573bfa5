"""client.documents: createdocument's body, validation, retries, templates, listing."""

from __future__ import annotations

import base64
import datetime as dt
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from danasign_helpers import SERVER, TOKEN, MakeClient, body, make_pdf, path, query, reply

import signing_async as sa
from signing_async._core.sources import SMALL_FILE_LIMIT
from signing_async.danasign import _pdf
from signing_async.danasign.units import PageSize
from signing_async.transports import RecordedRequest

CREATED = {
    "documentId": "lHqHh3zQ9X",
    "status": "sent",
    "sentAt": "2025-03-18T08:25:33.123Z",
    "expiresAt": "2025-03-28T08:25:33.123Z",
}


def created(request: RecordedRequest) -> sa.Response:
    return reply(CREATED)


def two_signers() -> list[sa.Signer]:
    return [
        sa.Signer(
            role="Firmante 1",
            name="María Gómez",
            email="mgomez@example.com",
            identity_verification=sa.IdentityVerification(
                enabled=True, require_document=True, threshold=85, notes="Validación previa"
            ),
        ),
        sa.Signer(role="Firmante 2", name="Pedro Pérez", email="peperez@example.com"),
    ]


def two_placeholders() -> list[sa.Placeholder]:
    return [
        sa.Placeholder(
            role="Firmante 1",
            widgets=[sa.Widget(type="signature", page=1, x=120, y=520, w=220, h=60)],
        ),
        sa.Placeholder(
            role="Firmante 2",
            widgets=[
                sa.Widget(type="signature", page=1, x=120, y=640, w=220, h=60),
                sa.Widget(type="date", page=1, x=360, y=640, w=100, h=20),
            ],
        ),
    ]


def minimal(pdf: sa.DocumentSource, **overrides: Any) -> dict[str, Any]:
    """Keyword arguments of a valid documents.create call with one signer."""
    kwargs: dict[str, Any] = {
        "file": pdf,
        "title": "Contrato",
        "signers": [{"role": "Client", "name": "Ana", "email": "ana@example.com"}],
        "placeholders": [
            {
                "role": "Client",
                "widgets": [
                    {"type": "signature", "page": 1, "x": 100, "y": 700, "w": 200, "h": 50},
                ],
            }
        ],
    }
    kwargs.update(overrides)
    return kwargs


async def test_create_streams_the_pdf_and_encodes_camel_case(
    make_client: MakeClient, a4_pdf: bytes, tmp_path: Path
) -> None:
    # Larger than a file read whole when loaded: streamed, with its exact length.
    streamed_pdf = a4_pdf + b"\n" * SMALL_FILE_LIMIT
    source = tmp_path / "contrato-api.pdf"
    source.write_bytes(streamed_pdf)
    client, transport = make_client(created)
    document = await client.documents.create(
        file=source,
        title="Contrato servicio API",
        signers=two_signers(),
        placeholders=two_placeholders(),
        prefill=[
            sa.Prefill(
                type="textbox",
                page=1,
                x=100,
                y=713,
                w=260,
                h=28,
                options=sa.PrefillOptions(
                    name="cliente_nombre",
                    response="Cliente ACME S.A.",
                    font_size=10,
                    font_color="#1F2937",
                ),
            )
        ],
        settings=sa.DocumentSettings(
            send_in_order=True,
            allow_modifications=False,
            automatic_reminders=True,
            time_to_complete_days=12,
            redirect_url="https://www.example.com/",
            bcc=[sa.Bcc(email="legal@example.com", name="Legal")],
        ),
        metadata=sa.DocumentMetadata(external_id="DOC-001", tags=["contratos"]),
    )
    (request,) = transport.requests
    assert request.method == "POST"
    assert request.url == f"{SERVER}/api/1.0/createdocument"
    assert request.headers["x-api-token"] == TOKEN
    assert request.headers["Content-Length"] == str(len(request.content))
    sent = body(request)
    assert base64.b64decode(sent["file"], validate=True) == streamed_pdf
    assert sent["filename"] == "contrato-api.pdf"
    assert sent["title"] == "Contrato servicio API"
    assert sent["signers"] == [
        {
            "role": "Firmante 1",
            "name": "María Gómez",
            "email": "mgomez@example.com",
            "identityVerification": {
                "enabled": True,
                "requireDocument": True,
                "threshold": 85,
                "notes": "Validación previa",
            },
        },
        {"role": "Firmante 2", "name": "Pedro Pérez", "email": "peperez@example.com"},
    ]
    assert sent["placeholders"][1] == {
        "role": "Firmante 2",
        "widgets": [
            {"type": "signature", "page": 1, "x": 120, "y": 640, "w": 220, "h": 60},
            {"type": "date", "page": 1, "x": 360, "y": 640, "w": 100, "h": 20},
        ],
    }
    assert sent["prefill"] == [
        {
            "type": "textbox",
            "page": 1,
            "x": 100,
            "y": 713,
            "w": 260,
            "h": 28,
            "options": {
                "name": "cliente_nombre",
                "response": "Cliente ACME S.A.",
                "fontSize": 10,
                "fontColor": "#1F2937",
            },
        }
    ]
    assert sent["settings"] == {
        "sendInOrder": True,
        "allowModifications": False,
        "automaticReminders": True,
        "timeToCompleteDays": 12,
        "redirectUrl": "https://www.example.com/",
        "bcc": [{"email": "legal@example.com", "name": "Legal"}],
    }
    assert sent["metadata"] == {"externalId": "DOC-001", "tags": ["contratos"]}
    assert document.document_id == "lHqHh3zQ9X"
    assert document.status == "sent"
    assert document.sent_at == dt.datetime(2025, 3, 18, 8, 25, 33, 123000, tzinfo=dt.timezone.utc)
    assert document.expires_at is not None


async def test_create_leaves_out_unset_optional_fields(
    make_client: MakeClient, a4_pdf: bytes
) -> None:
    client, transport = make_client(created)
    await client.documents.create(
        **minimal(a4_pdf, settings={"send_in_order": True}, metadata={"external_id": "X-1"})
    )
    sent = body(transport.requests[0])
    assert set(sent) == {
        "file",
        "filename",
        "title",
        "signers",
        "placeholders",
        "settings",
        "metadata",
    }
    assert sent["signers"] == [{"role": "Client", "name": "Ana", "email": "ana@example.com"}]
    assert sent["settings"] == {"sendInOrder": True}
    assert sent["metadata"] == {"externalId": "X-1", "tags": []}


async def test_mappings_and_models_encode_alike(make_client: MakeClient, a4_pdf: bytes) -> None:
    client, transport = make_client(created)
    await client.documents.create(
        file=a4_pdf, title="T", signers=two_signers(), placeholders=two_placeholders()
    )
    await client.documents.create(
        file=a4_pdf,
        title="T",
        signers=[
            {
                "role": "Firmante 1",
                "name": "María Gómez",
                "email": "mgomez@example.com",
                "identity_verification": {
                    "enabled": True,
                    "require_document": True,
                    "threshold": 85,
                    "notes": "Validación previa",
                },
            },
            {"role": "Firmante 2", "name": "Pedro Pérez", "email": "peperez@example.com"},
        ],
        placeholders=[
            {
                "role": "Firmante 1",
                "widgets": [
                    {"type": "signature", "page": 1, "x": 120, "y": 520, "w": 220, "h": 60}
                ],
            },
            {
                "role": "Firmante 2",
                "widgets": [
                    {"type": "signature", "page": 1, "x": 120, "y": 640, "w": 220, "h": 60},
                    {"type": "date", "page": 1, "x": 360, "y": 640, "w": 100, "h": 20},
                ],
            },
        ],
    )
    first, second = (body(r) for r in transport.requests)
    assert first == second


@pytest.mark.parametrize(
    ("source", "filename", "expected"),
    [
        ("bytes", None, "document.pdf"),
        ("bytes", "custom.pdf", "custom.pdf"),
        ("document", None, "named.pdf"),
    ],
)
async def test_filename_defaults_to_the_source_name(
    make_client: MakeClient, a4_pdf: bytes, source: str, filename: str | None, expected: str
) -> None:
    client, transport = make_client(created)
    file: sa.DocumentSource = a4_pdf if source == "bytes" else sa.Document(a4_pdf, "named.pdf")
    await client.documents.create(**minimal(file, filename=filename))
    assert body(transport.requests[0])["filename"] == expected


def _widget(**changes: Any) -> dict[str, Any]:
    return {"type": "signature", "page": 1, "x": 10, "y": 10, "w": 100, "h": 30, **changes}


INVALID: list[tuple[dict[str, Any], str]] = [
    ({"title": ""}, "title"),
    ({"title": "   "}, "title"),
    ({"signers": []}, "signers"),
    ({"signers": [{"role": "Client", "name": "Ana", "email": "ana@"}]}, "signers[0].email"),
    ({"signers": [{"role": "Client", "name": "", "email": "a@example.com"}]}, "signers[0].name"),
    (
        {"signers": [{"role": "Client", "name": "Ana", "emial": "a@example.com"}]},
        "signers[0].emial",
    ),
    (
        {
            "signers": [
                {"role": "Client", "name": "Ana", "email": "a@example.com"},
                {"role": "Client", "name": "Bea", "email": "b@example.com"},
            ]
        },
        "signers[1].role",
    ),
    (
        {
            "signers": [
                {
                    "role": "Client",
                    "name": "Ana",
                    "email": "a@example.com",
                    "identity_verification": {"enabled": True, "threshold": 101},
                }
            ]
        },
        "signers[0].identity_verification.threshold",
    ),
    (
        {
            "signers": [
                sa.Signer("Client", "Ana", "a@example.com", sa.IdentityVerification(threshold=-1))
            ]
        },
        "signers[0].identity_verification.threshold",
    ),
    ({"placeholders": []}, "placeholders"),
    (
        {
            "placeholders": [
                {"role": "Client", "widgets": [_widget()]},
                {"role": "Witness", "widgets": [_widget()]},
            ]
        },
        "placeholders[1].role",
    ),
    (
        {
            "signers": [
                {"role": "Client", "name": "Ana", "email": "a@example.com"},
                {"role": "Seller", "name": "Bea", "email": "b@example.com"},
            ],
            "placeholders": [
                {"role": "Client", "widgets": [_widget()]},
                {"role": "Seller", "widgets": [_widget(type="date")]},
            ],
        },
        "signers[1]",
    ),
    (
        {"placeholders": [{"role": "Client", "widgets": [_widget(), _widget(), _widget(w=0)]}]},
        "placeholders[0].widgets[2].w",
    ),
    (
        {"placeholders": [{"role": "Client", "widgets": [_widget(h=-3)]}]},
        "placeholders[0].widgets[0].h",
    ),
    (
        {"placeholders": [{"role": "Client", "widgets": [_widget(page=0)]}]},
        "placeholders[0].widgets[0].page",
    ),
    (
        {"placeholders": [{"role": "Client", "widgets": [_widget(x=-1)]}]},
        "placeholders[0].widgets[0].x",
    ),
    (
        {"placeholders": [{"role": "Client", "widgets": [_widget(y="10")]}]},
        "placeholders[0].widgets[0].y",
    ),
    (
        {"placeholders": [{"role": "Client", "widgets": [{"type": "signature", "page": 1}]}]},
        "placeholders[0].widgets[0].x",
    ),
    ({"placeholders": [{"role": "Client", "widgets": []}]}, "placeholders[0].widgets"),
    ({"file": b""}, "file"),
    ({"file": b"<html>not a pdf</html>"}, "file"),
    ({"file": sa.Document(b"PK\x03\x04zip", "a.pdf")}, "file"),
    ({"filename": ""}, "filename"),
    (
        {
            "prefill": [
                {
                    "type": "textbox",
                    "page": 1,
                    "x": 1,
                    "y": 1,
                    "w": 0,
                    "h": 10,
                    "options": {"name": "n", "response": "r"},
                }
            ]
        },
        "prefill[0].w",
    ),
    (
        {
            "prefill": [
                {
                    "type": "textbox",
                    "page": 1,
                    "x": 1,
                    "y": 1,
                    "w": 10,
                    "h": 10,
                    "options": {"name": "", "response": "r"},
                }
            ]
        },
        "prefill[0].options.name",
    ),
    ({"settings": {"bcc": [{"email": "nope"}]}}, "settings.bcc[0].email"),
    ({"settings": {"time_to_complete_days": 0}}, "settings.time_to_complete_days"),
    ({"settings": {"send_in_order": "yes"}}, "settings.send_in_order"),
    ({"metadata": {"external_id": ""}}, "metadata.external_id"),
    ({"metadata": {"external_id": "X", "tags": "contratos"}}, "metadata.tags"),
    ({"metadata": {"external_id": "X", "tags": ["a", ""]}}, "metadata.tags[1]"),
]


@pytest.mark.parametrize(("overrides", "field"), INVALID)
async def test_create_validates_before_sending(
    make_client: MakeClient, a4_pdf: bytes, overrides: dict[str, Any], field: str
) -> None:
    client, transport = make_client(created)
    with pytest.raises(sa.ValidationError) as caught:
        await client.documents.create(**minimal(a4_pdf, **overrides))
    assert caught.value.field == field
    assert field in str(caught.value)
    assert transport.requests == []


async def test_create_rejects_a_missing_file(make_client: MakeClient, tmp_path: Path) -> None:
    client, transport = make_client(created)
    with pytest.raises(sa.ValidationError) as caught:
        await client.documents.create(**minimal(tmp_path / "missing.pdf"))
    assert caught.value.field == "file"
    assert transport.requests == []


async def test_widget_on_a_page_the_pdf_lacks(make_client: MakeClient, a4_pdf: bytes) -> None:
    client, transport = make_client(created)
    overrides = {"placeholders": [{"role": "Client", "widgets": [_widget(page=2)]}]}
    with pytest.raises(sa.ValidationError) as caught:
        await client.documents.create(**minimal(a4_pdf, **overrides))
    assert caught.value.field == "placeholders[0].widgets[0].page"
    assert "1 page" in str(caught.value)
    assert transport.requests == []


@pytest.mark.parametrize(
    "widget",
    [
        _widget(x=PageSize.A4.width - 100, w=101),
        _widget(y=800, h=50),
    ],
)
async def test_widget_outside_the_media_box(
    make_client: MakeClient, a4_pdf: bytes, widget: dict[str, Any]
) -> None:
    client, transport = make_client(created)
    overrides = {"placeholders": [{"role": "Client", "widgets": [widget]}]}
    with pytest.raises(sa.ValidationError) as caught:
        await client.documents.create(**minimal(a4_pdf, **overrides))
    assert caught.value.field == "placeholders[0].widgets[0]"
    assert transport.requests == []


async def test_prefill_outside_the_page(make_client: MakeClient, a4_pdf: bytes) -> None:
    client, transport = make_client(created)
    prefill = [
        {
            "type": "textbox",
            "page": 3,
            "x": 1,
            "y": 1,
            "w": 10,
            "h": 10,
            "options": {"name": "n", "response": "r"},
        }
    ]
    with pytest.raises(sa.ValidationError) as caught:
        await client.documents.create(**minimal(a4_pdf, prefill=prefill))
    assert caught.value.field == "prefill[0].page"
    assert transport.requests == []


async def test_widget_flush_with_the_rounded_page_edge_fits(
    make_client: MakeClient, a4_pdf: bytes
) -> None:
    width, height = PageSize.A4
    widget = _widget(x=width - 200, y=height - 50, w=200, h=50)
    client, transport = make_client(created)
    await client.documents.create(
        **minimal(a4_pdf, placeholders=[{"role": "Client", "widgets": [widget]}])
    )
    assert len(transport.requests) == 1


async def test_rotated_page_is_addressed_as_displayed(make_client: MakeClient) -> None:
    landscape = make_pdf((595.28, 841.89), rotate=90)
    client, transport = make_client(created)
    wide = _widget(x=600, y=10, w=200, h=50)  # fits only on the landscape (842 wide) view
    await client.documents.create(
        **minimal(landscape, placeholders=[{"role": "Client", "widgets": [wide]}])
    )
    assert len(transport.requests) == 1


@pytest.fixture
def pypdf_unimportable(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``import pypdf`` fails, as without the extra (or with a broken install)."""
    monkeypatch.setitem(sys.modules, "pypdf", None)
    _pdf.pypdf_installed.cache_clear()  # asked once per process: ask again now
    yield
    _pdf.pypdf_installed.cache_clear()


@pytest.mark.usefixtures("pypdf_unimportable")
async def test_page_check_is_skipped_without_pypdf(make_client: MakeClient, a4_pdf: bytes) -> None:
    client, transport = make_client(created)
    overrides = {"placeholders": [{"role": "Client", "widgets": [_widget(page=5)]}]}
    await client.documents.create(**minimal(a4_pdf, **overrides))
    assert len(transport.requests) == 1


async def test_a_model_subclass_sends_only_the_models_fields(
    make_client: MakeClient, a4_pdf: bytes
) -> None:
    @attrs.frozen
    class NotedMetadata(sa.DocumentMetadata):
        internal_note: str = "not for the provider"

    client, transport = make_client(created)
    metadata = NotedMetadata(external_id="crm-1", tags=("q4",))
    await client.documents.create(**minimal(a4_pdf, metadata=metadata))
    assert body(transport.requests[0])["metadata"] == {"externalId": "crm-1", "tags": ["q4"]}


async def test_page_check_is_skipped_for_a_pdf_pypdf_cannot_parse(
    make_client: MakeClient,
) -> None:
    client, transport = make_client(created)
    overrides = {"placeholders": [{"role": "Client", "widgets": [_widget(page=5)]}]}
    await client.documents.create(**minimal(b"%PDF-1.7\ngarbage", **overrides))
    assert len(transport.requests) == 1
    assert base64.b64decode(body(transport.requests[0])["file"]) == b"%PDF-1.7\ngarbage"


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts pypdf's parses (each document's size), with nothing remembered before."""
    counted: list[int] = []
    read_sizes = _pdf._read_sizes

    def counting(source: Any) -> Any:
        counted.append(len(source.getvalue()))
        return read_sizes(source)

    monkeypatch.setattr(_pdf, "_read_sizes", counting)
    _pdf.remembered.clear()
    yield counted
    _pdf.remembered.clear()


def _on_page(page: int) -> dict[str, Any]:
    return {"placeholders": [{"role": "Client", "widgets": [_widget(page=page)]}]}


async def test_a_document_sent_again_is_parsed_once_and_still_checked(
    make_client: MakeClient, a4_pdf: bytes, parses: list[int]
) -> None:
    client, transport = make_client(created)
    await client.documents.create(**minimal(a4_pdf))
    copy = bytes(bytearray(a4_pdf))  # equal content, another object
    await client.documents.create(**minimal(copy))
    with pytest.raises(sa.ValidationError) as caught:
        await client.documents.create(**minimal(copy, **_on_page(2)))
    assert caught.value.field == "placeholders[0].widgets[0].page"
    assert parses == [len(a4_pdf)]
    assert len(transport.requests) == 2


async def test_each_document_is_checked_against_its_own_pages(
    make_client: MakeClient, parses: list[int]
) -> None:
    one_page = make_pdf((595, 842))
    three_pages = make_pdf((595, 842), (595, 842), (842, 595))
    client, transport = make_client(created)
    await client.documents.create(**minimal(three_pages, **_on_page(3)))
    with pytest.raises(sa.ValidationError):
        await client.documents.create(**minimal(one_page, **_on_page(3)))
    await client.documents.create(**minimal(three_pages, **_on_page(3)))
    with pytest.raises(sa.ValidationError):
        await client.documents.create(**minimal(one_page, **_on_page(2)))
    assert sorted(parses) == sorted([len(three_pages), len(one_page)])
    assert len(transport.requests) == 2


async def test_a_pdf_pypdf_cannot_parse_is_remembered_as_unknown(
    make_client: MakeClient, parses: list[int]
) -> None:
    client, transport = make_client(created)
    for _ in range(3):
        await client.documents.create(**minimal(b"%PDF-1.7\ngarbage", **_on_page(5)))
    assert len(parses) == 1
    assert len(transport.requests) == 3


async def test_a_file_sent_again_is_parsed_once(
    make_client: MakeClient, tmp_path: Path, parses: list[int]
) -> None:
    contract = tmp_path / "contract.pdf"
    contract.write_bytes(make_pdf((595, 842)))
    client, transport = make_client(created)
    await client.documents.create(**minimal(contract))
    await client.documents.create(**minimal(contract))
    with pytest.raises(sa.ValidationError):
        await client.documents.create(**minimal(contract, **_on_page(2)))
    # Rewritten with two pages: a new content, parsed again.
    contract.write_bytes(make_pdf((595, 842), (595, 842)))
    await client.documents.create(**minimal(contract, **_on_page(2)))
    assert len(parses) == 2
    assert len(transport.requests) == 3


async def test_a_document_too_big_to_digest_on_the_loop_is_remembered_all_the_same(
    make_client: MakeClient, a4_pdf: bytes, parses: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_pdf, "DIGEST_ON_LOOP_LIMIT", len(a4_pdf) - 1)
    client, transport = make_client(created)
    await client.documents.create(**minimal(a4_pdf))
    with pytest.raises(sa.ValidationError):
        await client.documents.create(**minimal(a4_pdf, **_on_page(2)))
    assert parses == [len(a4_pdf)]
    assert len(transport.requests) == 1


async def test_a_file_too_big_to_load_whole_is_checked_and_remembered(
    make_client: MakeClient, tmp_path: Path, parses: list[int]
) -> None:
    # Over SMALL_FILE_LIMIT: streamed when sent, read whole only for its check.
    contract = tmp_path / "contract.pdf"
    contract.write_bytes(make_pdf((595, 842)) + b"\n" * SMALL_FILE_LIMIT)
    client, transport = make_client(created)
    await client.documents.create(**minimal(contract))
    with pytest.raises(sa.ValidationError) as caught:
        await client.documents.create(**minimal(contract, **_on_page(2)))
    assert caught.value.field == "placeholders[0].widgets[0].page"
    assert parses == [contract.stat().st_size]
    assert len(transport.requests) == 1


async def test_documents_of_the_same_length_are_told_apart(
    make_client: MakeClient, parses: list[int]
) -> None:
    portrait, landscape = make_pdf((595, 842)), make_pdf((842, 595))
    assert len(portrait) == len(landscape)
    wide = {"placeholders": [{"role": "Client", "widgets": [_widget(x=600, w=200)]}]}
    client, transport = make_client(created)
    await client.documents.create(**minimal(landscape, **wide))
    with pytest.raises(sa.ValidationError):
        await client.documents.create(**minimal(portrait, **wide))
    assert len(parses) == 2
    assert len(transport.requests) == 1


def count_worker_trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """From now on, the functions run in anyio's worker threads, in order."""
    trips: list[str] = []
    run_sync = _pdf.anyio.to_thread.run_sync

    async def counted(function: Any, *args: Any) -> Any:
        trips.append(function.__name__)
        return await run_sync(function, *args)

    monkeypatch.setattr(_pdf.anyio.to_thread, "run_sync", counted)
    return trips


async def test_a_document_seen_before_is_answered_without_a_thread(
    make_client: MakeClient, a4_pdf: bytes, parses: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, transport = make_client(created)
    await client.documents.create(**minimal(a4_pdf))
    trips = count_worker_trips(monkeypatch)
    await client.documents.create(**minimal(a4_pdf))
    assert trips == []
    assert parses == [len(a4_pdf)]
    assert len(transport.requests) == 2


async def test_a_file_seen_before_is_answered_without_a_worker_thread(
    make_client: MakeClient, tmp_path: Path, parses: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Over SMALL_FILE_LIMIT, under SHARED_READ_LIMIT: probed, read for its
    # check and streamed on the file thread; its parse is remembered.
    contract = tmp_path / "contract.pdf"
    contract.write_bytes(make_pdf((595, 842)) + b"\n" * SMALL_FILE_LIMIT)
    client, transport = make_client(created)
    await client.documents.create(**minimal(contract))
    trips = count_worker_trips(monkeypatch)
    await client.documents.create(**minimal(contract))
    with pytest.raises(sa.ValidationError):
        await client.documents.create(**minimal(contract, **_on_page(2)))
    assert trips == []
    assert parses == [contract.stat().st_size]
    assert len(transport.requests) == 2


def test_the_least_recently_used_document_is_forgotten_first() -> None:
    sizes = ((595.0, 842.0),)
    memory = _pdf._Remembered(2)
    memory.remember(b"first", sizes)
    memory.remember(b"second", None)
    assert memory.recall(b"first") == (True, sizes)  # first is now the more recent
    memory.remember(b"third", sizes)
    assert memory.recall(b"second") == (False, None)
    assert memory.recall(b"first") == (True, sizes)
    assert memory.recall(b"third") == (True, sizes)


async def test_create_is_not_retried_after_500(make_client: MakeClient, a4_pdf: bytes) -> None:
    client, transport = make_client(lambda r: reply({"error": "internal error"}, 500))
    with pytest.raises(sa.ServerError) as caught:
        await client.documents.create(**minimal(a4_pdf))
    assert len(transport.requests) == 1
    assert "internal error" in str(caught.value)


async def test_create_is_not_replayed_after_a_lost_answer(
    make_client: MakeClient, a4_pdf: bytes
) -> None:
    def handler(request: RecordedRequest) -> sa.Response:
        raise sa.TransportError("connection reset", request_sent=True)

    client, transport = make_client(handler)
    with pytest.raises(sa.TransportError) as caught:
        await client.documents.create(**minimal(a4_pdf))
    assert caught.value.request_sent is True
    assert len(transport.requests) == 1


async def test_create_is_retried_when_the_request_never_left(
    make_client: MakeClient, a4_pdf: bytes
) -> None:
    failures = iter([sa.ConnectError("refused")])

    def handler(request: RecordedRequest) -> sa.Response:
        error = next(failures, None)
        if error is not None:
            raise error
        return reply(CREATED)

    client, transport = make_client(handler)
    document = await client.documents.create(**minimal(a4_pdf))
    assert document.document_id == "lHqHh3zQ9X"
    assert len(transport.requests) == 2
    assert transport.requests[0].content == transport.requests[1].content


async def test_create_from_template_wire_format(make_client: MakeClient) -> None:
    client, transport = make_client(
        lambda r: reply(
            {
                "documentId": "d1",
                "templateId": "K8uV4NgY1z",
                "title": "Contrato Plantilla",
                "status": "draft",
                "createdAt": "2025-03-10T12:00:00Z",
                "updatedAt": "2025-03-10T12:00:00Z",
            }
        )
    )
    document = await client.documents.create_from_template(
        "K8uV4NgY1z",
        signers=[
            sa.TemplateSigner(role="Cliente", name="Ana Pérez", email="ana@example.com"),
            {"role": "Vendedor", "name": "Ventas", "email": "ventas@example.com"},
        ],
        defaults=[sa.TemplateDefault(name="date", default="2025-12-31")],
        metadata={"external_id": "TPL-2025-002", "tags": ["contratos"]},
    )
    (request,) = transport.requests
    assert request.method == "POST"
    assert request.url == f"{SERVER}/api/1.0/createdocument/K8uV4NgY1z"
    assert request.headers["x-api-token"] == TOKEN
    assert body(request) == {
        "signers": [
            {"role": "Cliente", "name": "Ana Pérez", "email": "ana@example.com"},
            {"role": "Vendedor", "name": "Ventas", "email": "ventas@example.com"},
        ],
        "defaults": [{"name": "date", "default": "2025-12-31"}],
        "metadata": {"externalId": "TPL-2025-002", "tags": ["contratos"]},
    }
    assert document.document_id == "d1"
    assert document.template_id == "K8uV4NgY1z"
    assert document.status == "draft"
    assert document.created_at == dt.datetime(2025, 3, 10, 12, tzinfo=dt.timezone.utc)


async def test_create_from_template_quotes_the_id(make_client: MakeClient) -> None:
    client, transport = make_client(lambda r: reply({"documentId": "d1"}))
    await client.documents.create_from_template(
        "a/b c", signers=[{"role": "R", "name": "N", "email": "n@example.com"}]
    )
    assert transport.requests[0].url == f"{SERVER}/api/1.0/createdocument/a%2Fb%20c"


@pytest.mark.parametrize(
    ("template_id", "kwargs", "field"),
    [
        ("", {"signers": [{"role": "R", "name": "N", "email": "n@example.com"}]}, "template_id"),
        ("t1", {"signers": []}, "signers"),
        ("t1", {"signers": [{"role": "R", "name": "N", "email": "bad"}]}, "signers[0].email"),
        (
            "t1",
            {
                "signers": [{"role": "R", "name": "N", "email": "n@example.com"}],
                "defaults": [{"name": "", "default": "x"}],
            },
            "defaults[0].name",
        ),
        (
            "t1",
            {
                "signers": [{"role": "R", "name": "N", "email": "n@example.com"}],
                "metadata": {"tags": ["x"]},
            },
            "metadata.external_id",
        ),
    ],
)
async def test_create_from_template_validates_before_sending(
    make_client: MakeClient, template_id: str, kwargs: dict[str, Any], field: str
) -> None:
    client, transport = make_client(lambda r: reply({"documentId": "d1"}))
    with pytest.raises(sa.ValidationError) as caught:
        await client.documents.create_from_template(template_id, **kwargs)
    assert caught.value.field == field
    assert transport.requests == []


async def test_create_from_template_500_is_not_retried(make_client: MakeClient) -> None:
    client, transport = make_client(lambda r: reply({"error": "boom"}, 500))
    with pytest.raises(sa.ServerError):
        await client.documents.create_from_template(
            "t1", signers=[{"role": "R", "name": "N", "email": "n@example.com"}]
        )
    assert len(transport.requests) == 1


def documents_server(count: int) -> Any:
    """documentlist: a bare array, no pagination object."""
    rows = [
        {
            "documentId": f"d{i:03d}",
            "title": f"Contrato {i}",
            "status": "completed",
            "createdAt": "2025-03-10T12:34:56.789Z",
            "updatedAt": "2025-03-12T08:15:00.000Z",
        }
        for i in range(count)
    ]

    def handler(request: RecordedRequest) -> sa.Response:
        params = query(request)
        skip, limit = int(params["skip"]), int(params["limit"])
        return reply(rows[skip : skip + limit])

    return handler


async def test_documentlist_stops_at_a_short_page(make_client: MakeClient) -> None:
    client, transport = make_client(documents_server(45))
    documents = [d async for d in client.documents.list(sa.DocumentStatus.COMPLETED)]
    assert len(documents) == 45
    assert [query(r)["skip"] for r in transport.requests] == ["0", "20", "40"]
    assert {path(r) for r in transport.requests} == {"/api/1.0/documentlist/completed"}
    assert all(r.headers["x-api-token"] == TOKEN for r in transport.requests)
    assert documents[0].document_id == "d000"
    assert documents[0].status == sa.DocumentStatus.COMPLETED
    assert documents[0].updated_at == dt.datetime(2025, 3, 12, 8, 15, tzinfo=dt.timezone.utc)


async def test_documentlist_exact_multiple_ends_on_an_empty_page(make_client: MakeClient) -> None:
    client, transport = make_client(documents_server(40))
    documents = [d async for d in client.documents.list("completed")]
    assert len(documents) == 40
    assert len(transport.requests) == 3


async def test_documentlist_first_page_has_no_total(make_client: MakeClient) -> None:
    client, transport = make_client(documents_server(45))
    page = await client.documents.list("completed", page_size=10).first_page()
    assert page.total is None
    assert page.has_more is True
    assert len(page.items) == 10
    assert query(transport.requests[0]) == {"limit": "10", "skip": "0"}


async def test_documentlist_accepts_any_status_string(make_client: MakeClient) -> None:
    client, transport = make_client(documents_server(0))
    assert [d async for d in client.documents.list("archived")] == []
    assert path(transport.requests[0]) == "/api/1.0/documentlist/archived"


@pytest.mark.parametrize(
    ("status", "page_size", "field"),
    [("", 20, "status"), ("sent", 0, "page_size"), ("sent", 101, "page_size")],
)
async def test_documentlist_validates_before_sending(
    make_client: MakeClient, status: str, page_size: int, field: str
) -> None:
    client, transport = make_client(documents_server(3))
    with pytest.raises(sa.ValidationError) as caught:
        client.documents.list(status, page_size=page_size)
    assert caught.value.field == field
    assert transport.requests == []


def test_document_status_values() -> None:
    assert {s.value for s in sa.DocumentStatus} == {
        "draft",
        "signaturerequest",
        "inprogress",
        "completed",
        "expired",
        "declined",
        "sent",
    }
    assert sa.DocumentStatus("inprogress") is sa.DocumentStatus.IN_PROGRESS
    assert str(sa.DocumentStatus.SENT) == "sent"
