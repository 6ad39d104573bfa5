"""client.contacts.create_many: batches, and per-item outcomes derived from counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from danasign_helpers import MakeClient, body, path, query, reply

import signing_async as sa
from signing_async.sandbox import Sandbox
from signing_async.transports import RecordedRequest


class FakeContacts:
    """DANAsign's contact routes, in memory: refuses duplicates and blocked domains."""

    def __init__(self, existing: tuple[str, ...] = (), blocked: str = "@blocked.example") -> None:
        self.emails = list(existing)
        self.blocked = blocked
        self.batches: list[list[str]] = []
        self.lookups: list[str] = []
        self.batch_fault: str | None = None
        self.list_fault: int | None = None

    def handle(self, request: RecordedRequest) -> sa.Response:
        if request.method == "GET":
            search = query(request).get("search", "").lower()
            self.lookups.append(search)
            if self.list_fault is not None:
                return reply({"error": "listing is down"}, self.list_fault)
            rows = [
                {"objectId": f"o{i}", "Name": "x", "Email": email}
                for i, email in enumerate(self.emails)
                if search in email.lower()
            ]
            return reply({"data": rows, "pagination": {"total": len(rows), "hasMore": False}})
        assert path(request) == "/api/1.0/contacts/batch"
        rows = body(request)["contacts"]
        self.batches.append([row["Email"] for row in rows])
        if self.batch_fault == "drop":
            raise sa.TransportError("connection lost", request_sent=True)
        success = failed = 0
        for row in rows:
            email = row["Email"]
            known = {e.lower() for e in self.emails}
            if email.lower() in known or email.endswith(self.blocked):
                failed += 1
            else:
                self.emails.append(email)
                success += 1
        return reply({"data": {"success": success, "failed": failed}})


def person(index: int, domain: str = "example.com") -> dict[str, str]:
    return {"name": f"Person {index}", "email": f"person{index}@{domain}"}


async def collect(
    run: sa.BulkRun[sa.NewContact],
) -> dict[str | None, sa.BulkOutcome[sa.NewContact]]:
    async with run as outcomes:
        found = [outcome async for outcome in outcomes]
    by_key = {outcome.key: outcome for outcome in found}
    assert len(by_key) == len(found)
    return by_key


def statuses(outcomes: dict[str | None, sa.BulkOutcome[Any]]) -> dict[str | None, str]:
    return {key: outcome.status for key, outcome in outcomes.items()}


async def test_items_are_packed_into_batches_and_all_succeed(make_client: MakeClient) -> None:
    server = FakeContacts()
    client, transport = make_client(server.handle)
    items: list[Any] = [person(i) for i in range(6)]
    items.append(sa.NewContact(name="Seven", email="Seven@Example.com", phone="555"))
    outcomes = await collect(client.contacts.create_many(items, batch_size=3, concurrency=1))

    assert [len(batch) for batch in server.batches] == [3, 3, 1]
    assert server.lookups == []  # the counts were enough
    assert set(statuses(outcomes).values()) == {"succeeded"}
    assert outcomes["seven@example.com"].result == sa.NewContact(
        "Seven", "Seven@Example.com", "555"
    )
    assert outcomes["person0@example.com"].result == sa.NewContact(
        "Person 0", "person0@example.com"
    )
    assert body(transport.requests[-1]) == {
        "contacts": [{"Name": "Seven", "Email": "Seven@Example.com", "Phone": "555"}]
    }


async def test_a_batch_refused_whole_fails_every_item(make_client: MakeClient) -> None:
    server = FakeContacts()
    client, _ = make_client(server.handle)
    items = [person(i, "blocked.example") for i in range(2)]
    outcomes = await collect(client.contacts.create_many(items, batch_size=5, concurrency=1))

    assert set(statuses(outcomes).values()) == {"failed"}
    error = outcomes["person0@blocked.example"].error
    assert isinstance(error, sa.APIError)
    assert "0 created and 2 failed" in str(error)
    assert "this contact was not created" in str(error)
    assert server.lookups == []


async def test_mixed_counts_are_resolved_by_looking_each_contact_up(
    make_client: MakeClient,
) -> None:
    server = FakeContacts()
    client, _ = make_client(server.handle)
    items = [person(0), person(1, "blocked.example"), person(2)]
    outcomes = await collect(client.contacts.create_many(items, batch_size=3, concurrency=1))

    # Two created, one refused, and exactly two found: the found ones are the created ones.
    assert statuses(outcomes) == {
        "person0@example.com": "succeeded",
        "person1@blocked.example": "failed",
        "person2@example.com": "succeeded",
    }
    assert sorted(server.lookups) == sorted(item["email"] for item in items)
    assert "and it is not there" in str(outcomes["person1@blocked.example"].error)


async def test_a_contact_that_existed_before_makes_its_batch_uncertain(
    make_client: MakeClient,
) -> None:
    server = FakeContacts(existing=("PERSON1@example.com",))
    client, _ = make_client(server.handle)
    items = [person(0), person(1), person(2, "blocked.example"), person(3)]
    outcomes = await collect(client.contacts.create_many(items, batch_size=4, concurrency=1))

    # 2 created, 2 failed, 3 found: one of the found ones was there before, which one is unknown.
    assert statuses(outcomes) == {
        "person0@example.com": "uncertain",
        "person1@example.com": "uncertain",
        "person2@blocked.example": "failed",
        "person3@example.com": "uncertain",
    }
    assert "may have existed before the batch" in str(outcomes["person0@example.com"].error)


async def test_a_failed_lookup_leaves_its_item_uncertain(make_client: MakeClient) -> None:
    server = FakeContacts(existing=("person1@example.com",))
    server.list_fault = 404
    client, _ = make_client(server.handle)
    items = [person(0), person(1)]
    outcomes = await collect(client.contacts.create_many(items, batch_size=2, concurrency=1))

    assert set(statuses(outcomes).values()) == {"uncertain"}
    assert "looking 'person0@example.com' up failed" in str(outcomes["person0@example.com"].error)


async def test_bad_and_duplicate_items_fail_alone_and_never_reach_a_batch(
    make_client: MakeClient,
) -> None:
    server = FakeContacts()
    client, _ = make_client(server.handle)
    items: list[Any] = [
        person(0),
        {"name": "No Mail", "email": "not-an-email"},
        {"name": "", "email": "blank@example.com"},
        {"name": "Extra", "email": "extra@example.com", "age": 3},
        {"name": "Again", "email": "PERSON0@Example.com"},
        42,
        person(1),
    ]
    run = client.contacts.create_many(items, batch_size=10, concurrency=1)
    async with run as outcomes:
        found = sorted([outcome async for outcome in outcomes], key=lambda o: o.index)

    assert [outcome.status for outcome in found] == ["succeeded"] + ["failed"] * 5 + ["succeeded"]
    messages = [str(outcome.error) for outcome in found]
    assert messages[1] == "email: not a valid e-mail address: 'not-an-email'"
    assert messages[2] == "name: must be a non-empty string"
    assert messages[3].startswith("contact.age: unknown key for NewContact")
    assert "'person0@example.com' was already used by item 0" in messages[4]
    assert messages[5] == "item: expected a NewContact or a mapping, not int"
    assert server.batches == [["person0@example.com", "person1@example.com"]]


async def test_a_lost_batch_answer_is_uncertain_and_not_resent(
    make_client: MakeClient, tmp_path: Path
) -> None:
    journal = tmp_path / "contacts.db"
    server = FakeContacts()
    server.batch_fault = "drop"
    client, _ = make_client(server.handle)
    items = [person(i) for i in range(4)]
    first = await collect(
        client.contacts.create_many(items, batch_size=2, concurrency=1, journal=journal)
    )
    assert set(statuses(first).values()) == {"uncertain"}
    assert len(server.batches) == 2

    server.batch_fault = None
    second = await collect(
        client.contacts.create_many(items, batch_size=2, concurrency=1, journal=journal)
    )
    assert set(statuses(second).values()) == {"uncertain"}
    assert len(server.batches) == 2  # nothing sent again

    third = await collect(
        client.contacts.create_many(
            items, batch_size=2, concurrency=1, journal=journal, on_uncertain="resend"
        )
    )
    # Resent: the first batches were dropped before the fake stored anything, so all are created.
    assert set(statuses(third).values()) == {"succeeded"}
    assert len(server.batches) == 4


async def test_a_journal_rerun_skips_created_contacts(
    make_client: MakeClient, tmp_path: Path
) -> None:
    journal = tmp_path / "contacts.db"
    server = FakeContacts()
    client, _ = make_client(server.handle)
    items = [person(i) for i in range(3)]
    first = await collect(client.contacts.create_many(items, concurrency=1, journal=journal))
    again = await collect(client.contacts.create_many(items, concurrency=1, journal=journal))
    assert len(server.batches) == 1
    assert set(statuses(again).values()) == {"skipped"}
    assert {k: o.result for k, o in again.items()} == {k: o.result for k, o in first.items()}


async def test_create_many_through_the_sandbox() -> None:
    async with Sandbox() as sb, sb.client() as client:
        await client.contacts.create(name="Old", email="person7@example.com")
        items = [person(i) for i in range(12)]
        outcomes = await collect(client.contacts.create_many(items, batch_size=5, concurrency=1))
        stored = [c.email or "" async for c in client.contacts.list(page_size=100)]
        batches = sb.requests_for("danasign.contacts.batch")

    assert len(batches) == 3
    assert sorted(stored) == sorted(item["email"] for item in items)
    # person7 existed: its batch (5..9) says 4 created, 1 failed, and all 5 are found.
    expected = {f"person{i}@example.com": "succeeded" for i in range(12)}
    expected.update({f"person{i}@example.com": "uncertain" for i in range(5, 10)})
    assert statuses(outcomes) == expected
