"""Where weights go: the placement rule and the choices a machine offers."""

import pytest

from spherescope.models import devices
from spherescope.models.devices import Accelerators, load_options, plan_device
from spherescope.models.errors import ModelError


@pytest.mark.parametrize(
    "requested, n_cuda, mps, weights, free0, expected",
    [
        ("auto", 0, False, None, None, "cpu"),
        ("auto", 0, True, None, None, "mps"),
        ("auto", 1, True, None, None, "cuda"),  # CUDA before MPS
        ("auto", 2, False, 10, 100, "cuda"),  # fits the first GPU
        ("auto", 2, False, 95, 100, "shard"),  # does not: accelerate's device_map="auto"
        ("cpu", 2, True, None, None, "cpu"),
        ("cuda:1", 2, False, None, None, "cuda:1"),
        ("shard", 4, False, None, None, "shard"),
    ],
)
def test_device_plan(requested, n_cuda, mps, weights, free0, expected):
    assert plan_device(requested, n_cuda, mps, weights, free0) == expected


@pytest.mark.parametrize(
    "requested, n_cuda, mps, pattern",
    [("cuda", 0, False, "no"), ("cuda:3", 2, False, "no cuda:3"), ("mps", 0, False, "Apple"),
     ("shard", 0, False, "CUDA"), ("tpu", 0, False, "Unknown device"), ("cuda:x", 1, False, "not a device")],
)
def test_device_plan_errors_are_sentences(requested, n_cuda, mps, pattern):
    with pytest.raises(ModelError, match=pattern):
        plan_device(requested, n_cuda, mps)


def test_device_choices_list_what_torch_sees(monkeypatch):
    monkeypatch.setattr(devices, "accelerators", lambda import_torch=False: Accelerators(("A100", "H200"), False))
    values = [v for _label, v in devices.device_choices()]
    assert values == ["auto", "cpu", "cuda:0", "cuda:1", "shard"]
    monkeypatch.setattr(devices, "accelerators", lambda import_torch=False: Accelerators((), True))
    assert [v for _l, v in devices.device_choices()] == ["auto", "cpu", "mps"]
    assert devices.likely_device("auto") == "mps" and devices.likely_device("cpu") == "cpu"


def test_load_options_keep_only_what_was_chosen():
    assert load_options("auto", None, False) == {}
    assert load_options("cpu", "bfloat16", True) == {"device": "cpu", "dtype": "bfloat16", "allow_pickle": True}
