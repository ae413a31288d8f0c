"""Ctrl-C and SIGTERM that stop a run at a safe point, not wherever the interpreter happens to be.

Python raises a signal's exception between any two bytecodes, including inside h5py while it
writes a checkpoint or inside TensorFlow's own Python code; unwinding from there has crashed the
process (SIGSEGV instead of exit 143, seen once in CI). So while code runs under `held()`, a signal
is only noted, and raised at the next `check()` (a training loop calls it between batches) or when
the outermost `held()` block ends. A second signal while one waits is raised at once: a user who
presses Ctrl-C twice means it.
"""

from __future__ import annotations

import signal
from contextlib import contextmanager
from typing import Callable, Iterator

_waiting: list[type[BaseException]] = []
_depth = 0


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised as an interrupt so that training stops the way Ctrl-C stops it."""


def _handler(exception: type[BaseException]) -> Callable:
    def handle(signum, frame) -> None:
        if _depth and not _waiting:
            _waiting.append(exception)
            return
        _waiting.clear()
        raise exception()

    return handle


@contextmanager
def installed() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt and SIGTERM raises Terminated, both deferred inside `held()`."""
    previous = {sig: signal.signal(sig, _handler(exception))
                for sig, exception in ((signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, Terminated))}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        _waiting.clear()


@contextmanager
def held() -> Iterator[None]:
    """Within, a signal waits for `check()` or for the end of the outermost block."""
    global _depth
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
    if _depth == 0:
        check()


def check() -> None:
    """Raise the signal that arrived while held, if any."""
    if _waiting:
        raise _waiting.pop()()
