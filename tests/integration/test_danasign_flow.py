"""DANAsign end to end: tokens, contacts, documents and templates against the sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

import signing_async as sa
from signing_async.danasign.units import mm_to_points
from signing_async.sandbox import Fault, Sandbox, samples

from .support import WAIT, Samples

SIGNERS = [
    sa.Signer(role="Client", name="Ana Pérez", email="ana@example.com"),
    sa.Signer(
        role="Provider",
        name="Luis Gómez",
        email="luis@example.com",
        identity_verification=sa.IdentityVerification(
            enabled=True, require_document=True, threshold=80, notes="Bring your ID"
        ),
    ),
]
PLACEHOLDERS: list[sa.Placeholder | dict[str, Any]] = [
    sa.Placeholder(
        role="Client",
        widgets=[
            sa.Widget(type="signature", page=1, x=mm_to_points(30), y=520, w=220, h=60),
            sa.Widget(type="date", page=2, x=72, y=700, w=120, h=24),
        ],
    ),
    {
        "role": "Provider",
        "widgets": [{"type": "signature", "page": 2, "x": 320, "y": 520, "w": 220, "h": 60}],
    },
]


@pytest.fixture
async def readonly(sb: Sandbox) -> AsyncIterator[sa.SigningClient]:
    """A client whose API token has the ``documents:read`` scope only."""
    config = sa.DanaSignConfig(server_url=sb.url, api_token=sb.credentials.danasign_readonly_token)
    async with sb.client(danasign=config) as client:
        yield client


async def create(client: sa.SigningClient, file: Path, external_id: str) -> sa.CreatedDocument:
    return await client.documents.create(
        file=file,
        title=f"Contract {external_id}",
        signers=SIGNERS,
        placeholders=PLACEHOLDERS,
        settings=sa.DocumentSettings(send_in_order=True, time_to_complete_days=7),
        metadata=sa.DocumentMetadata(external_id=external_id, tags=("integration",)),
    )


async def test_api_token_session_and_whoami(sb: Sandbox, client: sa.SigningClient) -> None:
    session = await client.api_tokens.create_session()
    who = await client.api_tokens.whoami()

    assert session.session_token.startswith("r:")
    assert session.session_token not in repr(session)
    assert set(session.scopes) == {"contacts:write", "documents:write", "documents:read"}
    assert session.user_id == who.user_id == "SbxUser001"
    assert who.email == "sandbox.user@danasign.local"
    assert set(who.scopes) == set(session.scopes)
    # These routes take the token as x-danassign-api-key (double "s").
    for route in ("danasign.session", "danasign.whoami"):
        (entry,) = sb.requests_for(route)
        assert entry.headers["x-danassign-api-key"] == sb.credentials.danasign_api_token
        assert "x-api-token" not in entry.headers


async def test_contacts_create_batch_list_and_search(sb: Sandbox, client: sa.SigningClient) -> None:
    single = await client.contacts.create(
        name="Ana Pérez", email="ana@example.com", phone="+34 600"
    )
    batch = await client.contacts.create_batch(
        [
            sa.NewContact(name=f"Person {n:02d}", email=f"person{n:02d}@example.com")
            for n in range(43)
        ]
        + [{"name": "Mariana Ruiz", "email": "mariana@example.com", "phone": "+57 300"}]
    )
    # A second batch with a duplicate: the server counts it as failed.
    again = await client.contacts.create_batch(
        [sa.NewContact(name="Ana Again", email="ANA@example.com")]
    )
    listed = [contact async for contact in client.contacts.list(page_size=20)]
    found = [contact async for contact in client.contacts.list(search="ANA")]

    assert single.object_id
    assert single.name == "Ana Pérez"
    # The sandbox reads the batch's PascalCase keys only: every row counted as
    # created proves the SDK sent Name/Email/Phone.
    assert (batch.success, batch.failed) == (44, 0)
    assert (again.success, again.failed) == (0, 1)
    assert len(listed) == 45
    assert len({contact.object_id for contact in listed}) == 45
    assert listed[0].email == "ana@example.com"
    assert listed[-1].phone == "+57 300"
    assert listed[-1].created_at is not None
    pages = sb.requests_for("danasign.contacts.list")[:3]
    assert [(entry.query["limit"], entry.query["skip"]) for entry in pages] == [
        ("20", "0"),
        ("20", "20"),
        ("20", "40"),
    ]
    assert sorted(str(contact.name) for contact in found) == ["Ana Pérez", "Mariana Ruiz"]
    (search,) = sb.requests_for("danasign.contacts.list")[3:]
    assert search.query["search"] == "ANA"


async def test_document_from_a_pdf_with_two_signers(
    sb: Sandbox, client: sa.SigningClient, files: Samples
) -> None:
    with anyio.fail_after(WAIT):
        document = await create(client, files.contract, "ext-001")

    assert document.status == "sent"
    assert document.sent_at is not None
    assert document.expires_at is not None
    assert (document.expires_at - document.sent_at).days == 7
    assert sb.created_count("ext-001") == 1
    (entry,) = sb.requests_for("danasign.createdocument")
    assert entry.status == 200
    assert entry.external_id == "ext-001"
    assert entry.headers["x-api-token"] == sb.credentials.danasign_api_token
    # The PDF went as Base64 inside JSON with an exact Content-Length.
    assert entry.headers["Content-Type"] == "application/json"
    assert entry.body_size > files.contract.stat().st_size * 4 // 3


async def test_create_without_the_write_scope_is_permission_denied(
    sb: Sandbox, readonly: sa.SigningClient, files: Samples
) -> None:
    with pytest.raises(sa.PermissionDeniedError) as caught:
        await create(readonly, files.contract, "ext-readonly")

    assert caught.value.status == 403
    assert caught.value.message == "missing scope documents:write"
    assert "missing scope documents:write" in str(caught.value)
    assert sb.created_count("ext-readonly") == 0
    # The read scope still lists.
    assert [doc async for doc in readonly.documents.list(sa.DocumentStatus.SENT)] == []


async def test_a_bad_api_token_is_an_authentication_error(sb: Sandbox, files: Samples) -> None:
    config = sa.DanaSignConfig(server_url=sb.url, api_token="not-a-token")
    async with sb.client(danasign=config) as client:
        with pytest.raises(sa.AuthenticationError) as creating:
            await create(client, files.contract, "ext-bad")
        with pytest.raises(sa.AuthenticationError) as asking:
            await client.api_tokens.whoami()

    for error in (creating.value, asking.value):
        assert error.status == 405
        assert "Invalid API token" in str(error)
        assert "not-a-token" not in str(error)
    # A fixed token cannot be renewed: no replay.
    assert len(sb.requests_for("danasign.createdocument")) == 1
    assert len(sb.requests_for("danasign.whoami")) == 1


async def test_document_from_a_seeded_template(sb: Sandbox, client: sa.SigningClient) -> None:
    templates = [template async for template in client.templates.list(search="nda")]
    (nda,) = templates
    template = await client.templates.get(nda.object_id)
    document = await client.documents.create_from_template(
        nda.object_id,
        signers=[
            sa.TemplateSigner(role="Party A", name="Ana Pérez", email="ana@example.com"),
            {"role": "Party B", "name": "Luis Gómez", "email": "luis@example.com"},
        ],
        defaults=[sa.TemplateDefault(name="company", default="Acme")],
        metadata={"external_id": "ext-tpl", "tags": ["nda"]},
    )

    assert nda.signature_type == ("draw",)
    assert len(template.placeholders) == 2
    assert document.template_id == nda.object_id
    assert document.title == "NDA"
    assert document.status == "draft"
    assert sb.created_count("ext-tpl") == 1
    drafts = [doc async for doc in client.documents.list(sa.DocumentStatus.DRAFT)]
    assert [doc.document_id for doc in drafts] == [document.document_id]


async def test_an_unknown_template_is_not_found(sb: Sandbox, client: sa.SigningClient) -> None:
    with pytest.raises(sa.NotFoundError) as caught:
        await client.documents.create_from_template(
            "NoSuchTpl0",
            signers=[sa.TemplateSigner(role="Party A", name="Ana", email="ana@example.com")],
            metadata=sa.DocumentMetadata(external_id="ext-missing"),
        )
    assert caught.value.status == 404
    assert "template not found" in str(caught.value)
    assert sb.created_count("ext-missing") == 0


async def test_documents_listed_by_status_as_they_move(
    sb: Sandbox, client: sa.SigningClient
) -> None:
    pdf = sa.Document(samples.make_pdf(pages=2), "small.pdf")
    created = []
    for number in range(5):
        created.append(
            await client.documents.create(
                file=pdf,
                title=f"Doc {number}",
                signers=SIGNERS,
                placeholders=PLACEHOLDERS,
                metadata=sa.DocumentMetadata(external_id=f"ext-list-{number}"),
            )
        )
    sb.set_document_status(created[0].document_id, "completed")
    sb.set_document_status(created[1].document_id, "declined")

    sent = [doc async for doc in client.documents.list(sa.DocumentStatus.SENT, page_size=2)]
    completed = [doc async for doc in client.documents.list("completed")]
    declined = await client.documents.list(sa.DocumentStatus.DECLINED).first_page()

    assert sorted(doc.document_id for doc in sent) == sorted(d.document_id for d in created[2:])
    assert {doc.status for doc in sent} == {"sent"}
    assert [doc.document_id for doc in completed] == [created[0].document_id]
    assert completed[0].title == "Doc 0"
    assert [doc.document_id for doc in declined.items] == [created[1].document_id]
    assert declined.total is None
    assert declined.has_more is False
    # Three sent documents at two a page: the second page is short, and the last.
    pages = [e for e in sb.requests_for("danasign.documentlist") if e.path.endswith("/sent")]
    assert [(entry.query["limit"], entry.query["skip"]) for entry in pages] == [
        ("2", "0"),
        ("2", "2"),
    ]
    for number in range(5):
        assert sb.created_count(f"ext-list-{number}") == 1


async def test_a_create_dropped_after_the_server_acted_is_not_sent_twice(
    sb: Sandbox, client: sa.SigningClient, files: Samples
) -> None:
    sb.faults.add(Fault(route="danasign.createdocument", drop="after", times=1))
    with anyio.fail_after(WAIT), pytest.raises(sa.TransportError) as caught:
        await create(client, files.contract, "ext-drop")
    assert caught.value.request_sent is True
    assert [entry.status for entry in sb.requests_for("danasign.createdocument")] == [None]
    assert sb.created_count("ext-drop") == 1


async def test_a_create_refused_with_503_is_retried_and_made_once(
    sb: Sandbox, client: sa.SigningClient, files: Samples
) -> None:
    sb.faults.add(Fault(route="danasign.createdocument", status=503, times=1))
    with anyio.fail_after(WAIT):
        document = await create(client, files.contract, "ext-503")
    assert document.status == "sent"
    assert [entry.status for entry in sb.requests_for("danasign.createdocument")] == [503, 200]
    assert sb.created_count("ext-503") == 1


async def test_a_create_failing_with_500_is_not_replayed(
    sb: Sandbox, client: sa.SigningClient, files: Samples
) -> None:
    sb.faults.add(Fault(route="danasign.createdocument", status=500, times=1))
    with anyio.fail_after(WAIT), pytest.raises(sa.ServerError) as caught:
        await create(client, files.contract, "ext-500")
    assert caught.value.status == 500
    assert [entry.status for entry in sb.requests_for("danasign.createdocument")] == [500]
    # A listing is a GET: the same 500 is retried there.
    sb.faults.add(Fault(route="danasign.documentlist", status=500, times=1))
    assert [doc async for doc in client.documents.list(sa.DocumentStatus.SENT)] == []
    assert [entry.status for entry in sb.requests_for("danasign.documentlist")] == [500, 200]
