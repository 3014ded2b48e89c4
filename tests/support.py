"""Test doubles at the edges we do not own: the mail server, and the network between the
app and its database or broker."""

import contextlib
import os
import socket
import threading
import time
from pathlib import Path

from django.core.mail.backends.filebased import EmailBackend


class SlowFirstEmailBackend(EmailBackend):
    """Writes mail to files, but the very first send (across processes) stalls for a while,
    leaving its process id in a marker file, so a test can kill the worker mid-send."""

    def send_messages(self, email_messages):
        marker = Path(os.environ["MESOCLINIC_TEST_STALL_MARKER"])
        try:
            with marker.open("x") as handle:  # only the first sender in any process gets here
                handle.write(str(os.getpid()))
        except FileExistsError:
            pass
        else:
            time.sleep(60)
        return super().send_messages(email_messages)


class TcpProxy:
    """A TCP proxy a test can switch off and on, to make a database or broker go away for
    real (open connections drop, new ones are refused) without touching the server itself."""

    def __init__(self, target_host, target_port):
        self.target = (target_host, target_port)
        self.port = None
        self._server = None
        self._connections = []
        self._lock = threading.Lock()
        self._cut_after = None

    @property
    def running(self):
        return self._server is not None

    def start(self):
        """Listen (again, on the same port after a stop) and relay to the target."""
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port or 0))
        server.listen(64)
        self.port = server.getsockname()[1]
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()
        return self

    def stop(self):
        """Refuse new connections and cut every open one."""
        with self._lock:
            server, self._server = self._server, None
            connections, self._connections = self._connections, []
        if server:
            # Closing alone leaves a thread blocked in accept() still accepting; shutdown wakes it.
            with contextlib.suppress(OSError):
                server.shutdown(socket.SHUT_RDWR)
            server.close()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()

    def stop_after(self, messages):
        """Go away after relaying this many more client messages: a failure in mid-request."""
        with self._lock:
            self._cut_after = messages

    def _accept(self, server):
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._connections += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, source, sink, from_client):
        try:
            while data := source.recv(65536):
                if from_client and self._count_down():
                    self.stop()
                    return
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.close()

    def _count_down(self):
        with self._lock:
            if self._cut_after is None:
                return False
            if self._cut_after == 0:
                self._cut_after = None
                return True
            self._cut_after -= 1
            return False
