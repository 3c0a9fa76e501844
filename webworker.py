"""The gunicorn worker classes the site runs: uvicorn (asgi) and gthread, where no connection holds a
thread, or anything but a file descriptor, until its request headers are complete.

HeadersFirstWorker (asgi, serve.gunicorn_command): a uvicorn worker whose HTTP protocol
(HeaderDeadlineH11) closes a connection that has not completed its request headers
`header_deadline` seconds after it was accepted or after its previous response (keep-alive), idle or
dribbling. uvicorn itself has only a keep-alive timer, which the first byte of a dribbled request
cancels. An event loop holds every waiting connection; requests get a thread only inside the app
(asgi.py's a2wsgi pool). Connections per worker are bounded by gunicorn's --worker-connections
(uvicorn's limit_concurrency: beyond it, 503).

BoundedThreadWorker (gthread):

Stock gthread hands every new connection to a thread at once: the thread waits up to 5 s for a
first byte, then reads the request headers with no time limit. Measured on this site (4 workers,
16 threads each): 64 idle connections, reopened whenever dropped, kept the threads busy waiting
and a no-op callback took 4.9 s p50; a client sending one header line a second holds its thread
for as long as it likes. Here a new connection waits on the worker's poller (no thread) and each
arrival of bytes is read without blocking into a buffer, until the header block is complete; only
then does a thread parse and answer the request. A connection whose headers are not complete
`HEADER_DEADLINE` seconds after it was accepted is closed, idle or dribbling alike. Request bodies
are read by the application (Flask) on its thread and bounded in size by MAX_CONTENT_LENGTH.

Relies on gunicorn 27's ThreadWorker internals (accept, handle, finish_request, murder_pending,
pending_conns, the parser's unreader); requirements.txt pins gunicorn, and
tests/integration/test_serving.py holds idle and dribbling connections against it.
"""

from __future__ import annotations

import contextlib
import errno
import selectors
import time
from functools import partial

import h11
from gunicorn.workers.gthread import TConn, ThreadWorker
from uvicorn.protocols.http.flow_control import CLOSE_HEADER
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn_worker import UvicornWorker

from config import load_settings

# How long a connection may take to complete its headers after it was accepted, idle or not.
# Waiting costs no thread, only a poller entry, so this can be generous. It must also exceed how
# long a browser keeps a preconnected, still unused socket (Chromium: 10 s): a server that closes
# such a socket first races the request the browser is about to send on it, and loses it.
HEADER_DEADLINE = 30.0  # config.Settings.header_deadline's default; workers read STATELAB_HEADER_DEADLINE
# More than any header block gunicorn accepts (its limits then refuse it with a 4xx).
HEAD_LIMIT = 128 * 1024

_PARK = object()  # the headers are not complete yet: back to the poller, no thread held


class BoundedThreadWorker(ThreadWorker):
    def init_process(self):
        self.header_deadline = load_settings().header_deadline
        super().init_process()

    def accept(self, listener):
        try:
            client_sock, client_addr = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = TConn(self.cfg, client_sock, client_addr, listener.getsockname())  # non-blocking
        conn.head = b""
        conn.deadline = time.monotonic() + self.header_deadline
        self._park(conn)

    def _park(self, conn):
        conn.sock.setblocking(False)
        conn.timeout = conn.deadline
        self.pending_conns.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_pending_socket_readable, conn))

    def handle(self, conn):
        if not conn.initialized:
            try:
                if not self._read_head(conn):
                    return _PARK
                conn.init()
                conn.parser.unreader.unread(conn.head)
            except OSError:
                return False  # finish_request closes it
        return super().handle(conn)

    @staticmethod
    def _read_head(conn) -> bool:
        """Take what has arrived; True once the header block is complete (or the client is gone)."""
        while True:
            try:
                data = conn.sock.recv(65536)
            except BlockingIOError:
                return False
            if not data:
                return True  # end of stream: the parser reports it and the connection closes
            conn.head += data
            if b"\r\n\r\n" in conn.head or b"\n\n" in conn.head or len(conn.head) > HEAD_LIMIT:
                return True

    def finish_request(self, conn, fs):
        if not fs.cancelled() and fs.exception() is None and fs.result() is _PARK:
            if self.alive and time.monotonic() < conn.deadline:
                self._park(conn)
            else:
                self.nr_conns -= 1
                conn.close()
            return
        super().finish_request(conn, fs)

    def murder_pending(self):
        # Parked connections re-enter the queue out of deadline order, so check them all (at most
        # worker_connections of them, once a second) rather than stopping at the first live one.
        now = time.monotonic()
        late = [conn for conn in self.pending_conns if conn.timeout <= now]
        for conn in late:
            self.pending_conns.remove(conn)
            with contextlib.suppress(OSError, KeyError, ValueError):
                self.poller.unregister(conn.sock)
            self.nr_conns -= 1
            conn.close()


class HeaderDeadlineH11(H11Protocol):
    """uvicorn's h11 protocol with a header deadline: from the connection's start, and again from each
    response's end, the next request's headers must be complete within `header_deadline` seconds."""

    header_deadline = HEADER_DEADLINE  # set from the settings by HeadersFirstWorker
    keep_alive = True  # False (gunicorn --keep-alive 0): every response says "Connection: close" and closes

    def connection_made(self, transport):
        super().connection_made(transport)
        self._head_timer = None
        self._arm()

    def _arm(self):
        self._disarm()
        self._head_timer = self.loop.call_later(self.header_deadline, self._head_late)

    def _disarm(self):
        if getattr(self, "_head_timer", None) is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _waiting_for_head(self) -> bool:
        # h11 leaves IDLE only once a request's header block has been parsed (or on an upgrade).
        return self.conn.their_state is h11.IDLE and (self.cycle is None or self.cycle.response_complete)

    def _head_late(self):
        self._head_timer = None
        if self._waiting_for_head() and not self.transport.is_closing():
            self.transport.close()

    def data_received(self, data):
        super().data_received(data)
        if not self._waiting_for_head():
            self._disarm()

    def handle_events(self):
        super().handle_events()
        # A request just parsed (not a WebSocket upgrade, which starts no cycle): without keep-alive, mark it
        # "Connection: close" before its task runs, so the answer says so and the connection then closes —
        # a client never races a reuse against the server's close.
        cycle = self.cycle
        if not self.keep_alive and cycle is not None and cycle.scope is self.scope and not cycle.response_started:
            cycle.keep_alive = False
            if CLOSE_HEADER not in self.headers:
                self.headers.append(CLOSE_HEADER)

    def on_response_complete(self):
        super().on_response_complete()  # may start the next, pipelined request
        if not self.transport.is_closing() and self._waiting_for_head():
            self._arm()

    def connection_lost(self, exc):
        self._disarm()
        super().connection_lost(exc)


class HeadersFirstWorker(UvicornWorker):
    """The asgi kind's worker: uvicorn on asyncio with HeaderDeadlineH11, the lifespan required (a live
    app that cannot start fails the worker's boot instead of serving without it)."""

    CONFIG_KWARGS = {"loop": "asyncio", "http": HeaderDeadlineH11, "ws": "websockets-sansio", "lifespan": "on"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        settings = load_settings()
        HeaderDeadlineH11.header_deadline = settings.header_deadline
        HeaderDeadlineH11.keep_alive = self.cfg.keepalive > 0
        self.config.limit_concurrency = self.cfg.worker_connections
        self.config.ws_max_size = settings.max_request_bytes
        # Open WebSockets never end by themselves: on shutdown, close them after gunicorn's grace period.
        self.config.timeout_graceful_shutdown = self.cfg.graceful_timeout
