"""Helpers the tests share: polling, loopback ports and users with tokens."""
import itertools
import socket
import threading
import time
from dataclasses import dataclass

_phone_numbers = itertools.count(1000000)


def free_port() -> int:
    """A loopback port free at this moment, for a server a test starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition, *, timeout: float = 10.0, interval: float = 0.05):
    """Poll until condition() is truthy; return its value, or fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def concurrently(count: int, call) -> list:
    """`call()` from `count` threads released at once; their results, in thread order."""
    barrier = threading.Barrier(count)
    results = [None] * count

    def run(index):
        barrier.wait()
        results[index] = call()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def reset_rate_limits() -> None:
    """Empty the shared limiter's storage and make it count there again, not in its in-memory fallback.

    Flask-Limiter keeps one storage, and one "storage is dead" flag, on the extension object every app of
    the run shares. An app built with a dead Redis (make_app) sets the flag at its first limited request, and
    `init_app` on the main app does not clear it: the next tests would count in the fallback, which
    `reset()` does not empty, until the limiter's next backend check (2, 4, 8... s after its last failed one)
    switched back to the real storage in the middle of a test, dropping every count made so far."""
    from volunteer_api.extensions import limiter

    limiter.reset()
    limiter._storage_dead = False  # no public way in Flask-Limiter 4.1; the next failure sets it again


def next_phone() -> str:
    """A fresh valid Kazakh mobile number (+7 701 ...)."""
    return f"+7701{next(_phone_numbers):07d}"


@dataclass
class Account:
    id: str
    role: str
    login: str
    password: str
    headers: dict
    refresh_token: str
