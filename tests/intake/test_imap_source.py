"""The IMAP source against a real Dovecot: fetch, MOVE and its fallback, TLS, IDLE, limits,
and exactly-once intake through the pipeline across a UIDVALIDITY change."""
from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from app.pipeline import Pipeline
from config.settings import LimitSettings, SourceSettings, load_settings
from core.errors import BadMessage, SourceUnreachable
from intake.message import parse_incoming
from intake.sources.base import Settlement
from intake.sources.imap import ImapSource
from store.db import Database
from tests.factories.mailboxes import imap_source_toml, mail_with, write_config
from tests.factories.receipts import ReceiptSpec, receipt_email, receipt_pdf
from tests.servers.dovecot import Dovecot

USER, PASSWORD = "amministrazione", "segreta"


@pytest.fixture(scope="module")
def dovecot():
    with Dovecot({USER: PASSWORD, "fax": "fax", "other": "other"}, tls=True) as server:
        yield server


def settings_for(server: Dovecot, user: str = USER, **overrides: object) -> SourceSettings:
    base = SourceSettings(name=user, kind="imap", host=server.host, port=server.port,
                          username=user, password=server.users[user])
    return replace(base, **overrides)  # type: ignore[arg-type]


def fresh_user(server: Dovecot, name: str) -> str:
    """Each test gets mailboxes of its own: empty every folder of ``name`` first."""
    with server.client(name) as client:
        for _flags, _delim, folder in client.list_folders():
            client.select_folder(folder)
            uids = client.search("ALL")
            if uids:
                client.delete_messages(uids)
                client.expunge()
            client.unselect_folder()
            if folder != "INBOX":
                client.delete_folder(folder)
    return name


def test_fetch_names_each_message_by_uidvalidity_and_uid_without_marking_it_seen(dovecot):
    user = fresh_user(dovecot, USER)
    dovecot.append(user, [receipt_email(ReceiptSpec()), mail_with([], body="secondo")])
    source = ImapSource(settings_for(dovecot))
    try:
        messages = list(source.fetch())
        assert [m.key for m in messages] == ["1", "2"] or len(messages) == 2
        uidvalidity = dovecot.uidvalidity(user)
        assert [m.identity for m in messages] == [f"{uidvalidity}:{m.key}" for m in messages]
        assert all(m.is_mail and m.raw.startswith(b"From:") for m in messages)
        assert messages[0].metadata["uidvalidity"] == str(uidvalidity)
        flags = source.client.get_flags([int(m.key) for m in messages])
        assert all(b"\\Seen" not in f for f in flags.values())
    finally:
        source.close()


def test_settle_moves_to_processed_and_quarantine_creating_them(dovecot):
    user = fresh_user(dovecot, USER)
    dovecot.append(user, [b"From: a@example.com\r\nSubject: uno\r\n\r\nuno\r\n",
                          b"From: a@example.com\r\nSubject: due\r\n\r\ndue\r\n"])
    source = ImapSource(settings_for(dovecot))
    try:
        first, second = list(source.fetch())
        source.settle(first, Settlement.PROCESSED)
        source.settle(second, Settlement.QUARANTINED)
        source.settle(second, Settlement.QUARANTINED)  # replay after a crash: a no-op
    finally:
        source.close()
    assert dovecot.count(user) == 0
    assert [m.split(b"\r\n")[1] for m in dovecot.messages(user, "Processed")] == \
        [b"Subject: uno"]
    assert [m.split(b"\r\n")[1] for m in dovecot.messages(user, "Quarantine")] == \
        [b"Subject: due"]


def test_settle_without_move_copies_deletes_and_expunges_once():
    """GIVEN a server without MOVE (RFC 6851) WHEN a message is settled, and settled again
    as after a crash between the COPY and the EXPUNGE THEN it is in Processed exactly once."""
    with Dovecot({USER: PASSWORD}, capability="IMAP4rev1 IDLE UIDPLUS LITERAL+") as server:
        server.append(USER, [b"From: a@example.com\r\nSubject: uno\r\n\r\nuno\r\n"])
        source = ImapSource(settings_for(server))
        try:
            assert b"MOVE" not in source.capabilities()
            (message,) = list(source.fetch())
            client = source.connect()
            client.create_folder("Processed")
            client.copy([int(message.key)], "Processed")
            client.add_flags([int(message.key)], [b"\\Deleted"])  # the crashed run's work
            source.close()
            (message,) = list(source.fetch())
            source.settle(message, Settlement.PROCESSED)
        finally:
            source.close()
        assert server.count(USER) == 0
        assert server.count(USER, "Processed") == 1


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_verifies_the_server_with_the_configured_ca(dovecot, security):
    port = dovecot.imaps_port if security == "ssl" else dovecot.port
    trusted = ImapSource(settings_for(dovecot, security=security, port=port,
                                      ca_file=dovecot.cert_file))
    try:
        assert b"IDLE" in trusted.capabilities()
    finally:
        trusted.close()
    untrusted = ImapSource(settings_for(dovecot, security=security, port=port))
    with pytest.raises(SourceUnreachable, match="certificate verify failed"):
        list(untrusted.fetch())
    unverified = ImapSource(settings_for(dovecot, security=security, port=port,
                                         verify_certificate=False))
    try:
        assert b"IDLE" in unverified.capabilities()
    finally:
        unverified.close()


def test_refused_login_and_absent_server_are_source_unreachable(dovecot):
    with pytest.raises(SourceUnreachable, match="login refused"):
        list(ImapSource(settings_for(dovecot, password="wrong")).fetch())
    with pytest.raises(SourceUnreachable, match="cannot be reached"):
        list(ImapSource(settings_for(dovecot, port=1)).fetch())


def test_idle_wakes_up_within_a_second_of_a_new_message(dovecot):
    user = fresh_user(dovecot, "other")
    source = ImapSource(settings_for(dovecot, user))
    stop = threading.Event()
    appended: list[float] = []

    def deliver() -> None:
        time.sleep(0.5)
        appended.append(time.monotonic())
        dovecot.append(user, b"From: a@example.com\r\nSubject: nuovo\r\n\r\nciao\r\n")

    try:
        list(source.fetch())
        sender = threading.Thread(target=deliver)
        sender.start()
        assert source.wait_for_changes(stop, renew_seconds=20)
        latency = time.monotonic() - appended[0]
        sender.join()
    finally:
        source.close()
    # Dovecot waits 500 ms before it notifies (NOTIFY_DELAY_MSECS)
    assert latency < 1.5, latency


def test_idle_returns_when_stopped_or_due_for_renewal(dovecot):
    user = fresh_user(dovecot, "other")
    source = ImapSource(settings_for(dovecot, user))
    stop = threading.Event()
    try:
        started = time.monotonic()
        assert source.wait_for_changes(stop, renew_seconds=0.3, check_seconds=0.1) is False
        assert time.monotonic() - started < 2
        stop.set()
        assert source.wait_for_changes(stop, renew_seconds=60) is False
    finally:
        source.close()


def test_message_over_the_size_limit_is_not_downloaded_and_is_refused(dovecot):
    user = fresh_user(dovecot, USER)
    dovecot.append(user, mail_with([("ricevuta.pdf", "application/pdf",
                                     receipt_pdf(ReceiptSpec()))]))
    source = ImapSource(settings_for(dovecot), LimitSettings(max_message_bytes=1000))
    try:
        (message,) = list(source.fetch())
    finally:
        source.close()
    assert b"Content-Type: application/pdf" not in message.raw  # headers only
    with pytest.raises(BadMessage, match="over the limit of 1000 bytes"):
        parse_incoming(message)


def _pipeline(tmp_path: Path, server: Dovecot, mailbox: str) -> tuple[Pipeline, Database]:
    config = write_config(tmp_path, [imap_source_toml(USER, server.port, USER, PASSWORD,
                                                      mailbox=mailbox)])
    settings = load_settings(config)
    db = Database(settings.database_url)
    return Pipeline(settings, db), db


def test_uidvalidity_change_does_not_reprocess(dovecot, tmp_path):
    """GIVEN messages whose outcome was committed but which were never moved (the process
    died) WHEN the mailbox is rebuilt (new UIDVALIDITY, new UIDs, same bytes) and a message
    is new THEN only the new one is processed; the others are just moved."""
    user = fresh_user(dovecot, USER)
    old = [receipt_email(ReceiptSpec(codes=(f"RLM{9100 + i}",))) for i in range(3)]
    dovecot.append(user, old, mailbox="Incoming")
    pipeline, db = _pipeline(tmp_path, dovecot, "Incoming")
    source = ImapSource(pipeline.settings.sources[0])
    try:
        for message in source.fetch():
            pipeline.take_in(message)  # committed, not settled: the crash
    finally:
        source.close()
    before = dovecot.uidvalidity(user, "Incoming")
    with dovecot.client(user) as client:
        client.delete_folder("Incoming")
    time.sleep(1.1)  # UIDVALIDITY is a timestamp in Dovecot
    new = receipt_email(ReceiptSpec(codes=("RLM9200",)))
    dovecot.append(user, old + [new], mailbox="Incoming")
    assert dovecot.uidvalidity(user, "Incoming") != before
    summary = pipeline.poll_once()
    db.dispose()
    assert summary.already_known == 3
    assert sum(summary.outcomes.values()) == 1
    assert dovecot.count(user, "Incoming") == 0
    assert dovecot.count(user, "Processed") + dovecot.count(user, "Quarantine") == 4


def test_twin_copies_left_by_two_concurrent_moves_are_reduced_to_one(dovecot):
    """GIVEN two runs that both MOVEd the same message (Processed holds two byte-identical
    copies) and an unrelated message with the same Message-ID but other bytes
    WHEN either run finishes its pass THEN one copy of the twin is left and the other
    message is untouched."""
    user = fresh_user(dovecot, USER)
    twin = b"From: a@example.com\r\nMessage-ID: <twin@example.com>\r\nSubject: t\r\n\r\nuno\r\n"
    other = twin.replace(b"uno", b"altro")
    dovecot.append(user, [twin, twin, other], mailbox="Processed")
    dovecot.append(user, twin)
    source = ImapSource(settings_for(dovecot))
    try:
        for message in source.fetch():  # the pass ends with the twin check
            source.settle(message, Settlement.PROCESSED)
    finally:
        source.close()
    assert sorted(dovecot.messages(user, "Processed")) == sorted([twin, other])


def test_batches_download_only_what_the_worker_holds_and_move_one_set(dovecot):
    """GIVEN five messages and a worker granted the 2nd and 4th of the first batch of three
    WHEN it takes its batches and settles them as sets THEN it never sees the others, and
    exactly its messages leave the INBOX."""
    user = fresh_user(dovecot, USER)
    dovecot.append(user, [mail_with([], body=f"messaggio {i}") for i in range(5)])
    source = ImapSource(settings_for(dovecot))
    asked: list[list[str]] = []

    def reserve(keys: list[str]) -> set[str]:
        asked.append(keys)
        return {keys[1]} | ({keys[3]} if len(keys) > 3 else set()) if len(asked) == 1 \
            else set()

    try:
        batches = list(source.batches(reserve, size=4))
        (batch,) = batches
        source.settle_many([(m, Settlement.PROCESSED) for m in batch])
    finally:
        source.close()
    uidvalidity = dovecot.uidvalidity(user)
    assert [len(keys) for keys in asked] == [4, 1]
    assert [m.identity for m in batch] == [asked[0][1], asked[0][3]]
    assert all(m.identity.startswith(f"{uidvalidity}:") and m.raw for m in batch)
    assert dovecot.count(user) == 3 and dovecot.count(user, "Processed") == 2


def test_a_set_partly_moved_by_another_run_is_moved_for_the_rest(dovecot):
    """GIVEN two runs that fetched the same three messages WHEN one moves the middle one
    and the other then moves all three as one set THEN the server's refusal ("no longer
    exist") is answered by moving those still there: none is left, none is doubled."""
    user = fresh_user(dovecot, USER)
    dovecot.append(user, [mail_with([], body=f"doppio {i}") for i in range(3)])
    first, second = ImapSource(settings_for(dovecot)), ImapSource(settings_for(dovecot))
    try:
        mine, theirs = list(first.fetch()), list(second.fetch())
        second.settle(theirs[1], Settlement.PROCESSED)
        first.settle_many([(m, Settlement.PROCESSED) for m in mine])
    finally:
        first.close()
        second.close()
    assert dovecot.count(user) == 0
    assert dovecot.count(user, "Processed") == 3
