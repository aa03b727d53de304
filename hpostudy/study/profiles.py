"""Profiles: named scales at which the whole study runs.

* ``smoke`` -- CPU, the embedded digits, every notebook in seconds (CI runs it);
* ``cpu``   -- the thesis' CPU experiments at their real scale on real data (hours);
* ``paper`` -- the papers' settings, meant for a GPU (its default device is ``cuda``).

Each experiment's configuration holds its values per profile
(:attr:`~hpostudy.study.config.ExperimentConfig.PRESETS`); a notebook's parameters override
single knobs.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    """A named scale at which the study runs: its name, default device and description."""
    name: str
    default_device: str
    description: str


PROFILES = {
    "smoke": Profile("smoke", "cpu", "CPU, embedded digits, the whole book in minutes"),
    "cpu": Profile("cpu", "cpu", "the thesis' CPU experiments at their real scale, real data"),
    "paper": Profile("paper", "cuda", "the papers' settings, meant for a GPU"),
}
DEVICES = ("cpu", "cuda")


def get_profile(name: str) -> Profile:
    """The profile named ``name``.

    Args:
        name: ``smoke``, ``cpu`` or ``paper``.

    Returns:
        Profile: the profile.

    Raises:
        ValueError: an unknown name.
    """
    if name not in PROFILES:
        raise ValueError(f"unknown profile '{name}': choose one of {', '.join(PROFILES)}")
    return PROFILES[name]


def check_device(device: str) -> None:
    """Fail early for an unknown device or ``cuda`` without a visible GPU."""
    import torch

    if device not in DEVICES:
        raise ValueError(f"unknown device '{device}': choose 'cpu' or 'cuda'")
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was asked for but PyTorch sees no CUDA GPU here; "
                           "run with -p device=cpu (papermill: -p device cpu), or on a machine "
                           "with a GPU")


def deterministic(device: str) -> None:
    """Make every kernel deterministic, so that a run is a function of its parameters and seed.

    On CUDA this matters: with cuDNN's default (nondeterministic) convolution kernels, a second
    run of the small CNN with the same seeds ends 3.8 away from the first on an H100 instead of
    at distance zero (the nondeterminism the thesis suspected in section 2.3).
    """
    import os

    import torch

    if device == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    torch.use_deterministic_algorithms(True, warn_only=True)
