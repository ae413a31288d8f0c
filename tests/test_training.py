"""`dlcli.training`'s optimizers: learning-rate schedules and momentum."""

from __future__ import annotations

import pytest

from dlcli import training


def rates(optimizer, steps):
    return [float(optimizer._learning_rate(step)) for step in steps]


def test_constant_keeps_keras_defaults_unless_given():
    assert float(training.make_optimizer("rmsprop").learning_rate) == pytest.approx(1e-3)
    optimizer = training.make_optimizer("sgd", 0.2, momentum=0.9)
    assert float(optimizer.learning_rate) == pytest.approx(0.2) and float(optimizer.momentum) == pytest.approx(0.9)


def test_cosine_falls_from_the_rate_to_zero():
    optimizer = training.make_optimizer("adam", 0.01, schedule="cosine", total_steps=100)
    assert rates(optimizer, [0, 50, 100]) == pytest.approx([0.01, 0.005, 0.0], abs=1e-7)


def test_one_cycle_climbs_for_30_percent_then_falls_to_zero():
    optimizer = training.make_optimizer("sgd", 0.1, schedule="one-cycle", total_steps=200, momentum=0.9)
    start, middle_climb, peak, middle_fall, end = rates(optimizer, [0, 30, 60, 130, 200])
    assert start == pytest.approx(0.1 / 25) and peak == pytest.approx(0.1)
    assert middle_climb == pytest.approx((0.1 / 25 + 0.1) / 2, rel=1e-4)  # linear warm-up
    assert middle_fall == pytest.approx(0.05, rel=1e-4) and end == pytest.approx(0.0, abs=1e-7)


def test_the_default_rate_follows_a_schedule_too():
    optimizer = training.make_optimizer("adam", schedule="cosine", total_steps=10)
    assert rates(optimizer, [0]) == pytest.approx([1e-3])


def test_momentum_is_refused_by_an_optimizer_without_one():
    with pytest.raises(ValueError, match="adam optimizer takes no momentum"):
        training.make_optimizer("adam", momentum=0.9)
