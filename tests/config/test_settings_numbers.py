"""Settings are numbers people mean: finite and in range, else one line and exit 2 (issue 10,
case 6)."""
from __future__ import annotations

from pathlib import Path

import pytest

from app.errors import ConfigError
from config.settings import load_settings
from tests.conftest import run_subprocess

SMTP = '[smtp]\nhost = "127.0.0.1"\n'
IMAP = ('[[sources]]\nname = "a"\nkind = "imap"\nhost = "h"\nusername = "u"\n'
        'password = "p"\n')

BAD = [
    ("[renewal]\ndelay_hours = nan\n", "renewal.delay_hours"),
    ("[renewal]\ndelay_hours = inf\n", "renewal.delay_hours"),
    ("[renewal]\ndelay_hours = -inf\n", "renewal.delay_hours"),
    ("[renewal]\ndelay_hours = 1e300\n", "renewal.delay_hours"),
    ("[renewal]\ndelay_hours = 721\n", "renewal.delay_hours"),
    ("[renewal]\nretry_seconds = nan\n", "renewal.retry_seconds"),
    ("[renewal]\nmax_attempts = 0\n", "renewal.max_attempts"),
    ("[renewal]\nmax_attempts = 9223372036854775807\n", "renewal.max_attempts"),
    ("[renewal]\nhttp_timeout_seconds = inf\n", "renewal.http_timeout_seconds"),
    ('[matching]\nunderpayment_tolerance = "NaN"\n', "matching.underpayment_tolerance"),
    ('[matching]\nunderpayment_tolerance = "Infinity"\n', "matching.underpayment_tolerance"),
    ('[matching]\nunderpayment_tolerance = "-0.01"\n', "matching.underpayment_tolerance"),
    ('[matching]\nunderpayment_tolerance = "5.01"\n', "matching.underpayment_tolerance"),
    ('[matching]\nunderpayment_tolerance = "1e3"\n', "matching.underpayment_tolerance"),
    ('[matching]\nunderpayment_tolerance = "0.005"\n', "matching.underpayment_tolerance"),
    ('[matching]\nour_ibans = ["IT00X0000000000000000000000"]\n', "matching.our_ibans"),
    ('[matching]\nour_ibans = []\n', "matching.our_ibans"),
    ('[matching]\naccept_written_claims = "yes"\n', "matching.accept_written_claims"),
    (SMTP + "timeout_seconds = nan\n", "smtp.timeout_seconds"),
    (SMTP + "timeout_seconds = 0\n", "smtp.timeout_seconds"),
    (SMTP + "retry_seconds = inf\n", "smtp.retry_seconds"),
    (SMTP + "port = 70000\n", "smtp.port"),
    (SMTP + "max_attempts = -3\n", "smtp.max_attempts"),
    (IMAP + "poll_seconds = nan\n", "sources[0].poll_seconds"),
    (IMAP + "port = 0\n", "sources[0].port"),
    ("[limits]\nmax_pages = 0\n", "limits.max_pages"),
    ("[limits]\nocr_seconds_per_page = inf\n", "limits.ocr_seconds_per_page"),
    ("[limits]\nmax_page_pixels = 9223372036854775807\n", "limits.max_page_pixels"),
]


@pytest.mark.parametrize("text, key", BAD)
def test_numbers_outside_what_people_mean_are_refused(tmp_path: Path, text: str,
                                                      key: str) -> None:
    path = tmp_path / "pec.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    message = str(error.value)
    assert f": {key}:" in message and "\n" not in message


def test_edges_of_the_ranges_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "pec.toml"
    path.write_text('[renewal]\ndelay_hours = 720\n[matching]\nunderpayment_tolerance = "5"\n'
                    "accept_written_claims = true\n")
    settings = load_settings(path)
    assert settings.renewal.delay_hours == 720
    assert str(settings.matching.underpayment_tolerance) == "5.00"
    assert settings.matching.accept_written_claims is True
    assert load_settings(None).matching.accept_written_claims is False


@pytest.mark.parametrize("text", ["[renewal]\ndelay_hours = nan\n",
                                  '[matching]\nunderpayment_tolerance = "Infinity"\n'])
def test_cli_exits_2_with_one_line(tmp_path: Path, text: str) -> None:
    """GIVEN a configuration whose number is no number WHEN any command runs THEN exit 2 with
    one line on stderr naming the file and key, and no database is touched."""
    config = tmp_path / "pec.toml"
    config.write_text(text + '[database]\nurl = "sqlite:///db.sqlite3"\n')
    result = run_subprocess("--config", str(config), "poll", "--once", cwd=tmp_path)
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and "pec.toml" in lines[0]
    assert not (tmp_path / "db.sqlite3").exists()
