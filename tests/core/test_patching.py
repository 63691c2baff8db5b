"""Patching's arithmetic and steering directions, in plain numpy."""

import math

import numpy as np
import pytest

from spherescope.core.patching import PatchGrid, SteerSpec, angles, recovery, steering_direction


def test_recovery_is_zero_at_corrupt_and_one_at_clean():
    np.testing.assert_allclose(recovery(np.array([-2.0, 1.0, -0.5]), 1.0, -2.0), [0.0, 1.0, 0.5])
    with pytest.raises(ValueError, match="nothing to recover"):
        recovery(np.zeros(2), 1.0, 1.0)
    with pytest.raises(ValueError, match="nothing to recover"):
        recovery(np.zeros(2), math.nan, 1.0)


def test_steering_direction_is_the_unit_difference():
    d = steering_direction(np.array([3.0, 4.0]), np.array([0.0, 0.0]))
    np.testing.assert_allclose(d, [0.6, 0.8], rtol=1e-6)
    np.testing.assert_allclose(steering_direction(np.array([1.0, 2.0]), np.array([1.0, 0.0])), [0, 1])
    with pytest.raises(ValueError, match="no length"):
        steering_direction(np.ones(3), np.ones(3))


def test_angles_layer_by_layer():
    a = np.array([[1.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    b = np.array([[3.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    np.testing.assert_allclose(angles(a, b), [0.0, 90.0, 180.0])


def test_rows_done_counts_whole_rows():
    m = np.full((3, 2), np.nan)
    m[0] = 0.0
    m[1, 0] = 1.0
    assert PatchGrid(m, 1.0, 0.0, 1, 2, (), ()).rows_done() == 1


@pytest.mark.parametrize("spec, words", [
    (SteerSpec(3, 1, alpha=math.nan), "finite"), (SteerSpec(3, 1, alpha=-math.inf), "finite"),
    (SteerSpec(31, 1), "out of range"), (SteerSpec(-1, 1), "out of range"),
    (SteerSpec(3, 100), "vocabulary"), (SteerSpec(3, 1, 1), "same token"),
    (SteerSpec(3, 1, position=5), "out of range"), (SteerSpec(3, 1, position=-6), "out of range"),
])
def test_steer_spec_checks(spec, words):
    with pytest.raises(ValueError, match=words):
        spec.check(30, 100, 5)


def test_good_steer_specs_pass():
    for spec in (SteerSpec(0, 1), SteerSpec(30, 1, 2, -300.0), SteerSpec(3, 1, position=-5), SteerSpec(3, 1, position=4)):
        spec.check(30, 100, 5)
