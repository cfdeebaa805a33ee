"""A throwaway Dovecot 2.3 IMAP server for the tests, one user per mailbox.

Written from the facts in ../shared/recipes/README.md (Debian 12, dovecot-imapd 2.3.19):
  - a self-contained config (no conf.d) in its own /tmp folder: pytest's tmp dirs are 0700
    and the ``dovecot`` user could not enter them;
  - as root, mail and auth processes run as ``dovecot`` and imap-login as ``dovenull`` (Dovecot
    refuses uid 0 for both), with first/last_valid_uid set explicitly (the default minimum is
    500); not root, everything runs as the invoking user and chroot is cleared;
  - the port opens before login works: ready means the ``* OK`` greeting;
  - ``mail_max_userip_connections`` raised for parallel clients;
  - IDLE notifications come about 500 ms after a change (NOTIFY_DELAY_MSECS).

``restart()`` keeps the folder, the port and the mail, so a test can drop the server under a
running client and bring it back.
"""
from __future__ import annotations

import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from imapclient import IMAPClient

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"

_CONF = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
instance_name = pec-intake-test-{port}
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {login_user}
first_valid_uid = {uid}
last_valid_uid = {uid}
first_valid_gid = {gid}
last_valid_gid = {gid}
ssl = {ssl}
{ssl_files}
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = /
}}
mail_max_userip_connections = 200
imap_idle_notify_interval = 2 mins
mailbox_idle_check_interval = 1 secs
{imap_capability}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
  }}
}}
service anvil {{
  chroot =
}}
service ipc {{
  chroot =
}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _account(*names: str) -> pwd.struct_passwd:
    for name in names:
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError(f"none of the users {names} exists")


class Dovecot:
    """``with Dovecot({"amministrazione": "pw"}) as imap: imap.append("amministrazione", raw)``.

    ``tls=True`` adds STARTTLS and an imaps listener with a self-signed certificate for
    127.0.0.1 (``cert_file`` is its own CA). ``capability`` replaces the advertised
    capabilities, e.g. to hide MOVE or IDLE from the client.
    """

    def __init__(self, users: dict[str, str], *, tls: bool = False,
                 capability: str | None = None) -> None:
        self.users = dict(users)
        self.tls = tls
        self.capability = capability
        self.root = Path(tempfile.mkdtemp(prefix="dovecot-test-"))
        os.chmod(self.root, 0o755)
        self.host = "127.0.0.1"
        self.port = free_port()
        self.imaps_port = free_port() if tls else 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._configured = False

    @property
    def cert_file(self) -> Path:
        return self.root / "cert.pem"

    # --- life cycle ----------------------------------------------------------------------

    def _configure(self) -> None:
        if os.getuid() == 0:
            mail_user = _account("dovecot", "nobody")
            uid, gid, user = mail_user.pw_uid, mail_user.pw_gid, mail_user.pw_name
            login_user = _account("dovenull", "nobody").pw_name
        else:
            uid, gid = os.getuid(), os.getgid()
            user = login_user = pwd.getpwuid(uid).pw_name
        for sub in ("run", "state", "mail"):
            (self.root / sub).mkdir(exist_ok=True)
        if self.tls:
            subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                 "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                 "-keyout", str(self.root / "key.pem"), "-out", str(self.cert_file)],
                check=True, capture_output=True)
        (self.root / "passwd").write_text(
            "".join(f"{name}:{{PLAIN}}{pw}::::::\n" for name, pw in self.users.items()))
        ssl_files = (f"ssl_cert = <{self.root}/cert.pem\nssl_key = <{self.root}/key.pem\n"
                     "ssl_min_protocol = TLSv1.2") if self.tls else ""
        capability = f'imap_capability = "{self.capability}"' if self.capability else ""
        (self.root / "dovecot.conf").write_text(_CONF.format(
            root=self.root, user=user, group=grp.getgrgid(gid).gr_name, login_user=login_user,
            uid=uid, gid=gid, port=self.port, imaps_port=self.imaps_port,
            ssl="yes" if self.tls else "no", ssl_files=ssl_files, imap_capability=capability))
        if os.getuid() == 0:
            for dirpath, _dirs, files in os.walk(self.root):
                for path in [dirpath, *(os.path.join(dirpath, f) for f in files)]:
                    os.chown(path, uid, gid)
        self._configured = True

    def start(self, timeout: float = 10.0) -> Dovecot:
        if not self._configured:
            self._configure()
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", str(self.root / "dovecot.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dovecot exited ({self.proc.returncode}):\n{self.log()}")
            if self._greets():
                return self
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"dovecot did not greet within {timeout}s:\n{self.log()}")

    def _greets(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5) as sock:
                return sock.recv(200).startswith(b"* OK")
        except OSError:
            return False

    def stop(self) -> None:
        """SIGTERM to the master, which ends every session (clients see the drop)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self, down_seconds: float = 0.0) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def remove(self) -> None:
        self.stop()
        if not os.environ.get("DOVECOT_KEEP"):
            shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        try:
            return (self.root / "dovecot.log").read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def __enter__(self) -> Dovecot:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.remove()

    # --- helpers for tests ---------------------------------------------------------------

    @contextmanager
    def client(self, user: str) -> Iterator[IMAPClient]:
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        client.login(user, self.users[user])
        try:
            yield client
        finally:
            try:
                client.logout()
            except Exception:  # noqa: BLE001 - the server may be gone already
                pass

    def append(self, user: str, raw: bytes | list[bytes], mailbox: str = "INBOX") -> None:
        """APPENDs one message or a batch (RFC 3501 6.3.11), creating the mailbox if needed."""
        batch = [raw] if isinstance(raw, bytes) else raw
        with self.client(user) as client:
            if not client.folder_exists(mailbox):
                client.create_folder(mailbox)
            for item in batch:
                client.append(mailbox, item)

    def messages(self, user: str, mailbox: str = "INBOX") -> list[bytes]:
        """The raw bytes of every message in ``mailbox`` (empty if it does not exist)."""
        with self.client(user) as client:
            if not client.folder_exists(mailbox):
                return []
            client.select_folder(mailbox, readonly=True)
            uids = client.search("ALL")
            data = client.fetch(uids, ["BODY.PEEK[]"]) if uids else {}
            return [data[uid][b"BODY[]"] for uid in sorted(data)]

    def count(self, user: str, mailbox: str = "INBOX") -> int:
        with self.client(user) as client:
            if not client.folder_exists(mailbox):
                return 0
            return int(client.folder_status(mailbox, [b"MESSAGES"])[b"MESSAGES"])

    def uidvalidity(self, user: str, mailbox: str = "INBOX") -> int:
        with self.client(user) as client:
            return int(client.folder_status(mailbox, [b"UIDVALIDITY"])[b"UIDVALIDITY"])
