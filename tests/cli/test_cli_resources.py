"""The resource commands, run as child processes against a ``signing-async sandbox`` server."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zipfile
from pathlib import Path

import attrs
import pypdf
from cli_helpers import SandboxProcess, run_cli

from signing_async.sandbox import SandboxCredentials, samples


def _pdf(folder: Path, name: str, pages: int = 1) -> Path:
    return samples.write_pdf(folder / name, pages=pages)


def test_the_sandbox_prints_the_credentials_it_accepts(sandbox: SandboxProcess) -> None:
    defaults = attrs.asdict(SandboxCredentials())
    printed = sandbox.credentials
    assert printed["danaconnect"] == {
        "client_id": defaults["danaconnect_client_id"],
        "client_secret": defaults["danaconnect_client_secret"],
        "channel": defaults["channel"],
    }
    assert printed["danasign"]["api_token"] == defaults["danasign_api_token"]
    assert printed["sofia"] == {
        "client_id": defaults["sofia_client_id"],
        "client_secret": defaults["sofia_client_secret"],
        "tenant_id": defaults["sofia_tenant_id"],
    }
    assert sandbox.printed.startswith(f"sandbox listening on {sandbox.url} ")


def test_circuit_start_complete_and_download(sandbox: SandboxProcess, tmp_path: Path) -> None:
    env = sandbox.env()
    docs = [_pdf(tmp_path, "one.pdf", pages=2), _pdf(tmp_path, "two.pdf")]
    started = run_cli(
        "circuits",
        "start",
        "--id",
        "cli-circuit-1",
        "--name",
        "Ana Pérez",
        "--email",
        "ana@example.com",
        "--nif",
        "12345678A",
        *docs,
        env=env,
    )
    assert started.returncode == 0, started.stderr
    assert started.stderr == ""
    fields = started.fields()
    assert set(fields) == {"circuit_id", "link"}
    circuit_id = fields["circuit_id"]
    assert circuit_id
    assert fields["link"].startswith(f"{sandbox.url}/")

    target = tmp_path / "signed.zip"
    early = run_cli("circuits", "download", circuit_id, target, env=env)
    assert "not completed" in early.single_error()
    assert not target.exists()

    sandbox.call("POST", f"/_sandbox/circuits/{circuit_id}/complete")
    downloaded = run_cli("circuits", "download", circuit_id, target, env=env)
    assert downloaded.returncode == 0, downloaded.stderr
    fields = downloaded.fields()
    data = target.read_bytes()
    assert fields == {
        "path": str(target),
        "size": str(len(data)),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    with zipfile.ZipFile(target) as archive:
        assert len(archive.namelist()) == len(docs)
        assert all(archive.read(name).startswith(b"%PDF-") for name in archive.namelist())


def test_circuit_commands_with_json(sandbox: SandboxProcess, tmp_path: Path) -> None:
    env = sandbox.env()
    started = run_cli(
        "circuits",
        "start",
        "--id",
        "cli-circuit-2",
        "--name",
        "Bruno Díaz",
        "--email",
        "bruno@example.com",
        "--nif",
        "87654321B",
        _pdf(tmp_path, "doc.pdf"),
        "--json",
        env=env,
    )
    assert started.returncode == 0, started.stderr
    (circuit,) = started.json_lines()
    assert set(circuit) == {"circuit_id", "link"}  # no "raw"

    sandbox.call("POST", f"/_sandbox/circuits/{circuit['circuit_id']}/complete")
    target = tmp_path / "signed.zip"
    downloaded = run_cli("circuits", "download", circuit["circuit_id"], target, "--json", env=env)
    assert downloaded.returncode == 0, downloaded.stderr
    (result,) = downloaded.json_lines()
    assert result == {
        "path": str(target),
        "size": target.stat().st_size,
        "sha256": hashlib.sha256(target.read_bytes()).hexdigest(),
    }


def test_documents_create_and_list(sandbox: SandboxProcess, tmp_path: Path) -> None:
    env = sandbox.env()
    contract = _pdf(tmp_path, "contract.pdf", pages=2)
    created = run_cli(
        "documents",
        "create",
        contract,
        "--title",
        "CLI contract",
        "--signer",
        "Client, Ana Pérez, ana@example.com",
        "--signer",
        "Provider,Bruno Díaz,bruno@example.com",
        # Two boxes for one role end up in that role's single placeholder.
        "--signature",
        "Client,1,50,700,170,57",
        "--signature",
        "Client,2,50,700,170,57",
        "--signature",
        "Provider,2,350,700,170,57",
        "--external-id",
        "cli-doc-1",
        env=env,
    )
    assert created.returncode == 0, created.stderr
    fields = created.fields()
    assert fields["status"] == "sent"
    first_id = fields["document_id"]
    sent_at = dt.datetime.fromisoformat(fields["sent_at"])
    assert dt.datetime.fromisoformat(fields["expires_at"]) > sent_at

    as_json = run_cli(
        "documents",
        "create",
        contract,
        "--title",
        "CLI contract (JSON)",
        "--signer",
        "Client,Carla Gómez,carla@example.com",
        "--signature",
        "Client,1,50,700,170,57",
        "--json",
        env=env,
    )
    assert as_json.returncode == 0, as_json.stderr
    (document,) = as_json.json_lines()
    assert "raw" not in document
    assert document["status"] == "sent"
    dt.datetime.fromisoformat(document["sent_at"])
    second_id = document["document_id"]

    listed = run_cli("documents", "list", "sent", "--page-size", "1", env=env)
    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.lines
    assert header == "id\ttitle\tstatus\tcreated"  # pure TSV: no title line
    cells = [row.split("\t") for row in rows]
    assert all(len(row) == 4 for row in cells), rows
    by_id = {row[0]: row for row in cells}
    # --page-size 1 still lists every document: the command walks the pages.
    assert by_id[first_id][1:3] == ["CLI contract", "sent"]
    assert by_id[second_id][1:3] == ["CLI contract (JSON)", "sent"]
    dt.datetime.fromisoformat(by_id[first_id][3])

    listed_json = run_cli("documents", "list", "sent", "--json", env=env)
    assert listed_json.returncode == 0, listed_json.stderr
    (table,) = listed_json.json_lines()
    assert table["table"] == "documents (sent)"
    ids = {row["id"] for row in table["rows"]}
    assert {first_id, second_id} <= ids
    assert len(ids) == len(rows)


def test_contacts_list(sandbox: SandboxProcess) -> None:
    token = {"x-api-token": sandbox.credentials["danasign"]["api_token"]}
    for contact in (
        {"name": "Ana Pérez", "email": "ana.cli@example.com", "phone": "+34600000001"},
        {"name": "Bruno Díaz", "email": "bruno.cli@example.com"},
    ):
        sandbox.call("POST", "/api/1.0/contacts", contact, headers=token)
    env = sandbox.env()

    found = run_cli("contacts", "list", "--search", "ANA.CLI", env=env)
    assert found.returncode == 0, found.stderr
    header, *rows = found.lines
    assert header == "id\tname\temail\tphone"
    assert [row.split("\t")[1:] for row in rows] == [
        ["Ana Pérez", "ana.cli@example.com", "+34600000001"]
    ]

    no_phone = run_cli("contacts", "list", "--search", "bruno.cli", env=env)
    assert [row.split("\t")[1:] for row in no_phone.lines[1:]] == [
        ["Bruno Díaz", "bruno.cli@example.com", ""]
    ]

    every = run_cli("contacts", "list", "--page-size", "1", "--json", env=env)
    assert every.returncode == 0, every.stderr
    (table,) = every.json_lines()
    emails = {row["email"] for row in table["rows"]}
    assert {"ana.cli@example.com", "bruno.cli@example.com"} <= emails


def test_templates_list_and_get(sandbox: SandboxProcess) -> None:
    env = sandbox.env()
    listed = run_cli("templates", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.lines
    assert header == "id\tname\tdescription"
    templates = [row.split("\t") for row in rows]
    assert templates
    assert all(len(row) == 3 for row in templates)
    template_id, name, _ = templates[0]

    search = name[1:].upper()
    searched = run_cli("templates", "list", "--search", search, "--json", env=env)
    (table,) = searched.json_lines()
    assert template_id in {row["id"] for row in table["rows"]}
    assert all(search.lower() in row["name"].lower() for row in table["rows"])

    shown = run_cli("templates", "get", template_id, env=env)
    assert shown.returncode == 0, shown.stderr
    fields = shown.fields()
    assert (fields["object_id"], fields["name"]) == (template_id, name)
    assert "raw" not in fields
    # Plain values are text or JSON, never Python reprs.
    assert isinstance(json.loads(fields["placeholders"]), list)
    assert fields["send_in_order"] in {"true", "false"}
    assert not any(value in {"None", "True", "False"} for value in fields.values())
    dt.datetime.fromisoformat(fields["created_at"])

    shown_json = run_cli("templates", "get", template_id, "--json", env=env)
    (template,) = shown_json.json_lines()
    assert (template["object_id"], template["name"]) == (template_id, name)
    assert "raw" not in template
    assert template["placeholders"] == json.loads(fields["placeholders"])


def test_otp_create_sign_and_download(sandbox: SandboxProcess, tmp_path: Path) -> None:
    env = sandbox.env()
    selfie = tmp_path / "selfie.jpg"
    selfie.write_bytes(samples.make_jpeg())
    front = tmp_path / "front.png"
    front.write_bytes(samples.make_png())
    document = _pdf(tmp_path, "otp.pdf")
    created = run_cli(
        "otp",
        "create",
        "--transaction-id",
        "cli-otp-1",
        "--selfie",
        selfie,
        "--front",
        front,
        "--document",
        document,
        "--phone",
        "+34600000001",
        "--email",
        "ana@example.com",
        env=env,
    )
    assert created.returncode == 0, created.stderr
    fields = created.fields()
    assert (fields["transaction_id"], fields["status"]) == ("cli-otp-1", "PENDING_OTP")
    assert set(json.loads(fields["storage_paths"])) >= {"user_selfie", "document_sign"}

    code = sandbox.call("GET", "/_sandbox/otp/cli-otp-1")["otp_code"]
    signed = run_cli("otp", "sign", "cli-otp-1", code, "--json", env=env)
    assert signed.returncode == 0, signed.stderr
    (signature,) = signed.json_lines()
    assert signature["status"] == "SIGNED"
    assert signature["signature_hash"]

    target = tmp_path / "signed.pdf"
    downloaded = run_cli("otp", "download", signature["signed_document_url"], target, env=env)
    assert downloaded.returncode == 0, downloaded.stderr
    fields = downloaded.fields()
    data = target.read_bytes()
    assert (fields["path"], fields["size"]) == (str(target), str(len(data)))
    assert fields["sha256"] == hashlib.sha256(data).hexdigest()
    # A bare URL carries no hash to compare with: not checked, which is not "false".
    assert fields["hash_verified"] == "not checked"
    metadata = pypdf.PdfReader(target).metadata
    assert metadata is not None
    assert metadata["/SignatureHash"] == signature["signature_hash"]


def test_otp_commands_with_json(sandbox: SandboxProcess, tmp_path: Path) -> None:
    env = sandbox.env()
    images = {}
    for name, blob in (("selfie.png", samples.make_png()), ("front.jpg", samples.make_jpeg())):
        images[name] = tmp_path / name
        images[name].write_bytes(blob)
    back = tmp_path / "back.png"
    back.write_bytes(samples.make_png())
    created = run_cli(
        "otp",
        "create",
        "--transaction-id",
        "cli-otp-2",
        "--selfie",
        images["selfie.png"],
        "--front",
        images["front.jpg"],
        "--back",
        back,
        "--document",
        _pdf(tmp_path, "otp.pdf"),
        "--phone",
        "+34600000002",
        "--email",
        "bruno@example.com",
        "--json",
        env=env,
    )
    assert created.returncode == 0, created.stderr
    (request,) = created.json_lines()
    assert request["status"] == "PENDING_OTP"
    assert "image_back" in request["storage_paths"]
    dt.datetime.fromisoformat(request["timestamp"])

    code = sandbox.call("GET", "/_sandbox/otp/cli-otp-2")["otp_code"]
    signed = run_cli("otp", "sign", "cli-otp-2", code, env=env)
    assert signed.returncode == 0, signed.stderr
    url = signed.fields()["signed_document_url"]
    target = tmp_path / "signed.pdf"
    downloaded = run_cli("otp", "download", url, target, "--json", env=env)
    (result,) = downloaded.json_lines()
    assert result["size"] == target.stat().st_size
    assert result["path"] == str(target)
    assert target.read_bytes().startswith(b"%PDF-")
