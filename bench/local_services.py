"""Throwaway local service processes shared by the benches and the fault tests: a free port, a private redis-server,
waiting for a condition. Tests and benches that kill or restart the broker need one of their own, never the
machine's Redis on 6379 (other runs on the same machine use it)."""
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from typing import IO


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(condition: Callable[[], bool], seconds: float, why: str, every: float = 0.05) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(why)
        time.sleep(every)


def redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """A redis-server on a free port of its own, without persistence: a restart loses every message it held."""

    def __init__(self, log: IO[str] | IO[bytes]) -> None:
        self.port = free_port()
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--daemonize", "no"], stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_until(lambda: redis_answers(self.port), 10, "redis-server did not start")

    def stop(self) -> None:
        """SIGKILL, as a crash would: nothing is flushed."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
