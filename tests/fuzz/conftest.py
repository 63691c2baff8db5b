"""Hypothesis profiles for the fuzzing suite.

CI runs the "ci" profile (120 inputs per property, about 40 s in all; it was 200 until the
suite neared CI's 20 minutes). For a long local run:

    SPHERESCOPE_FUZZ=long .venv/bin/python -m pytest tests/fuzz

"long" tries 1,500 new inputs per property (12.5x the CI run; about 8 minutes on two
cores, half of it loading fuzzed configs). Failures are saved in .hypothesis/ and
replayed first on the next run.
"""

import os

from hypothesis import HealthCheck, settings

_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                     HealthCheck.function_scoped_fixture])
# CI is reproducible (the same inputs on every run, so a red build means a change broke
# something); the long profile explores new inputs on every run.
settings.register_profile("ci", max_examples=120, derandomize=True, **_COMMON)
settings.register_profile("long", max_examples=1500, **_COMMON)
settings.load_profile(os.environ.get("SPHERESCOPE_FUZZ", "ci"))
