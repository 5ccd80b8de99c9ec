"""Helpers the tests share: polling and users with tokens."""
import itertools
import threading
import time
from dataclasses import dataclass

_phone_numbers = itertools.count(1000000)


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
