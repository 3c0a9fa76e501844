"""The gunicorn worker class the site runs: gthread, where only a complete request gets a thread.

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

from gunicorn.workers.gthread import TConn, ThreadWorker

# How long a connection may take to complete its headers after it was accepted, idle or not.
# Waiting costs no thread, only a poller entry, so this can be generous. It must also exceed how
# long a browser keeps a preconnected, still unused socket (Chromium: 10 s): a server that closes
# such a socket first races the request the browser is about to send on it, and loses it.
HEADER_DEADLINE = 30.0
# More than any header block gunicorn accepts (its limits then refuse it with a 4xx).
HEAD_LIMIT = 128 * 1024

_PARK = object()  # the headers are not complete yet: back to the poller, no thread held


class BoundedThreadWorker(ThreadWorker):
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
        conn.deadline = time.monotonic() + HEADER_DEADLINE
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
