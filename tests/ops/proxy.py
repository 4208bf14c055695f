"""A loopback TCP proxy that cuts every connection after N bytes from the client (a network that
dies in the middle of a large request: small requests pass, a large upload never completes),
slows the client's bytes down (an upload still running when the job is cancelled), or records
what the client sent (which headers a request really carried). Bytes pass unchanged."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


def _pipe(src: socket.socket, dst: socket.socket, budget: int | None, done: threading.Event,
          delay: float = 0.0, record: list[bytes] | None = None) -> None:
    sent = 0
    try:
        while not done.is_set():
            data = src.recv(16384 if delay else 65536)
            if delay:
                time.sleep(delay)
            if not data:
                break
            if record is not None:
                record.append(data)
            if budget is not None and sent + len(data) > budget:
                break
            dst.sendall(data)
            sent += len(data)
    except OSError:
        pass
    finally:
        done.set()
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


@contextmanager
def cutting_proxy(upstream_port: int, *, cut_after: int | None, delay: float = 0.0,
                  record: list[bytes] | None = None) -> Iterator[int]:
    """Listen on a free loopback port; forward to upstream_port; yield the listening port.

    `cut_after`: bytes from the client after which each connection is cut (None: never);
    `delay`: seconds to wait per 16 KiB from the client (a slow uplink);
    `record`: a list that receives every chunk the clients sent."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", upstream_port))
            except OSError:
                client.close()
                continue
            done = threading.Event()
            threading.Thread(target=_pipe, args=(client, upstream, cut_after, done, delay, record), daemon=True).start()
            threading.Thread(target=_pipe, args=(upstream, client, None, done), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        try:
            listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close() alone does not
        except OSError:
            pass
        listener.close()
        thread.join(timeout=5)
