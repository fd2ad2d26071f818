"""The install server: aiohttp's low-level server, files sent with sendfile, state in SQLite.

URL layout (S = the server's URL):
  S/hosts/<h>/ks.cfg     GET/HEAD  the host's kickstart                 (records: kickstart fetched)
  S/hosts/<h>/tree/...   GET/HEAD  the install tree, Range requests     (records: installing, once)
  S/tree/...             GET/HEAD  the same tree, not attributed to a host
  S/hosts/<h>/report     POST      the host's KICKGEN-REPORT line        (records: the report + verdict)

The tree is read-only and nothing outside it is reachable (kickgen.serve.tree). File bodies go
from the file descriptor to the socket with os.sendfile (no copy through Python), at most
`send_chunk` bytes per writable event so one loop stays fair to many fast readers and to the
kickstart requests among them; a response that makes no progress for `idle_timeout` seconds
(a client that stops reading) is dropped. Every request head must arrive within
`head_timeout` of the connection's start or of the previous response's end (slowloris),
request lines and headers are bounded (aiohttp's parser limits), and a report body is read up
to its limit and no further. One event loop per worker thread, each with its own
listening socket on the same port (SO_REUSEPORT), so the kernel spreads the connections.
"""

from __future__ import annotations

import asyncio
import email.utils
import html
import logging
import mimetypes
import os
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.http_exceptions import HttpProcessingError

from kickgen import __version__
from kickgen.core.errors import EnvironmentProblem, HarnessError, InternalError, KickgenError
from kickgen.serve.isoindex import index_iso
from kickgen.serve.manifest import NetbootTree, ServedHost, load_tree
from kickgen.serve.state import StateStore
from kickgen.serve.tree import BadPath, FileBody, FolderTree, IsoTree, Listing, slice_extents, split_target
from kickgen.vm.console import find_report, parse_report
from kickgen.vm.verdict import check_expectations

log = logging.getLogger("kickgen.serve")
_http_log = logging.getLogger("kickgen.serve.http")     # aiohttp's own messages (its parser, handler errors)


class _NoBadRequestTracebacks(logging.Filter):
    """A request aiohttp's parser refuses is answered 400 and logged as a request line, not as an
    error with a traceback; errors of the server itself still show."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not (isinstance(exc, HttpProcessingError) and (exc.code or 500) < 500)


_http_log.addFilter(_NoBadRequestTracebacks())
SERVER_HEADER = f"kickgen/{__version__}"
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


@dataclass(frozen=True)
class Limits:
    head_timeout: float = 20.0       # seconds for a request's line and headers to arrive
    idle_timeout: float = 60.0       # seconds a response may make no progress, or a report body take
    send_chunk: int = 512 << 10      # bytes per sendfile call (one call per writable event)
    report_max: int = 64 << 10       # bytes of a report body (413 beyond)
    max_line: int = 8190             # bytes of the request line
    max_field: int = 8190            # bytes of one header
    max_headers: int = 64            # headers per request


@dataclass
class RunningServer:
    """A server running on background threads. `stop()` ends it (idempotent); also a context manager."""

    url: str
    port: int
    host: str
    workers: int
    tree: str                         # what the install tree is served from, for people
    _stop: Callable[[], None] = field(repr=False)
    _finished: list[threading.Event] = field(repr=False)     # one per event loop thread, set as it ends

    def stop(self) -> None:
        self._stop()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the server stops (or TIMEOUT passes); True when it has stopped.

        Waits on events, not Thread.join(): a join interrupted by Ctrl-C can mark a running
        thread as ended (CPython 3.11 threading._wait_for_tstate_lock), and stop() would then
        not wait for that loop's shutdown."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for event in self._finished:
            if not event.wait(None if deadline is None else max(0.0, deadline - time.monotonic())):
                return False
        return True

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_server(tree_dir: str | os.PathLike, host: str = "127.0.0.1", port: int = 0, *,
                 log_line: Callable[[str], None] | None = None, limits: Limits | None = None,
                 workers: int = 2) -> RunningServer:
    """Serve the netboot tree TREE_DIR on HOST:PORT (0: a free port) from background threads.

    Every problem that stops it from starting (no manifest, a bad field, the base ISO missing or
    damaged, the address taken) is a KickgenError raised here. LOG_LINE gets one line per
    request (None: none). WORKERS event loops share the port."""
    limits = limits or Limits()
    tree = load_tree(tree_dir)
    source: IsoTree | FolderTree = IsoTree(index_iso(tree.base_iso)) if tree.tree == "iso" \
        else FolderTree(tree.tree_dir)
    store = StateStore(tree.state_db)
    store.resume(tree)
    workers = max(1, workers)
    try:
        sockets = _listen(host, port, workers)
    except BaseException:
        store.close()
        raise
    bound_port = sockets[0].getsockname()[1]
    app = _InstallServer(tree, source, store, limits, log_line)
    stops: list[Callable[[], None]] = []
    started: list[BaseException | None] = []
    ready = threading.Semaphore(0)
    finished: list[threading.Event] = []
    for i, sock in enumerate(sockets):
        worker = _Worker(app, sock, limits, log_line, ready, started)
        finished.append(worker.finished)
        thread = threading.Thread(target=worker.run, name=f"kickgen-serve-{i}", daemon=True)
        thread.start()
        stops.append(worker.stop)
    for _ in sockets:
        ready.acquire()
    lock = threading.Lock()
    stopped = [False]

    def stop() -> None:
        with lock:
            if stopped[0]:
                return
            stopped[0] = True
        for one in stops:
            one()
        deadline = time.monotonic() + 15
        for event in finished:
            event.wait(max(0.0, deadline - time.monotonic()))
        store.close()

    problems = [exc for exc in started if exc is not None]
    if problems:
        stop()
        raise EnvironmentProblem(f"cannot serve on {host}:{bound_port}: {problems[0]}")
    shown = f"[{host}]" if ":" in host else host
    return RunningServer(url=f"http://{shown}:{bound_port}", port=bound_port, host=host, workers=workers,
                         tree=source.describe(), _stop=stop, _finished=finished)


def _listen(host: str, port: int, count: int) -> list[socket.socket]:
    try:
        family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise EnvironmentProblem(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sockets: list[socket.socket] = []
    try:
        if count > 1:
            # a group of SO_REUSEPORT sockets would share the port with another such group of the
            # same user (a second `kickgen serve`): make sure the port is free with a plain socket
            with socket.socket(family, socket.SOCK_STREAM) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                probe.bind(address)
                address = (*address[:1], probe.getsockname()[1], *address[2:])
        for _ in range(count):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if count > 1:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(512)
            sock.setblocking(False)
            address = (*address[:1], sock.getsockname()[1], *address[2:])   # the others on the same port
    except OSError as exc:
        for sock in sockets:
            sock.close()
        raise EnvironmentProblem(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                                 hint="another server holds the port? choose one with --listen HOST:PORT") from None
    return sockets


# --- one event loop --------------------------------------------------------------------------

class _Worker:
    def __init__(self, app: _InstallServer, sock: socket.socket, limits: Limits,
                 log_line: Callable[[str], None] | None, ready: threading.Semaphore,
                 started: list[BaseException | None]):
        self.app, self.sock, self.limits, self.log_line = app, sock, limits, log_line
        self.ready, self.started = ready, started
        self.loop: asyncio.AbstractEventLoop | None = None
        self.done: asyncio.Event | None = None
        self.finished = threading.Event()

    def run(self) -> None:
        loop = asyncio.new_event_loop()
        self.loop = loop
        try:
            loop.run_until_complete(self._serve())
        finally:
            try:
                pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
                for task in pending:
                    task.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()
                self.sock.close()
                self.finished.set()

    async def _serve(self) -> None:
        self.done = asyncio.Event()
        access = None
        if self.log_line is not None:
            access = _access_logger_class(self.log_line)
        server = _GuardedServer(self.app.handle, self.limits.head_timeout,
                                keepalive_timeout=2 * self.limits.head_timeout + 1,   # a backstop: the guard is first
                                max_line_size=self.limits.max_line,
                                max_field_size=self.limits.max_field, max_headers=self.limits.max_headers,
                                lingering_time=1.0, logger=_http_log, access_log_class=access or web.AccessLogger,
                                access_log=log if access else None)
        try:
            listener = await asyncio.get_running_loop().create_server(server, sock=self.sock)
        except OSError as exc:
            self.started.append(exc)
            self.ready.release()
            return
        self.started.append(None)
        self.ready.release()
        await self.done.wait()
        listener.close()
        await server.shutdown(1.0)
        # Bounded: Python 3.11's wait_closed waits for every connection to detach, and a client
        # that holds one open must not hold up the stop (the loop's tasks are cancelled next).
        try:
            await asyncio.wait_for(listener.wait_closed(), 2.0)
        except TimeoutError:
            log.debug("connections still open at shutdown: closed with the loop")

    def stop(self) -> None:
        loop, done = self.loop, self.done
        if loop is not None and done is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(done.set)
            except RuntimeError:        # the loop closed meanwhile
                pass


class _GuardedServer(web.Server):
    """aiohttp's low-level server plus a deadline for each request head: from the connection's
    start, and again from the end of each response, the next request's line and headers must
    arrive within `head_timeout` (a slowloris client, or an idle keep-alive connection, is closed)."""

    def __init__(self, handler, head_timeout: float, **kwargs):
        super().__init__(handler, **kwargs)
        self.head_timeout = head_timeout
        self._deadlines: dict[object, asyncio.TimerHandle] = {}

    def connection_made(self, handler, transport) -> None:
        super().connection_made(handler, transport)
        self.arm(handler, transport)

    def connection_lost(self, handler, exc: BaseException | None = None) -> None:
        self.disarm(handler)
        super().connection_lost(handler, exc)

    def arm(self, handler, transport) -> None:
        self.disarm(handler)
        if transport is not None and not transport.is_closing():
            self._deadlines[handler] = asyncio.get_running_loop().call_later(
                self.head_timeout, transport.close)

    def disarm(self, handler) -> None:
        timer = self._deadlines.pop(handler, None)
        if timer is not None:
            timer.cancel()


def _access_logger_class(log_line: Callable[[str], None]) -> type[AbstractAccessLogger]:
    class Access(AbstractAccessLogger):
        def log(self, request, response, time: float) -> None:
            try:
                target = request.raw_path
                method = request.method
            except Exception:   # noqa: BLE001 - a request aiohttp's parser refused has little to show
                target, method = "-", "-"
            peer = request.remote or "-"
            sent = getattr(response, "kickgen_bytes", None)
            if sent is None:
                sent = 0 if method == "HEAD" else response.content_length or 0
            note = getattr(response, "kickgen_note", "")
            log_line(f'{peer} "{method} {_printable(target)}" {response.status} {sent} {time:.3f}s'
                     + (f" ({note})" if note else ""))

    return Access


def _printable(text: str, limit: int = 300) -> str:
    text = "".join(c if " " <= c < "\x7f" else f"\\x{ord(c):02x}" for c in text[:limit])
    return text + ("..." if len(text) >= limit else "")


# --- requests --------------------------------------------------------------------------------

class _SendfileResponse(web.StreamResponse):
    """Headers through aiohttp, then the body's extents with sendfile (zero-copy), see `_Sendfile`."""

    def __init__(self, *, status: int, headers: dict[str, str], body: FileBody, parts: list[tuple[int, int]],
                 limits: Limits):
        super().__init__(status=status, headers=headers)
        self._source, self._parts, self._limits = body, parts, limits
        self.content_length = sum(n for _, n in parts)
        self.kickgen_bytes = 0
        self.kickgen_note = ""

    async def prepare(self, request: web.BaseRequest):
        if self.prepared:
            return await super().prepare(request)
        writer = await super().prepare(request)
        try:
            if request.method != "HEAD" and self._parts:
                await self._send(request)
            await super().write_eof()
        finally:
            self._source.file.close()
        return writer

    async def _send(self, request: web.BaseRequest) -> None:
        transport = request.transport
        sock = transport.get_extra_info("socket") if transport is not None else None
        if transport is None or transport.is_closing() or sock is None:
            raise ConnectionResetError("the client went away")
        # the headers are in the transport's hands; they leave before the body goes to the socket itself
        while transport.get_write_buffer_size():
            if transport.is_closing():
                raise ConnectionResetError("the client went away")
            await asyncio.sleep(0.005)
        was_reading = transport.is_reading()
        transport.pause_reading()
        sender = _Sendfile(sock.fileno(), self._source.file.fileno(), self._parts, self._limits)
        try:
            await sender.run()
        except TimeoutError:
            self.kickgen_note = f"dropped: no progress in {self._limits.idle_timeout:g} s"
            transport.abort()
            raise ConnectionResetError(self.kickgen_note) from None
        finally:
            self.kickgen_bytes = sender.sent
            if was_reading and not transport.is_closing():
                transport.resume_reading()


class _Sendfile:
    """Extents of a file to a socket with os.sendfile, at most `send_chunk` bytes per call and one
    call per writable event, so one event loop keeps many fast readers and its new requests fair
    (a kickstart is answered between two chunks, not after a socket buffer's worth of each
    download). The socket is written through a duplicate of its descriptor (asyncio lets a
    transport's own descriptor be watched only by the transport). No progress in `idle_timeout`
    seconds: TimeoutError."""

    def __init__(self, sock_fd: int, file_fd: int, parts: list[tuple[int, int]], limits: Limits):
        self.loop = asyncio.get_running_loop()
        self.sock_fd, self.file_fd = sock_fd, file_fd
        self.parts = [(o, n) for o, n in parts if n]
        self.cap, self.idle = limits.send_chunk, limits.idle_timeout
        self.sent = 0
        self.done: asyncio.Future[None] = self.loop.create_future()
        self.last = self.loop.time()
        self.timer: asyncio.TimerHandle | None = None

    async def run(self) -> None:
        if not self.parts:
            return
        fd = os.dup(self.sock_fd)
        self.timer = self.loop.call_later(self.idle, self._check)
        try:
            self._step(fd)
            if not self.done.done():
                self.loop.add_writer(fd, self._step, fd)
            await self.done
        finally:
            if self.timer is not None:
                self.timer.cancel()
            self.loop.remove_writer(fd)
            os.close(fd)

    def _step(self, fd: int) -> None:
        if self.done.done():
            return
        offset, left = self.parts[0]
        try:
            n = os.sendfile(fd, self.file_fd, offset, min(left, self.cap))
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self.done.set_exception(ConnectionResetError(exc.errno, f"the client went away: {exc.strerror}"))
            return
        if n == 0:
            self.done.set_exception(ConnectionResetError(f"the file ended early (at byte {offset}): changed?"))
            return
        self.sent += n
        self.last = self.loop.time()
        if n < left:
            self.parts[0] = (offset + n, left - n)
        else:
            self.parts.pop(0)
            if not self.parts:
                self.done.set_result(None)

    def _check(self) -> None:
        if self.done.done():
            return
        quiet = self.loop.time() - self.last
        if quiet >= self.idle:
            self.done.set_exception(TimeoutError())
        else:
            self.timer = self.loop.call_later(self.idle - quiet, self._check)


class _InstallServer:
    """The request handler shared by the workers (the state store locks itself)."""

    def __init__(self, tree: NetbootTree, source: IsoTree | FolderTree, store: StateStore, limits: Limits,
                 log_line: Callable[[str], None] | None):
        self.tree, self.source, self.store, self.limits, self.log_line = tree, source, store, limits, log_line

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        manager = _manager_of(request)
        if manager is not None:
            manager.disarm(request.protocol)
        try:
            response = await self._route(request)
            try:
                await response.prepare(request)
                await response.write_eof()
            except ConnectionError as exc:
                if not getattr(response, "kickgen_note", ""):
                    try:
                        response.kickgen_note = f"client gone: {exc}"   # type: ignore[attr-defined]
                    except AttributeError:
                        pass
            return response
        finally:
            if manager is not None:
                manager.arm(request.protocol, request.transport)

    async def _route(self, request: web.BaseRequest) -> web.StreamResponse:
        try:
            target = split_target(request.raw_path)
        except BadPath as exc:
            return _text(400, f"bad request: {exc}")
        parts = target.segments
        if parts[:1] == ("tree",):
            return self._tree(request, target, parts[1:], None)
        if len(parts) >= 3 and parts[0] == "hosts":
            host = self.tree.host(parts[1])
            if host is None:
                return _text(404, f"no host {parts[1]!r} in the inventory")
            if parts[2:] == ("ks.cfg",):
                return self._kickstart(request, host)
            if parts[2] == "tree":
                return self._tree(request, target, parts[3:], host)
            if parts[2:] == ("report",):
                return await self._report(request, host)
        return _text(404, "not found")

    # --- kickstarts --------------------------------------------------------------------------

    def _kickstart(self, request: web.BaseRequest, host: ServedHost) -> web.StreamResponse:
        if request.method not in ("GET", "HEAD"):
            return _not_allowed("GET, HEAD")
        try:
            data = host.kickstart.read_bytes()
        except OSError as exc:
            return _text(404, f"the kickstart of {host.name} is not readable: {exc.strerror}")
        if request.method == "GET":
            self.store.kickstart_fetched(host, request.remote)
        response = web.Response(body=data, content_type="text/plain", charset="utf-8",
                                headers={"Server": SERVER_HEADER, "Cache-Control": "no-store"})
        return response

    # --- the tree ----------------------------------------------------------------------------

    def _tree(self, request: web.BaseRequest, target, segments: tuple[str, ...],
              host: ServedHost | None) -> web.StreamResponse:
        if request.method not in ("GET", "HEAD"):
            return _not_allowed("GET, HEAD")
        if host is not None:
            self.store.tree_requested(host, request.remote)
        found = self.source.lookup(segments)
        if found is None:
            return _text(404, "not found")
        if isinstance(found, Listing):
            if not target.slash:
                return web.Response(status=301, headers={"Location": target.path + "/", "Server": SERVER_HEADER})
            return _listing(request, target.path, found)
        return self._file(request, found)

    def _file(self, request: web.BaseRequest, body: FileBody) -> web.StreamResponse:
        headers = {"Server": SERVER_HEADER, "Accept-Ranges": "bytes", "ETag": body.etag,
                   "Last-Modified": email.utils.formatdate(body.mtime, usegmt=True),
                   "Content-Type": mimetypes.guess_type(body.name)[0] or "application/octet-stream"}
        if _not_modified(request, body):
            body.file.close()
            return web.Response(status=304, headers={k: headers[k] for k in ("Server", "ETag", "Last-Modified")})
        status, start, length = 200, 0, body.size
        wanted = request.headers.get("Range")
        if wanted is not None and request.method == "GET" and _if_range_holds(request, body):
            chosen = _parse_range(wanted, body.size)
            if chosen == "unsatisfiable":
                body.file.close()
                return _text(416, "range not satisfiable", {"Content-Range": f"bytes */{body.size}"})
            if isinstance(chosen, tuple):
                start, length = chosen
                status = 206
                headers["Content-Range"] = f"bytes {start}-{start + length - 1}/{body.size}"
        parts = slice_extents(body.extents, start, length)
        return _SendfileResponse(status=status, headers=headers, body=body, parts=parts, limits=self.limits)

    # --- reports -----------------------------------------------------------------------------

    async def _report(self, request: web.BaseRequest, host: ServedHost) -> web.StreamResponse:
        if request.method != "POST":
            return _not_allowed("POST")
        limit = self.limits.report_max
        if request.content_length is not None and request.content_length > limit:
            return _too_large(limit)
        if request.version >= (1, 1) and request.headers.get("Expect", "").lower() == "100-continue":
            await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = bytearray()
        try:
            while True:
                chunk = await asyncio.wait_for(request.content.read(limit + 1 - len(body)),
                                               self.limits.idle_timeout)
                if not chunk:
                    break
                body += chunk
                if len(body) > limit:
                    return _too_large(limit)
        except TimeoutError:
            response = _text(408, f"the report body did not arrive within {self.limits.idle_timeout:g} s")
            response.force_close()
            return response
        try:
            text = bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            return _text(400, "the report is not UTF-8 text")
        payload = next((p for p in map(find_report, text.splitlines()) if p is not None), None)
        if payload is None:
            return _text(400, "no 'KICKGEN-REPORT v1 {...}' line in the body")
        try:
            report = parse_report(payload, source=f"report of {host.name}")
        except HarnessError as exc:
            return _text(400, exc.message)
        line = "KICKGEN-REPORT v1 " + payload
        assertions = check_expectations(host.expect, report, profile_name=host.profile,
                                        ks_sha256=host.kickstart_sha256, allow_unsigned=host.allow_unsigned)
        failed = [a.describe() for a in assertions if not a.passed]
        verdict = "failed" if failed else "passed"
        try:
            self.store.reported(host, request.remote, line, verdict, failed)
        except KickgenError as exc:
            log.error("%s", exc.message)
            return _text(500, f"the report could not be stored: {exc.message}")
        return _text(200, "\n".join([f"kickgen: report of {host.name}: {verdict}", *failed]))


def _manager_of(request: web.BaseRequest) -> _GuardedServer | None:
    manager = getattr(request.protocol, "_manager", None)
    return manager if isinstance(manager, _GuardedServer) else None


def _text(status: int, text: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, text=text + "\n", content_type="text/plain", charset="utf-8",
                        headers={"Server": SERVER_HEADER, **(headers or {})})


def _not_allowed(allow: str) -> web.Response:
    return _text(405, "method not allowed", {"Allow": allow})


def _too_large(limit: int) -> web.Response:
    response = _text(413, f"a report is at most {limit} bytes")
    response.force_close()           # the rest of the body is never read
    return response


def _listing(request: web.BaseRequest, path: str, listing: Listing) -> web.Response:
    title = html.escape(path)
    rows = "".join(f'<a href="{html.escape(_quote(n))}">{html.escape(n)}</a>\n' for n in listing.names)
    page = (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\n"
            f"<body><h1>{title}</h1>\n<pre>\n<a href=\"../\">../</a>\n{rows}</pre></body></html>\n")
    return web.Response(text=page, content_type="text/html", charset="utf-8", headers={"Server": SERVER_HEADER})


def _quote(name: str) -> str:
    import urllib.parse

    return urllib.parse.quote(name.encode("utf-8", "surrogateescape"), safe="/")


def _not_modified(request: web.BaseRequest, body: FileBody) -> bool:
    tags = request.headers.get("If-None-Match")
    if tags is not None:
        return tags.strip() == "*" or body.etag in [t.strip().removeprefix("W/") for t in tags.split(",")]
    since = request.headers.get("If-Modified-Since")
    if since is not None:
        try:
            when = email.utils.parsedate_to_datetime(since).timestamp()
        except (TypeError, ValueError, IndexError):
            return False
        return int(body.mtime) <= when
    return False


def _if_range_holds(request: web.BaseRequest, body: FileBody) -> bool:
    """No If-Range, or one naming this very file (its ETag, or its exact Last-Modified date)."""
    condition = request.headers.get("If-Range")
    if condition is None:
        return True
    condition = condition.strip()
    if condition.startswith('"'):
        return condition == body.etag
    return condition == email.utils.formatdate(body.mtime, usegmt=True)


def _parse_range(header: str, size: int) -> tuple[int, int] | str | None:
    """(start, length) of a single `bytes=` range; "unsatisfiable"; or None: ignore the header
    (not bytes, several ranges, or bad syntax: RFC 9110 14.2 lets a server ignore those)."""
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    try:
        if first:
            start = int(first)
            end = int(last) if last else size - 1
            if last and end < start:
                return None
            if start >= size:
                return "unsatisfiable"
            end = min(end, size - 1)
            return start, end - start + 1
        if last:
            suffix = int(last)
            if suffix == 0 or size == 0:
                return "unsatisfiable"
            start = max(0, size - suffix)
            return start, size - start
    except ValueError:            # more digits than int() takes
        return None
    return None


# --- the command's loop ----------------------------------------------------------------------

def serve_until_interrupted(tree_dir: str | os.PathLike, host: str, port: int, *,
                            log_line: Callable[[str], None] | None,
                            announce: Callable[[RunningServer], None] | None = None,
                            workers: int = 2) -> None:
    """`kickgen serve`: start, announce, then wait; KeyboardInterrupt (Ctrl-C, and SIGTERM/SIGHUP
    as the CLI maps them) stops the server cleanly before it propagates."""
    server = start_server(tree_dir, host, port, log_line=log_line, workers=workers)
    try:
        if announce is not None:
            announce(server)
        while not server.wait(0.5):
            pass
        raise InternalError("the server stopped on its own")
    finally:
        server.stop()


def default_workers() -> int:
    """Event loops for the command: one per CPU, at most 4 (sendfile runs without the GIL)."""
    return max(1, min(4, len(os.sched_getaffinity(0))))


__all__ = ["Limits", "RunningServer", "default_workers", "serve_until_interrupted", "start_server"]
