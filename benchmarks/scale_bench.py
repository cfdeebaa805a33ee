"""Scale figures through a real Dovecot: ``python -m benchmarks.scale_bench``.

For each database (SQLite, a throwaway PostgreSQL) and each worker count (``[service]
workers``), a fresh mailbox pair is loaded with ``--n`` text-PDF receipts (the
administration mailbox) and ``--fax`` fax pages (G3 TIFFs made by Ghostscript from receipt
PDFs, in the fax gateway's mailbox), then ``run`` is started and timed until every message is
settled. Printed per run: messages per second (all, and text PDFs paid per second until the
last of them is paid: the faxes' OCR runs beside them and ends later), the CPU time of
``run`` and its workers per message (what the code costs, whatever else the machine runs),
the load average before and after, and the p50/p95 latency from arrival (the whole backlog
arrives when ``run`` starts) to the order being paid, for text PDFs and faxes apart.

Options: ``--n 2000 --fax 200 --workers 1,2 --databases sqlite,postgresql``.
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.factories.ghostscript import pdf_to_fax
from tests.factories.mailboxes import fax_gateway_mail, imap_source_toml, random_spec
from tests.factories.receipts import OrderSpec, orders_csv, receipt_email, receipt_pdf
from tests.servers.dovecot import Dovecot
from tests.servers.postgres import PostgresServer

ROOT = Path(__file__).resolve().parent.parent
ADMIN, FAX, PASSWORD = "amministrazione", "fax", "segreta"


def corpus(n: int, faxes: int, seed: int = 2026):  # noqa: ANN201
    """Orders, the text-PDF mails and the fax mails (one order each)."""
    rng = random.Random(seed)
    orders, mails, fax_mails, fax_codes = [], [], [], set()
    for index in range(n + faxes):
        code = f"RLM{600000 + index}"
        spec = random_spec(rng, code, Decimal("10.89"))
        email_addr = f"cliente{index}@example.com"
        orders.append(OrderSpec(code, spec.amount, spec.payer, email_addr))
        if index < n:
            mails.append(receipt_email(spec, sender=email_addr))
        else:
            tiff = pdf_to_fax(receipt_pdf(spec), device="tiffg3", resolution="204x196")
            fax_mails.append(fax_gateway_mail([(f"fax{index}.tif", "image/tiff", tiff)]))
            fax_codes.add(code)
    return orders, mails, fax_mails, fax_codes


def run_once(database: str, workers: int, orders, mails, fax_mails, fax_codes,  # noqa: ANN001
             pg: PostgresServer | None) -> dict:
    folder = Path(tempfile.mkdtemp(prefix=f"scale-{database}-{workers}-"))
    if database == "postgresql":
        url = pg.create_database(f"scale_{workers}_{os.getpid()}_{int(time.time())}")
    else:
        url = f"sqlite:///{folder}/intake.sqlite3"
    with Dovecot({ADMIN: PASSWORD, FAX: PASSWORD}) as dovecot:
        config = folder / "pec.toml"
        config.write_text(
            f'[database]\nurl = "{url}"\n\n[outbox]\ndir = "outbox"\n\n'
            f'[storage]\noriginals_dir = "originals"\n\n'
            f'[service]\nmetrics_port = 0\nworkers = {workers}\n'
            + imap_source_toml(ADMIN, dovecot.port, ADMIN, PASSWORD, poll_seconds=2)
            + imap_source_toml(FAX, dovecot.port, FAX, PASSWORD, fax_gateway=True,
                               poll_seconds=2))
        (folder / "orders.csv").write_text(orders_csv(orders))
        env = {k: v for k, v in os.environ.items() if k != "PEC_INTAKE_CONFIG"}
        env["OMP_THREAD_LIMIT"] = "1"
        subprocess.run([sys.executable, str(ROOT / "run.py"), "--config", str(config), "orders",
                        "import", "orders.csv"], cwd=folder, env=env, check=True,
                       capture_output=True)
        dovecot.append(ADMIN, mails)
        if fax_mails:
            dovecot.append(FAX, fax_mails)
        total = len(mails) + len(fax_mails)
        engine = create_engine(url)
        cpu_before = _children_cpu()
        load_before = os.getloadavg()[0]
        started_at = datetime.now(UTC)
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "--config", str(config),
                                 "--log-level", "WARNING", "run"], cwd=folder, env=env,
                                stdout=subprocess.DEVNULL, stderr=(folder / "run.log").open("wb"))
        try:
            while True:
                with engine.connect() as conn:
                    done = conn.execute(text("SELECT count(*) FROM messages WHERE status "
                                             "<> 'received'")).scalar() or 0
                if done >= total and dovecot.count(ADMIN) == 0 and dovecot.count(FAX) == 0:
                    break
                if proc.poll() is not None:
                    raise SystemExit(f"run ended early: {(folder / 'run.log').read_text()[-2000:]}")
                time.sleep(0.2)
            seconds = time.monotonic() - started
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(300)
            except subprocess.TimeoutExpired:  # reported, not hidden: the run is over anyway
                print(f"run did not stop within 300s after SIGTERM ({folder})", flush=True)
                proc.kill()
                proc.wait()
        cpu = _children_cpu() - cpu_before  # run and its workers, all waited for
        load_after = os.getloadavg()[0]
        with engine.connect() as conn:
            paid = conn.execute(text("SELECT code, paid_at FROM orders WHERE paid_at IS NOT "
                                     "NULL")).all()
        engine.dispose()
    latency = {"pdf": [], "fax": []}
    for code, paid_at in paid:
        if isinstance(paid_at, str):  # SQLite hands back text
            paid_at = datetime.fromisoformat(paid_at)
        paid_at = paid_at if paid_at.tzinfo else paid_at.replace(tzinfo=UTC)
        latency["fax" if code in fax_codes else "pdf"].append(
            (paid_at - started_at).total_seconds())
    return {"database": database, "workers": workers, "messages": total, "seconds": seconds,
            "paid_pdf": len(latency["pdf"]), "paid_fax": len(latency["fax"]),
            "latency": latency, "cpu": cpu, "load": (load_before, load_after)}


def _children_cpu() -> float:
    """User + system CPU seconds of the child processes waited for so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _pct(values: list[float], q: float) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))]:.1f}s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="text-PDF messages")
    parser.add_argument("--fax", type=int, default=200, help="fax pages (one per message)")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args(argv)
    print(f"building {args.n} text-PDF mails and {args.fax} fax pages...", flush=True)
    orders, mails, fax_mails, fax_codes = corpus(args.n, args.fax)
    databases = [d for d in args.databases.split(",") if d]
    pg = PostgresServer().start() if "postgresql" in databases else None
    rows = []
    try:
        for database in databases:
            for workers in [int(w) for w in args.workers.split(",")]:
                row = run_once(database, workers, orders, mails, fax_mails, fax_codes, pg)
                rows.append(row)
                _print(row)
    finally:
        if pg is not None:
            pg.stop()
    print("\n| database | workers | messages | msgs/s | text PDFs/s | CPU ms/msg | load avg "
          "| text PDF paid p50 / p95 | fax paid p50 / p95 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['database']} | {r['workers']} | {r['messages']} | "
              f"{r['messages'] / r['seconds']:.1f} | {_pdf_rate(r)} | "
              f"{1000 * r['cpu'] / r['messages']:.1f} | "
              f"{r['load'][0]:.1f}-{r['load'][1]:.1f} | {_pct(r['latency']['pdf'], .5)} / "
              f"{_pct(r['latency']['pdf'], .95)} ({r['paid_pdf']} paid) | "
              f"{_pct(r['latency']['fax'], .5)} / {_pct(r['latency']['fax'], .95)} "
              f"({r['paid_fax']} paid) |")
    return 0


def _pdf_rate(r: dict) -> str:
    """Text PDFs paid per second until the last of them was paid: the text path's rate,
    which the fax pages' OCR, running beside it, would otherwise hide."""
    last = max(r["latency"]["pdf"], default=0.0)
    return f"{len(r['latency']['pdf']) / last:.1f}" if last > 0 else "-"


def _print(r: dict) -> None:
    print(f"{r['database']:10s} workers={r['workers']}  {r['messages']} messages in "
          f"{r['seconds']:.1f}s = {r['messages'] / r['seconds']:.1f} msgs/s, text PDFs "
          f"{_pdf_rate(r)}/s "
          f"({1000 * r['cpu'] / r['messages']:.1f} CPU ms/msg, load {r['load'][0]:.1f}-"
          f"{r['load'][1]:.1f}); paid {r['paid_pdf']} "
          f"text PDFs (p50 {_pct(r['latency']['pdf'], .5)}, p95 {_pct(r['latency']['pdf'], .95)}), "
          f"{r['paid_fax']} faxes (p50 {_pct(r['latency']['fax'], .5)}, "
          f"p95 {_pct(r['latency']['fax'], .95)})", flush=True)


if __name__ == "__main__":
    sys.exit(main())
