"""Signals held until a safe point (dlcli.interrupts): no TensorFlow needed."""

from __future__ import annotations

import os
import signal

import pytest

from dlcli import interrupts


def test_a_signal_inside_held_waits_for_the_end_of_the_block():
    reached = []
    with interrupts.installed(), pytest.raises(interrupts.Terminated):
        with interrupts.held():
            os.kill(os.getpid(), signal.SIGTERM)
            reached.append("after the signal")  # still runs: the block is finished first
    assert reached == ["after the signal"]


def test_check_raises_the_waiting_signal_once():
    with interrupts.installed():
        with pytest.raises(KeyboardInterrupt):
            with interrupts.held():
                os.kill(os.getpid(), signal.SIGINT)
                interrupts.check()
                pytest.fail("check() did not raise")
        interrupts.check()  # nothing waits any more


def test_a_second_signal_is_raised_at_once_and_outside_held_at_once():
    with interrupts.installed():
        with pytest.raises(KeyboardInterrupt), interrupts.held():
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)
            pytest.fail("the second Ctrl-C waited")
        with pytest.raises(interrupts.Terminated):
            os.kill(os.getpid(), signal.SIGTERM)


def test_handlers_are_restored():
    before = signal.getsignal(signal.SIGTERM)
    with interrupts.installed():
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before
