"""What the ``run`` daemon offers an operator and systemd: ``GET /healthz`` and
``GET /metrics`` on ``[service] host`` and ``metrics_port``, the sd_notify protocol
(``READY=1`` once the sources are open, ``STOPPING=1``), and ``[service] workers``
processes supervised by one parent.

sd_notify is one datagram to the socket systemd names in ``$NOTIFY_SOCKET`` (a path, or an
abstract socket when it starts with ``@``); written here, it needs no library.
"""
from __future__ import annotations

import json
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

log = logging.getLogger("pec_intake.service")

RESTART_FIRST_SECONDS = 1.0
RESTART_MAX_SECONDS = 60.0
STOP_WAIT_SECONDS = 90.0  # under TimeoutStopSec=120 of the unit


# --- sd_notify ----------------------------------------------------------------------------

def sd_notify(state: str) -> bool:
    """Sends ``state`` (e.g. ``"READY=1"``) to systemd; False when not run by systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
        return True
    except OSError as exc:
        log.warning("sd_notify %s failed: %s", state, exc)
        return False


# --- /healthz and /metrics ----------------------------------------------------------------

class OperatorServer:
    """A small threaded HTTP server on 127.0.0.1 (by default) beside the daemon."""

    def __init__(self, host: str, port: int, health, metrics_registry) -> None:  # noqa: ANN001
        self.health = health            # () -> (ok, body dict)
        self.registry = metrics_registry
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server protocol
                path = self.path.split("?", 1)[0]
                if path == "/healthz":
                    ok, body = server.health()
                    self._send(200 if ok else 503, "application/json",
                               json.dumps(body).encode())
                elif path == "/metrics":
                    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
                    self._send(200, CONTENT_TYPE_LATEST, generate_latest(server.registry))
                else:
                    self._send(404, "text/plain", b"not found: /healthz, /metrics\n")

            def _send(self, code: int, content_type: str, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                log.debug("http %s", format % args)

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="operator-http",
                                       daemon=True)

    def start(self) -> OperatorServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def start_operator_server(settings, db, extra: dict | None = None):  # noqa: ANN001, ANN201
    """The /healthz and /metrics server of ``settings.service``, or None when turned off."""
    service = settings.service
    if service.metrics_port == 0:
        return None
    from app import metrics
    from app.status import collect

    def overview() -> dict:
        return collect(settings, db, wait=False)

    def health() -> tuple[bool, dict]:
        try:
            db.ping()
        except Exception as exc:  # noqa: BLE001 - any failure is "unavailable"
            return False, {"status": "unavailable",
                           "database": str(exc).splitlines()[0][:300]}
        return True, {"status": "ok", "database": "ok", **(extra or {})}

    try:
        server = OperatorServer(service.host, service.metrics_port, health,
                                metrics.registry(overview))
    except OSError as exc:
        # the mail matters more than its figures: taken in all the same, loudly reported
        log.error("service.metrics_port: cannot listen on %s:%d: %s; /healthz and /metrics "
                  "are off", service.host, service.metrics_port, exc.strerror or exc)
        return None
    log.info("serving /healthz and /metrics on http://%s:%d", service.host, server.port)
    return server.start()


# --- several workers ----------------------------------------------------------------------

def _worker_main(settings, index: int, ready, log_level: str) -> None:  # noqa: ANN001
    """One worker process: the whole daemon (sources and due jobs), no HTTP server."""
    from dataclasses import replace

    from app import commands, daemon
    from app.cli import JournalFormatter, _setup_logging
    _setup_logging(log_level)
    for handler in logging.getLogger().handlers:
        journal = isinstance(handler.formatter, JournalFormatter)
        fmt = ("" if journal else "%(asctime)s ") + \
            f"%(levelname)s %(name)s worker={index} %(message)s"
        handler.setFormatter(JournalFormatter(fmt) if journal else logging.Formatter(fmt))
    # workers stays N: the pipeline then holds each message it takes (several processes)
    settings = replace(settings, service=replace(settings.service, metrics_port=0))
    db = commands.open_database(settings, patient=True)
    try:
        db.ensure_schema()
        daemon.run(settings, db, commands._pipeline(settings, db),
                   on_ready=lambda: ready.put(index))
    finally:
        db.dispose()
    # Everything is committed and settled. A multiprocessing child runs no atexit handlers
    # and joins what it started (the OCR pool): end here, at once, with the work done.
    logging.shutdown()
    os._exit(0)


def run_workers(settings, db, log_level: str = "INFO") -> int:  # noqa: ANN001
    """``[service] workers`` processes under this one: started, restarted when one dies
    (with backoff), stopped with SIGTERM when this one is; READY=1 once all are ready."""
    count = settings.service.workers
    metrics_dir = Path(tempfile.mkdtemp(prefix="pec-intake-metrics-"))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)  # before any worker imports it
    context = multiprocessing.get_context("spawn")
    ready = context.Queue()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    db.ensure_schema()  # once, before the workers race to it
    server = start_operator_server(settings, db, {"workers": count})

    def spawn(index: int):  # noqa: ANN202
        proc = context.Process(target=_worker_main, args=(settings, index, ready, log_level),
                               name=f"pec-intake-worker-{index}", daemon=False)
        proc.start()
        log.info("worker %d started (pid %d)", index, proc.pid)
        return proc

    procs = {i: spawn(i) for i in range(1, count + 1)}
    failures = dict.fromkeys(procs, 0)
    restart_at: dict[int, float] = {}
    readies: set[int] = set()
    notified = False
    try:
        while not stop.is_set():
            while not ready.empty():
                readies.add(ready.get_nowait())
            if not notified and len(readies) >= count:
                sd_notify(f"READY=1\nSTATUS={count} workers taking messages in")
                log.info("all %d workers ready", count)
                notified = True
            for index, proc in list(procs.items()):
                if proc is None or proc.is_alive():
                    continue
                failures[index] += 1
                delay = min(RESTART_FIRST_SECONDS * 2 ** (failures[index] - 1),
                            RESTART_MAX_SECONDS)
                log.error("worker %d (pid %d) ended with %s; restarting in %.0fs", index,
                          proc.pid, proc.exitcode, delay)
                _mark_dead(proc.pid)
                procs[index] = None
                restart_at[index] = time.monotonic() + delay
            for index, when in list(restart_at.items()):
                if time.monotonic() >= when:
                    del restart_at[index]
                    procs[index] = spawn(index)
            stop.wait(0.5)
    finally:
        sd_notify("STOPPING=1")
        log.info("stopping %d worker(s): each finishes the message in hand", count)
        for proc in procs.values():
            if proc is not None and proc.is_alive():
                os.kill(proc.pid, signal.SIGTERM)
        for proc in procs.values():
            if proc is not None:
                proc.join(STOP_WAIT_SECONDS)
                if proc.is_alive():  # finished its message long ago, or stuck: say so
                    log.error("worker pid %d did not stop within %.0fs: killed", proc.pid,
                              STOP_WAIT_SECONDS)
                    proc.kill()
                    proc.join()
        if server is not None:
            server.stop()
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def _mark_dead(pid: int) -> None:
    try:
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(pid)
    except Exception:  # noqa: BLE001 - only the gauges' bookkeeping
        pass
