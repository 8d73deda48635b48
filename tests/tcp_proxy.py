"""A TCP proxy in front of PostgreSQL or Redis for tests of what a network can do to a
connection: go silent without a reset (`cut()`), stall for a while (`pause()`), or deliver a
closed connection's end late (`eof_delay`). `sent` counts the bytes clients sent (whether they
went through or not), and `accepted` the connections they opened: what a client asked of the
server, even once cut."""

import socket
import threading
import time


class Proxy:
    def __init__(self, target, eof_delay=0.0):
        self.target = target
        self.eof_delay = eof_delay
        self._cut = threading.Event()
        self._flowing = threading.Event()
        self._flowing.set()
        self._count = threading.Lock()
        self.sent = 0
        self.accepted = 0
        self._sockets = []
        self._server = socket.socket()
        self._server.bind(("127.0.0.1", 0))
        self._server.listen()
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self):
        """From now on nothing goes through either way, and neither end is told."""
        self._cut.set()

    def pause(self):
        """From now on what either end sends is held, not dropped, until `resume()`: a server
        that stalls for a moment."""
        self._flowing.clear()

    def resume(self):
        self._flowing.set()

    def close(self):
        """Stops accepting, and closes every connection either way (ending their threads)."""
        self._server.close()
        self._flowing.set()
        with self._count:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            # close() alone does not wake a thread blocked in recv() on it (Linux); shutdown does.
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _accept(self):
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            with self._count:
                self.accepted += 1
            upstream = socket.create_connection(self.target)
            with self._count:
                self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, 0.0, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, self.eof_delay, False), daemon=True).start()

    def _pump(self, source, destination, eof_delay, from_client):
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                return
            if from_client:
                with self._count:
                    self.sent += len(data)
            if self._cut.is_set():
                if not data:
                    return
                continue
            if not data:
                time.sleep(eof_delay)
                try:
                    destination.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            self._flowing.wait()
            try:
                destination.sendall(data)
            except OSError:
                return
