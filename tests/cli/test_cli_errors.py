"""Errors: one ``error: ...`` line on stderr, exit status 1, no traceback, no secret.

``run_cli`` checks every run for leaked tokens and client secrets; the tests
here give it distinctive ones.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import SandboxProcess, base_env, run_cli

from signing_async.sandbox import samples

CONTRACT_ARGS = ("--title", "T", "--signer", "Client,Ana Pérez,ana@example.com")


def test_unknown_template_is_not_found(sandbox: SandboxProcess) -> None:
    result = run_cli("templates", "get", "unknown-id", env=sandbox.env())
    message = result.single_error()
    assert "not found" in message
    assert "unknown-id" in message
    assert result.stdout == ""


def test_with_json_the_error_is_a_json_line_on_stderr(sandbox: SandboxProcess) -> None:
    result = run_cli("templates", "get", "unknown-id", "--json", env=sandbox.env())
    assert result.returncode == 1
    assert result.stdout == ""  # only results go there
    (line,) = result.stderr.splitlines()
    error = json.loads(line)
    assert error["event"] == "error"
    assert "not found" in error["message"]


@pytest.mark.parametrize(
    ("command", "variable"),
    [
        (("templates", "list"), "SIGNING_DANASIGN_SERVER_URL"),
        (("circuits", "download", "1", "out.zip"), "SIGNING_DANACONNECT_CLIENT_ID"),
        (("otp", "sign", "tx-1", "123456"), "SIGNING_SOFIA_CLIENT_ID"),
    ],
)
def test_an_unconfigured_provider_names_its_variable(
    command: tuple[str, ...], variable: str, tmp_path: Path
) -> None:
    result = run_cli(*command, env=base_env(), cwd=tmp_path)
    message = result.single_error()
    assert "not configured" in message
    assert variable in message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("variables", "missing"),
    [
        ({"SIGNING_DANASIGN_SERVER_URL": "https://sign.example"}, "SIGNING_DANASIGN_API_TOKEN"),
        (
            {
                "SIGNING_DANACONNECT_CLIENT_ID": "acme",
                "SIGNING_DANACONNECT_CLIENT_SECRET": "dc-secret-7f3a",
            },
            "SIGNING_DANACONNECT_CHANNEL",
        ),
        (
            {"SIGNING_SOFIA_CLIENT_ID": "acme", "SIGNING_SOFIA_CLIENT_SECRET": "so-secret-91c2"},
            "SIGNING_SOFIA_TENANT_ID",
        ),
    ],
)
def test_an_incomplete_provider_names_the_missing_variable(
    variables: dict[str, str], missing: str
) -> None:
    command = {
        "SIGNING_DANASIGN_": ("templates", "list"),
        "SIGNING_DANACONNECT_": ("circuits", "download", "1", "out.zip"),
        "SIGNING_SOFIA_": ("otp", "sign", "tx-1", "123456"),
    }
    prefix = next(p for p in command if missing.startswith(p))
    result = run_cli(*command[prefix], env=base_env(**variables))
    assert missing in result.single_error()


def test_another_providers_incomplete_setup_does_not_block(sandbox: SandboxProcess) -> None:
    env = sandbox.env()
    del env["SIGNING_SOFIA_CLIENT_SECRET"]
    result = run_cli("templates", "list", env=env)
    assert result.returncode == 0, result.stderr
    assert result.lines[0] == "id\tname\tdescription"  # pure TSV: no title line


def test_an_invalid_setting_is_a_configuration_error() -> None:
    env = base_env(
        SIGNING_DANASIGN_SERVER_URL="not a url", SIGNING_DANASIGN_API_TOKEN="ds-token-5be1"
    )
    assert "server_url" in run_cli("templates", "list", env=env).single_error()


@pytest.mark.parametrize(
    ("variable", "secret", "command"),
    [
        ("SIGNING_DANASIGN_API_TOKEN", "ds-token-wrong-4d21", ("templates", "list")),
        (
            "SIGNING_DANACONNECT_CLIENT_SECRET",
            "dc-secret-wrong-8e40",
            ("circuits", "download", "1", "out.zip"),
        ),
        ("SIGNING_SOFIA_CLIENT_SECRET", "so-secret-wrong-13b7", ("otp", "sign", "x", "1")),
    ],
)
def test_wrong_credentials_fail_without_showing_them(
    sandbox: SandboxProcess, variable: str, secret: str, command: tuple[str, ...], tmp_path: Path
) -> None:
    result = run_cli(*command, env=sandbox.env(**{variable: secret}), cwd=tmp_path)
    message = result.single_error()
    # DANAsign says 405 for a bad token; the others 401.
    assert "HTTP 405" in message or "HTTP 401" in message
    assert secret not in message  # run_cli checks both streams as well


@pytest.mark.parametrize(
    ("signature", "problem"),
    [
        ("Client,1,50,x,100,40", "must be integers"),
        ("Client,1,50.5,700,100,40", "must be integers"),
        ("Client,1,50,700,100", "expected 6 comma-separated values"),
    ],
)
def test_a_malformed_signature_names_the_option_and_sends_nothing(
    sandbox: SandboxProcess, tmp_path: Path, signature: str, problem: str
) -> None:
    before = sandbox.statuses("danasign.createdocument")
    pdf = samples.write_pdf(tmp_path / "c.pdf")
    result = run_cli(
        "documents", "create", pdf, *CONTRACT_ARGS, "--signature", signature, env=sandbox.env()
    )
    message = result.single_error(status=2)  # bad usage
    assert message.startswith("--signature: ")
    assert problem in message
    assert sandbox.statuses("danasign.createdocument") == before


@pytest.mark.parametrize(
    ("signature", "field"),
    [
        ("Client,0,50,700,100,40", "page"),
        ("Client,1,-1,700,100,40", "x"),
        ("Client,1,50,-1,100,40", "y"),
        ("Client,1,50,700,0,40", "w"),
        ("Client,1,50,700,100,0", "h"),
    ],
)
def test_signature_values_reach_page_x_y_w_h_in_order(
    sandbox: SandboxProcess, tmp_path: Path, signature: str, field: str
) -> None:
    # Each position holds a value only its own field rejects, so the error
    # shows where the CLI put it.
    before = sandbox.statuses("danasign.createdocument")
    pdf = samples.write_pdf(tmp_path / "c.pdf")
    result = run_cli(
        "documents", "create", pdf, *CONTRACT_ARGS, "--signature", signature, env=sandbox.env()
    )
    assert result.single_error().startswith(f"placeholders[0].widgets[0].{field}: ")
    assert sandbox.statuses("danasign.createdocument") == before


def test_a_malformed_signer_names_the_option(sandbox: SandboxProcess, tmp_path: Path) -> None:
    pdf = samples.write_pdf(tmp_path / "c.pdf")
    result = run_cli(
        "documents",
        "create",
        pdf,
        "--title",
        "T",
        "--signer",
        "Client,Ana Pérez",
        "--signature",
        "Client,1,50,700,100,40",
        env=sandbox.env(),
    )
    assert result.single_error(status=2).startswith("--signer: expected 3 comma-separated values")


def test_a_wrong_otp_is_refused(sandbox: SandboxProcess, tmp_path: Path) -> None:
    selfie = tmp_path / "selfie.jpg"
    selfie.write_bytes(samples.make_jpeg())
    front = tmp_path / "front.png"
    front.write_bytes(samples.make_png())
    env = sandbox.env()
    created = run_cli(
        "otp",
        "create",
        "--transaction-id",
        "cli-err-otp",
        "--selfie",
        selfie,
        "--front",
        front,
        "--document",
        samples.write_pdf(tmp_path / "d.pdf"),
        "--phone",
        "+34600000001",
        "--email",
        "ana@example.com",
        env=env,
    )
    assert created.returncode == 0, created.stderr
    right = sandbox.call("GET", "/_sandbox/otp/cli-err-otp")["otp_code"]
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    assert "WHK001" in run_cli("otp", "sign", "cli-err-otp", wrong, env=env).single_error()


def test_an_output_folder_that_does_not_exist(sandbox: SandboxProcess, tmp_path: Path) -> None:
    env = sandbox.env()
    started = run_cli(
        "circuits",
        "start",
        "--id",
        "cli-err-1",
        "--name",
        "Ana Pérez",
        "--email",
        "ana@example.com",
        "--nif",
        "12345678A",
        samples.write_pdf(tmp_path / "d.pdf"),
        "--json",
        env=env,
    )
    (circuit,) = started.json_lines()
    sandbox.call("POST", f"/_sandbox/circuits/{circuit['circuit_id']}/complete")
    missing = tmp_path / "missing"
    result = run_cli("circuits", "download", circuit["circuit_id"], missing / "out.zip", env=env)
    message = result.single_error()
    # Checked before the request: the error names the path given, not a temporary file.
    assert f"the folder of {missing / 'out.zip'} does not exist" in message
    assert ".part" not in message
    assert not missing.exists()
