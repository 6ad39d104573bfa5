"""A fourth provider, registered with one line, gets everything the three built-in ones have.

``tests/fourth/provider.py`` is a whole provider (config, error mapping, one
namespace with one create operation, its bulk spec); nothing in
``signing_async`` names it. Each test below proves one thing the registry
gives it: the client's constructor and ``from_env``, its namespace, its
error mapping, ``create_many`` with a journal, and ``bulk-send``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import signing_async as sa
from signing_async import _providers
from signing_async.bulk import csv_types, file_fields
from signing_async.bulk._manifest import integer
from signing_async.cli._app import cli

from .provider import GREETER, Card, Cards, GreeterConfig, NewCard
from .server import KEY, GreeterServer


@pytest.fixture
def registered() -> Iterator[None]:
    _providers.register(GREETER)  # the one line a fourth provider needs
    try:
        yield
    finally:
        _providers.unregister(GREETER.name)


@pytest.fixture
def greeter() -> Iterator[GreeterServer]:
    with GreeterServer().running() as server:
        yield server


def test_unregistered_it_is_unknown() -> None:
    # What the registration line changes: without it the client refuses the argument.
    with pytest.raises(TypeError, match="greeter"):
        sa.SigningClient(greeter=GreeterConfig(base_url="http://127.0.0.1:1", api_key=KEY))
    assert "greeter" not in sa.SigningClient.from_env({"SIGNING_GREETER_URL": "x"})._configs


async def test_the_client_takes_its_config_and_builds_its_namespace(
    registered: None, greeter: GreeterServer, tmp_path: Path
) -> None:
    config = GreeterConfig(base_url=greeter.url, api_key=KEY)
    async with sa.SigningClient(greeter=config) as client:
        cards = client.cards
        assert isinstance(cards, Cards)
        assert client.cards is cards  # one namespace per client
        card = await cards.create(ref="r-1", to="Ana", attachment=b"hello")
    assert card == Card(card_id="card-1", ref="r-1")
    assert card.raw == {"ink": 1}
    assert greeter.bodies == [{"ref": "r-1", "to": "Ana", "copies": 1, "attachment": "hello"}]


async def test_a_wrong_config_type_and_an_unconfigured_namespace_are_refused(
    registered: None,
) -> None:
    with pytest.raises(sa.ConfigurationError, match="greeter"):
        sa.SigningClient(greeter="not a config")
    async with sa.SigningClient() as client:
        with pytest.raises(sa.ConfigurationError, match=r"greeter=GreeterConfig"):
            _ = client.cards


async def test_from_env_configures_it(registered: None, greeter: GreeterServer) -> None:
    env = {"SIGNING_GREETER_URL": greeter.url, "SIGNING_GREETER_KEY": KEY}
    async with sa.SigningClient.from_env(env) as client:
        card = await client.cards.create(ref="env-1", to="Bo", attachment=b"hi")
    assert card.card_id == "card-1"
    with pytest.raises(sa.ConfigurationError, match="SIGNING_GREETER_KEY"):
        sa.SigningClient.from_env({"SIGNING_GREETER_URL": greeter.url})


async def test_its_error_mapping_decides_the_exception(
    registered: None, greeter: GreeterServer
) -> None:
    async with sa.SigningClient(greeter=GreeterConfig(base_url=greeter.url, api_key=KEY)) as client:
        with pytest.raises(sa.ConflictError) as caught:
            await client.cards.create(ref="taken", to="Cy", attachment=b"x")
    assert caught.value.provider == "Greeter"
    assert caught.value.code == "GRT409"


async def test_create_many_with_a_journal_never_sends_twice(
    registered: None, greeter: GreeterServer, tmp_path: Path
) -> None:
    journal = tmp_path / "cards.db"
    items = [NewCard(ref=f"r-{i}", to="Di", attachment=b"x") for i in range(3)] + [
        {"ref": "r-3", "to": "Di", "attachment": b"y", "copies": 2}
    ]
    config = GreeterConfig(base_url=greeter.url, api_key=KEY)
    async with sa.SigningClient(greeter=config) as client:
        async with client.cards.create_many(items, journal=journal) as outcomes:
            first = {outcome.key: outcome async for outcome in outcomes}
        async with client.cards.create_many(items, journal=journal) as outcomes:
            second = {outcome.key: outcome async for outcome in outcomes}
    assert {key: o.status for key, o in first.items()} == dict.fromkeys(
        ["r-0", "r-1", "r-2", "r-3"], "succeeded"
    )
    assert {key: o.status for key, o in second.items()} == dict.fromkeys(
        ["r-0", "r-1", "r-2", "r-3"], "skipped"
    )
    assert {key: o.result for key, o in second.items()} == {
        key: o.result for key, o in first.items()
    }
    assert sorted(greeter.refs()) == ["r-0", "r-1", "r-2", "r-3"]


def test_the_manifest_reader_derives_its_file_fields_and_csv_types(registered: None) -> None:
    assert file_fields(NewCard) == ("attachment",)
    assert csv_types(NewCard) == {"copies": integer}


def test_bulk_send_takes_it_from_a_jsonl_manifest(
    registered: None, greeter: GreeterServer, tmp_path: Path
) -> None:
    (tmp_path / "hello.txt").write_text("hello from a file")
    manifest = tmp_path / "cards.jsonl"
    rows = [
        {"ref": "m-1", "to": "Ed", "attachment": "hello.txt"},
        {"ref": "m-2", "to": "Flo", "attachment": "hello.txt", "copies": 3},
    ]
    manifest.write_text("".join(json.dumps(row) + "\n" for row in rows))
    env = {"SIGNING_GREETER_URL": greeter.url, "SIGNING_GREETER_KEY": KEY}

    result = CliRunner().invoke(
        cli, ["bulk-send", str(manifest), "--provider", "greeter", "--json"], env=env
    )

    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    items = {line["key"]: line for line in lines if line["event"] == "item"}
    assert {key: item["status"] for key, item in items.items()} == {
        "m-1": "succeeded",
        "m-2": "succeeded",
    }
    assert {item["id"] for item in items.values()} == {"card-1", "card-2"}
    # The file field was read relative to the manifest, and the journal kept the job.
    assert sorted(body["attachment"] for body in greeter.bodies) == ["hello from a file"] * 2
    assert (tmp_path / "cards.jsonl.journal.db").exists()


async def test_an_emulation_entry_gives_it_a_place_in_sandbox_client(registered: None) -> None:
    # No routes are emulated for Greeter here: this shows only where an
    # emulation plugs in (one entry), and that Sandbox.client() then configures it.
    from signing_async.sandbox import Sandbox
    from signing_async.sandbox._emulations import EMULATIONS, Emulation, credential_lines

    entry = Emulation(
        "greeter", lambda url, _: {"base_url": url, "api_key": KEY}, lambda _: "api_key=sandbox"
    )
    EMULATIONS.append(entry)
    try:
        async with Sandbox() as sb:
            async with sb.client() as client:
                assert isinstance(client.cards, Cards)
                assert client._configs["greeter"] == GreeterConfig(base_url=sb.url, api_key=KEY)
                assert client._configs["danasign"] is not None
            assert "greeter: api_key=sandbox" in credential_lines(sb.credentials)
    finally:
        EMULATIONS.remove(entry)


class PoolRecorder(sa.AiohttpTransport):
    """The default transport, remembering each size its pool was asked to reach."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[int] = []

    def ensure_connections(self, count: int) -> None:
        self.asked.append(count)
        super().ensure_connections(count)


async def test_a_bulk_method_made_from_its_spec_grows_the_clients_pool(
    registered: None, greeter: GreeterServer
) -> None:
    transport = PoolRecorder()
    config = GreeterConfig(base_url=greeter.url, api_key=KEY)
    items = [{"ref": f"p-{i}", "to": "Gus", "attachment": b"x"} for i in range(3)]
    async with (
        sa.SigningClient(greeter=config, transport=transport) as client,
        client.cards.create_many(items, concurrency=37) as outcomes,
    ):
        statuses = [outcome.status async for outcome in outcomes]
    assert statuses == ["succeeded"] * 3
    assert transport.asked == [37]


def test_from_env_reads_each_listed_field_and_empty_optional_ones_keep_their_default() -> None:
    # One reader serves every provider: each variable reaches its field.
    danaconnect = _providers.lookup("danaconnect").config_from_env(
        {
            "SIGNING_DANACONNECT_CLIENT_ID": "id",
            "SIGNING_DANACONNECT_CLIENT_SECRET": "secret",
            "SIGNING_DANACONNECT_CHANNEL": "acme",
            "SIGNING_DANACONNECT_SUBDOMAIN": "",
            "SIGNING_DANACONNECT_BASE_URL": "",
            "SIGNING_DANACONNECT_DOWNLOAD_URL": "https://dl.example",
        }
    )
    assert danaconnect == sa.DanaConnectConfig(
        client_id="id",
        client_secret="secret",
        channel="acme",
        download_base_url="https://dl.example",
    )
    sofia = _providers.lookup("sofia").config_from_env(
        {
            "SIGNING_SOFIA_CLIENT_ID": "id",
            "SIGNING_SOFIA_CLIENT_SECRET": "secret",
            "SIGNING_SOFIA_TENANT_ID": "t-1",
            "SIGNING_SOFIA_BASE_URL": "https://sofia.example",
            "SIGNING_SOFIA_UPLOAD_ENCODING": "json",
        }
    )
    assert sofia == sa.SofiaConfig(
        client_id="id",
        client_secret="secret",
        tenant_id="t-1",
        base_url="https://sofia.example",
        upload_encoding="json",
    )
    danasign = _providers.lookup("danasign")
    assert danasign.env_switch == "SIGNING_DANASIGN_SERVER_URL"
    assert danasign.config_from_env({}) is None
    with pytest.raises(sa.ConfigurationError, match="SIGNING_DANASIGN_API_TOKEN is not set"):
        danasign.config_from_env(
            {"SIGNING_DANASIGN_SERVER_URL": "https://s.example", "SIGNING_DANASIGN_API_TOKEN": ""}
        )
