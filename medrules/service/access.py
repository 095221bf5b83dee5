"""Who may see what: clerks with passwords, citizens with an access code per member.

- Clerks are kept in the instance's ``service.sqlite``; passwords are hashed with argon2id
  (argon2-cffi). ``medrules serve --create-clerk NAME`` adds one (the password is prompted).
- A clerk issues a citizen an access code for one member (shown once, stored hashed;
  issuing a new one revokes the old). A citizen signs in with member id and code and sees
  only that member's decisions.
- Sign-in (clerk and citizen, pages and API) is rate-limited per client address and name.
- The secret that signs sessions and API tokens comes from ``MEDRULES_SECRET_KEY`` or is
  generated on first run into the instance folder (``secret_key``, mode 0600); never in the repo.
"""
from __future__ import annotations

import datetime as dt
import os
import secrets
import sqlite3
import threading
import time
from collections import deque
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

SCHEMA = """
CREATE TABLE IF NOT EXISTS clerk (name TEXT PRIMARY KEY, hash TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS access_code (member TEXT PRIMARY KEY, hash TEXT NOT NULL, issued_by TEXT NOT NULL,
  issued_at TEXT NOT NULL);
"""


CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out over the phone


def secret_key(instance: Path) -> str:
    if os.environ.get("MEDRULES_SECRET_KEY"):
        return os.environ["MEDRULES_SECRET_KEY"]
    path = instance / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


class Accounts:
    """Clerks and access codes. ``hasher`` defaults to argon2-cffi's recommended argon2id parameters
    (tests pass a cheaper profile); each stored hash names its own parameters."""

    def __init__(self, path: str | Path, hasher: PasswordHasher | None = None):
        self.path = str(path)
        self.hasher = hasher or PasswordHasher()
        self._dummy: str | None = None
        with self._db() as db:
            db.executescript(SCHEMA)

    def _db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def add_clerk(self, name: str, password: str) -> None:
        if not name.strip() or len(password) < 8:
            raise ValueError("a clerk needs a name and a password of at least 8 characters")
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        with self._db() as db:
            db.execute("INSERT INTO clerk (name, hash, created_at) VALUES (?,?,?) ON CONFLICT(name) DO UPDATE "
                       "SET hash=excluded.hash", (name, self.hasher.hash(password), now))

    def check_clerk(self, name: str, password: str) -> bool:
        with self._db() as db:
            row = db.execute("SELECT hash FROM clerk WHERE name=?", (name,)).fetchone()
        return self._verify(row[0] if row else None, password)

    def _verify(self, stored: str | None, given: str) -> bool:
        if stored is None:  # verify against a dummy, so an unknown name costs as long as a wrong password
            self._dummy = self._dummy or self.hasher.hash("medrules-no-such-account")
        try:
            return self.hasher.verify(stored or self._dummy, given) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    def issue_code(self, member: str, clerk: str) -> str:
        code = "-".join("".join(secrets.choice(CODE_ALPHABET) for _ in range(4)) for _ in range(3))
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        with self._db() as db:
            db.execute("INSERT INTO access_code (member, hash, issued_by, issued_at) VALUES (?,?,?,?) "
                       "ON CONFLICT(member) DO UPDATE SET hash=excluded.hash, issued_by=excluded.issued_by, "
                       "issued_at=excluded.issued_at", (member, self.hasher.hash(_normal(code)), clerk, now))
        return code

    def check_code(self, member: str, code: str) -> bool:
        with self._db() as db:
            row = db.execute("SELECT hash FROM access_code WHERE member=?", (member,)).fetchone()
        return self._verify(row[0] if row else None, _normal(code))


def _normal(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())




class RateLimit:
    """At most ``attempts`` failed sign-ins per key in ``window`` seconds (in memory, per process).
    Keys with no recent failure are forgotten; at most ``max_keys`` are kept (the oldest go first)."""

    def __init__(self, attempts: int = 5, window: float = 300.0, clock=time.monotonic, max_keys: int = 100_000):
        self.attempts, self.window, self.clock, self.max_keys = attempts, window, clock, max_keys
        self._failures: dict[str, deque] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str) -> deque | None:
        q = self._failures.get(key)
        if q is None:
            return None
        now = self.clock()
        while q and now - q[0] > self.window:
            q.popleft()
        if not q:
            del self._failures[key]
            return None
        return q

    def blocked(self, *keys: str) -> float:
        """Seconds to wait if any key is blocked, else 0."""
        with self._lock:
            wait = 0.0
            for key in keys:
                q = self._recent(key)
                if q is not None and len(q) >= self.attempts:
                    wait = max(wait, self.window - (self.clock() - q[0]))
            return wait

    def failed(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                q = self._recent(key)
                if q is None:
                    if len(self._failures) >= self.max_keys:
                        del self._failures[next(iter(self._failures))]
                    q = self._failures[key] = deque(maxlen=self.attempts)
                q.append(self.clock())

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)
