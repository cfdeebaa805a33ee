"""Settings: CONTRACT.md's TOML file, validated at start-up; every error names its key."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from config.settings import embedded_defaults, load_settings
from core.errors import ConfigError
from tests.conftest import run_subprocess

# settings, not storage: the embedded defaults name SQLite; no PostgreSQL pass
pytestmark = pytest.mark.sqlite_only

CONTRACT_EXAMPLE = """
[database]
url = "sqlite:///var/intake.sqlite3"

[[sources]]
name = "amministrazione"
kind = "imap"
host = "127.0.0.1"
port = 143
security = "none"
username = "amministrazione"
password = "secret"
mailbox = "INBOX"
processed_mailbox = "Processed"
quarantine_mailbox = "Quarantine"
fax_gateway = false

[[sources]]
name = "inbox"
kind = "folder"
path = "var/inbox"
fax_gateway = false

[outbox]
dir = "var/outbox"

[smtp]
host = "127.0.0.1"
port = 25
security = "none"
sender = "amministrazione@example.it"
retry_seconds = 60

[renewal]
delay_hours = 24
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "conf" / "pec.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def test_contract_example_loads_with_paths_relative_to_the_file(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, CONTRACT_EXAMPLE))
    base = (tmp_path / "conf").resolve()
    assert settings.database_url == f"sqlite:///{base}/var/intake.sqlite3"
    imap, folder = settings.sources
    assert (imap.kind, imap.host, imap.port, imap.password) == ("imap", "127.0.0.1", 143,
                                                                "secret")
    assert folder.path == base / "var/inbox"
    assert settings.outbox_dir == base / "var/outbox"
    assert settings.smtp is not None and settings.smtp.retry_seconds == 60
    assert settings.renewal.delay_hours == 24


def test_embedded_defaults_resolve_against_the_working_directory(workdir: Path) -> None:
    settings = load_settings(None)
    assert settings.database_url == f"sqlite:///{workdir.resolve()}/var/intake.sqlite3"
    assert [(s.name, s.kind, s.path) for s in settings.sources] == [
        ("inbox", "folder", workdir.resolve() / "var/inbox")]
    assert settings.outbox_dir == workdir.resolve() / "var/outbox"
    assert settings.smtp is None
    assert settings == embedded_defaults(workdir)


def test_environment_variable_names_the_file(tmp_path: Path, monkeypatch) -> None:
    path = write(tmp_path, '[renewal]\ndelay_hours = 0\n')
    monkeypatch.setenv("PEC_INTAKE_CONFIG", str(path))
    assert load_settings(None).renewal.delay_hours == 0


def test_password_from_environment(tmp_path: Path, monkeypatch) -> None:
    text = CONTRACT_EXAMPLE.replace('password = "secret"', 'password_env = "IMAP_PW"')
    monkeypatch.setenv("IMAP_PW", "from-env")
    assert load_settings(write(tmp_path, text)).sources[0].password == "from-env"


@pytest.mark.parametrize("text, key", [
    ("[database]\nurl = \"sqlite:///x.db\"\ncolour = \"red\"\n", "database.colour"),
    ("surprise = 1\n", "surprise"),
    ("[renewal]\ndelay_hours = \"soon\"\n", "renewal.delay_hours"),
    ("[renewal]\ndelay_hours = -1\n", "renewal.delay_hours"),
    ("[smtp]\nport = 25\n", "smtp.host"),
    ("[smtp]\nhost = \"x\"\nport = \"25\"\n", "smtp.port"),
    ("[smtp]\nhost = \"x\"\nsecurity = \"tls\"\n", "smtp.security"),
    ("[[sources]]\nname = \"a\"\nkind = \"pop3\"\n", "sources[0].kind"),
    ("[[sources]]\nkind = \"folder\"\npath = \"x\"\n", "sources[0].name"),
    ("[[sources]]\nname = \"a\"\nkind = \"folder\"\n", "sources[0].path"),
    ("[[sources]]\nname = \"a\"\nkind = \"imap\"\nhost = \"h\"\nusername = \"u\"\n",
     "sources[0].password"),
    ("[[sources]]\nname = \"a\"\nkind = \"imap\"\nhost = \"h\"\nusername = \"u\"\n"
     "password_env = \"PEC_TEST_UNSET_VARIABLE\"\n", "sources[0].password_env"),
    ("[[sources]]\nname = \"a\"\nkind = \"folder\"\npath = \"x\"\nfax_gateway = \"yes\"\n",
     "sources[0].fax_gateway"),
    ("[matching]\nunderpayment_tolerance = \"abc\"\n", "matching.underpayment_tolerance"),
])
def test_bad_settings_name_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(write(tmp_path, text))
    assert f": {key}:" in str(error.value)


def test_missing_file_and_broken_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "[database\n"))


def test_tolerance_is_a_decimal(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, '[matching]\nunderpayment_tolerance = "0.50"\n'))
    assert settings.matching.underpayment_tolerance == Decimal("0.50")


@pytest.mark.parametrize("command", [["init"], ["poll", "--once"], ["orders", "list", "--json"]])
def test_bad_config_is_exit_2_with_one_line_naming_the_key(tmp_path: Path, command) -> None:
    path = write(tmp_path, "[renewal]\ndelay_hours = 24\nbogus = true\n")
    result = run_subprocess("--config", str(path), *command, cwd=tmp_path)
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and "renewal.bogus" in lines[0] and "unknown key" in lines[0]
    assert not (tmp_path / "conf" / "var").exists()  # nothing was created
