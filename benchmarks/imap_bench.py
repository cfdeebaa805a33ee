"""IMAP intake figures against a real Dovecot: ``python -m benchmarks.imap_bench``.

1. throughput: N text-PDF receipts, one ``poll --once`` (a real subprocess), messages/second
   end to end (fetch, parse, read, match, commit, MOVE, confirmation mail);
2. IDLE wake-up latency: APPEND -> the source's IDLE returns, and APPEND -> the ``run`` daemon
   has moved the message to Processed;
3. 200 mixed messages (PDF receipts, PEC envelopes, PEC receipts, body-only, bad input):
   INBOX empty, each message in Processed or Quarantine exactly once, no order paid twice;
4. the crash test ten times in a row: 50 mixed messages, ``poll --once`` SIGKILLed at random
   moments, then a clean run, then the exactly-once checks.

Options: ``--messages 200 --crash-rounds 10 --kills 4 --skip-crash --skip-throughput
--only-crash``.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from config.settings import SourceSettings
from intake.sources.base import Settlement
from intake.sources.imap import ImapSource
from tests.app.exactly_once import (
    PASSWORD,
    USER,
    check_exactly_once,
    cli,
    crash_then_clean,
    prepare,
)
from tests.app.test_daemon import Daemon
from tests.factories.mailboxes import (
    imap_source_toml,
    mixed_batch,
    receipt_email,
    text_pdf_batch,
    write_config,
)
from tests.factories.receipts import ReceiptSpec
from tests.servers.dovecot import Dovecot


def workdir(name: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"imap-bench-{name}-"))


def timed_poll(name: str, server: Dovecot, batch) -> tuple[float, dict[str, int], str]:  # noqa: ANN001
    """One ``poll --once`` over ``batch`` in a fresh folder: seconds taken, checked counts,
    and the poll's summary line."""
    folder = workdir(name)
    config = prepare(folder, server, batch)
    started = time.monotonic()
    done = cli(config, "poll", "--once")
    seconds = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-2000:]
    return seconds, check_exactly_once(folder, server, batch), done.stdout.strip()


def throughput(count: int) -> None:
    batch = text_pdf_batch(count)
    with Dovecot({USER: PASSWORD}) as server:
        seconds, counts, summary = timed_poll("throughput", server, batch)
    print(f"throughput: {count} text-PDF messages in {seconds:.2f}s (poll --once, process "
          f"start included) = {count / seconds:.1f} messages/s; {counts}")
    print(f"  {summary}")


def idle_latency(samples: int) -> None:
    with Dovecot({USER: PASSWORD}) as server:
        settings = SourceSettings(name=USER, kind="imap", host=server.host, port=server.port,
                                  username=USER, password=PASSWORD)
        source = ImapSource(settings)
        stop = threading.Event()
        latencies = []
        try:
            for index in range(samples):
                for message in source.fetch():  # empty the INBOX: IDLE waits for new mail
                    source.settle(message, Settlement.PROCESSED)
                appended: list[float] = []

                def deliver(n: int = index, appended: list[float] = appended) -> None:
                    time.sleep(0.3)
                    appended.append(time.monotonic())
                    server.append(USER, f"From: a@example.com\r\nSubject: {n}\r\n\r\nx\r\n"
                                  .encode())

                sender = threading.Thread(target=deliver)
                sender.start()
                assert source.wait_for_changes(stop, renew_seconds=30, check_seconds=0.05)
                latencies.append(time.monotonic() - appended[0])
                sender.join()
        finally:
            source.close()
    print_latencies("IDLE wake-up (APPEND done -> IDLE returns)", latencies)


def print_latencies(what: str, latencies: list[float]) -> None:
    print(f"{what}, {len(latencies)} samples: min {min(latencies) * 1000:.0f} ms, median "
          f"{statistics.median(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms")


def daemon_latency(samples: int) -> None:
    batch = text_pdf_batch(samples, seed=5)
    with Dovecot({USER: PASSWORD}) as server:
        folder = workdir("daemon")
        config = write_config(folder, [imap_source_toml(USER, server.port, USER, PASSWORD)])
        (folder / "orders.csv").write_text(batch.csv())
        cli(config, "orders", "import", str(folder / "orders.csv"))
        daemon = Daemon(config, folder / "daemon.log")
        latencies = []
        try:
            time.sleep(1.0)
            for index, raw in enumerate(batch.messages):
                started = time.monotonic()
                server.append(USER, raw)
                while server.count(USER, "Processed") < index + 1:
                    time.sleep(0.02)
                latencies.append(time.monotonic() - started)
            assert daemon.terminate() == 0
        finally:
            daemon.kill()
    print_latencies("daemon end to end (APPEND -> matched, paid, moved to Processed)",
                    latencies)


def mixed_run(count: int) -> None:
    batch = mixed_batch(count, seed=200)
    with Dovecot({USER: PASSWORD}) as server:
        seconds, counts, _summary = timed_poll("mixed", server, batch)
        processed = server.count(USER, "Processed")
        quarantined = server.count(USER, "Quarantine")
    kinds = {k: batch.kinds.count(k) for k in sorted(set(batch.kinds))}
    print(f"{count} mixed messages {kinds}: {seconds:.2f}s; INBOX 0, Processed {processed}, "
          f"Quarantine {quarantined}, each exactly once; outcomes {counts}")


def crash_rounds(rounds: int, kills: int) -> bool:
    passed = 0
    for round_number in range(rounds):
        batch = mixed_batch(50, seed=1000 + round_number)
        with Dovecot({USER: PASSWORD}) as server:
            folder = workdir(f"crash{round_number}")
            config = prepare(folder, server, batch)
            run = crash_then_clean(config, kills, random.Random(round_number))
            try:
                counts = check_exactly_once(folder, server, batch)
                passed += 1
                verdict = f"ok {counts}"
            except AssertionError as exc:
                verdict = f"FAILED: {exc} (kept in {folder})"
        print(f"crash round {round_number + 1}: {run.kills} SIGKILLs at {run.kill_times}s "
              f"after the run's first commit, {run.finished_early} run(s) finished first, "
              f"{run.recorded_before_clean}/50 recorded by the killed runs, clean run "
              f"{run.clean_seconds:.2f}s: {verdict}")
    print(f"crash test: {passed}/{rounds} rounds passed in a row" if passed == rounds
          else f"crash test: {passed}/{rounds} rounds passed")
    return passed == rounds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.imap_bench")
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--crash-rounds", type=int, default=10)
    parser.add_argument("--kills", type=int, default=4)
    parser.add_argument("--skip-crash", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--only-crash", action="store_true")
    args = parser.parse_args(argv)
    receipt_email(ReceiptSpec())  # warm the PDF library once, outside the measurements
    if not args.only_crash:
        if not args.skip_throughput:
            throughput(args.messages)
        idle_latency(10)
        daemon_latency(5)
        mixed_run(args.messages)
    ok = True if args.skip_crash else crash_rounds(args.crash_rounds, args.kills)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
