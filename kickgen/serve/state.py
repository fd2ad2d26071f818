"""What the install server saw of each host, kept in SQLite next to the tree (DIR/kickgen-serve.sqlite).

One table of events, appended to and never rewritten: `kickstart` (the host fetched its
kickstart), `installing` (its first request for the install tree after that), `report` (it
posted its KICKGEN-REPORT line; the line, the verdict against the manifest's `expect` and the
failed assertions are kept). A host's state is the newest of its events since its last
kickstart fetch (a new fetch starts a new install): not seen, kickstart fetched, installing,
reported. Each event carries the kickstart sha256 the manifest had when it was recorded, and a
host's state counts only the events of its current kickstart: a tree made again with another
kickstart starts that host over at "not seen".

The database is in WAL mode (the server writes while `kickgen status` reads) and survives a
restart of the server. Standard library sqlite3 only.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from kickgen.core.errors import EnvironmentProblem, KickgenError
from kickgen.serve.manifest import NetbootTree, ServedHost, load_tree

NOT_SEEN, KICKSTART, INSTALLING, REPORTED = "not seen", "kickstart fetched", "installing", "reported"
STATES = (NOT_SEEN, KICKSTART, INSTALLING, REPORTED)
SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    host TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('kickstart', 'installing', 'report')),
    at REAL NOT NULL,
    client TEXT,
    ks_sha256 TEXT,
    verdict TEXT CHECK (verdict IS NULL OR verdict IN ('passed', 'failed')),
    failed TEXT,
    line TEXT
);
CREATE INDEX IF NOT EXISTS events_by_host ON events (host, id);
"""


@dataclass(frozen=True)
class HostState:
    name: str
    mac: str
    profile: str
    address: str | None
    state: str                     # one of STATES
    verdict: str | None            # "passed" | "failed" once reported, else None
    failed: tuple[str, ...]        # the failed assertions, one line each
    kickstart_at: float | None     # epoch seconds of the last kickstart fetch
    installing_at: float | None    # of the first tree request after it
    reported_at: float | None      # of the report
    client: str | None             # the address the last event came from
    report: str | None             # the report line as posted

    @property
    def passed(self) -> bool:
        return self.state == REPORTED and self.verdict == "passed"

    def as_json(self) -> dict:
        data = asdict(self)
        data["failed"] = list(self.failed)
        return data


class StateStore:
    """The server's connection to the database; safe to share between the server's threads."""

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            elif version != SCHEMA_VERSION:
                raise KickgenError(f"{self.path}: state database version {version}, this kickgen writes "
                                   f"{SCHEMA_VERSION}", hint="move the file away to start over")
        except sqlite3.Error as exc:
            raise _db_problem(self.path, exc) from None
        self._lock = threading.Lock()
        # hosts whose install already has its `installing` event (so a tree request writes nothing)
        self._installing: set[str] = set()

    def resume(self, tree: NetbootTree) -> None:
        """After a restart: the hosts already installing (or done) need no new `installing` event."""
        for st in _states(self._db, tree.hosts):
            if st.state in (INSTALLING, REPORTED):
                self._installing.add(st.name)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _add(self, host: ServedHost, kind: str, client: str | None, **extra: object) -> None:
        columns = {"host": host.name, "kind": kind, "at": time.time(), "client": client,
                   "ks_sha256": host.kickstart_sha256, **extra}
        names = ", ".join(columns)
        marks = ", ".join("?" for _ in columns)
        try:
            self._db.execute(f"INSERT INTO events ({names}) VALUES ({marks})", tuple(columns.values()))
        except sqlite3.Error as exc:
            raise _db_problem(self.path, exc) from None

    def kickstart_fetched(self, host: ServedHost, client: str | None) -> None:
        with self._lock:
            self._add(host, "kickstart", client)
            self._installing.discard(host.name)

    def tree_requested(self, host: ServedHost, client: str | None) -> None:
        if host.name in self._installing:          # the common case: nothing to write
            return
        with self._lock:
            if host.name in self._installing:
                return
            self._add(host, "installing", client)
            self._installing.add(host.name)

    def reported(self, host: ServedHost, client: str | None, line: str, verdict: str,
                 failed: Iterable[str]) -> None:
        with self._lock:
            self._add(host, "report", client, verdict=verdict, failed=json.dumps(list(failed)), line=line)
            self._installing.add(host.name)


def _db_problem(path: Path, exc: sqlite3.Error, doing: str = "write") -> KickgenError:
    text = str(exc)
    if "readonly" in text or "unable to open" in text or "disk" in text:
        return EnvironmentProblem(f"{path}: cannot {doing} the state database: {text}")
    return KickgenError(f"{path}: not a usable kickgen state database: {text}",
                        hint="move the file away to start over")


def _states(db: sqlite3.Connection, hosts: Iterable[ServedHost]) -> list[HostState]:
    out = []
    for host in hosts:
        rows = db.execute("SELECT kind, at, client, verdict, failed, line, ks_sha256 FROM events "
                          "WHERE host = ? ORDER BY id", (host.name,)).fetchall()
        state, verdict, failed = NOT_SEEN, None, ()
        kickstart_at = installing_at = reported_at = None
        client = report = None
        for kind, at, who, row_verdict, row_failed, line, ks_sha256 in rows:
            if ks_sha256 != host.kickstart_sha256:
                continue
            client = who
            if kind == "kickstart":
                state, kickstart_at = KICKSTART, at
                installing_at = reported_at = verdict = report = None
                failed = ()
            elif kind == "installing":
                if state in (NOT_SEEN, KICKSTART):
                    state, installing_at = INSTALLING, at
            elif kind == "report":
                state, reported_at, verdict, report = REPORTED, at, row_verdict, line
                failed = tuple(json.loads(row_failed or "[]"))
        out.append(HostState(name=host.name, mac=host.mac, profile=host.profile, address=host.address,
                             state=state, verdict=verdict, failed=failed, kickstart_at=kickstart_at,
                             installing_at=installing_at, reported_at=reported_at, client=client,
                             report=report))
    return out


def host_states(tree_dir: str | Path) -> list[HostState]:
    """Each inventory host of the netboot tree DIR, in the manifest's order, with what the server
    recorded of it (all "not seen" before the server first ran). Reads only: never creates the
    database."""
    tree = load_tree(tree_dir)
    path = tree.state_db
    if not path.exists():
        return _states_of_nothing(tree)
    try:
        db = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=10)
    except sqlite3.Error as exc:
        raise _db_problem(path, exc, "read") from None
    try:
        has_table = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'").fetchone()
        if not has_table:
            return _states_of_nothing(tree)
        return _states(db, tree.hosts)
    except (sqlite3.Error, ValueError) as exc:
        raise _db_problem(path, exc if isinstance(exc, sqlite3.Error) else sqlite3.Error(str(exc)), "read") from None
    finally:
        db.close()


def _states_of_nothing(tree: NetbootTree) -> list[HostState]:
    return [HostState(h.name, h.mac, h.profile, h.address, NOT_SEEN, None, (), None, None, None, None, None)
            for h in tree.hosts]
