"""What every experiment shares: a validated configuration with per-profile presets, atomic
result files, checkpoints, and the paper-vs-reproduced table."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
import time
import typing
from pathlib import Path
from typing import ClassVar

import pandas as pd
import torch

from .. import data
from ..study.profiles import check_device, deterministic, get_profile

@dataclasses.dataclass(frozen=True)
class ExperimentConfig:
    """Base of every experiment's settings.

    Subclasses add their knobs as fields (with a comment each) and give ``PRESETS``, the values
    per profile. :meth:`for_profile` builds a config from a profile and overrides (``None``
    means "the profile's value") and checks it before any work starts: unknown names, wrong
    types, negative sizes (every number except those named in ``SIGNED``), an unknown profile or
    device, and datasets missing from the data root all raise with a message naming the fix.
    """

    profile: str = "smoke"  # smoke | cpu | paper
    device: str = "cpu"  # cpu | cuda
    seed: int = 0  # seeds initialization, batch order and dropout
    output_dir: str = "build/results"  # where tables, figures and checkpoints go

    PRESETS: ClassVar[dict[str, dict]] = {}
    SIGNED: ClassVar[tuple[str, ...]] = ()

    # ------------------------------------------------------------------ construction
    @classmethod
    def knobs(cls) -> dict[str, type]:
        """Every field with its scalar type (``tuple`` for sequences)."""
        hints = typing.get_type_hints(cls)
        out = {}
        for f in dataclasses.fields(cls):
            hint = hints[f.name]
            origin = typing.get_origin(hint)
            if origin in (tuple, list):
                out[f.name] = tuple
            elif origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
                args = [a for a in typing.get_args(hint) if a is not type(None)]
                out[f.name] = args[0]
            else:
                out[f.name] = hint
        return out

    @classmethod
    def for_profile(cls, profile: str, **overrides) -> "ExperimentConfig":
        get_profile(profile)
        known = cls.knobs()
        unknown = sorted(set(overrides) - set(known))
        if unknown:
            raise ValueError(f"{cls.__module__}: unknown parameter(s) {unknown}; "
                             f"known: {sorted(k for k in known if k != 'profile')}")
        values = dict(cls.PRESETS.get(profile, {}))
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(profile=profile, **values)

    def __post_init__(self):
        get_profile(self.profile)
        for name, kind in self.knobs().items():
            value = getattr(self, name)
            if value is None:
                continue
            value = _coerce(name, value, kind)
            object.__setattr__(self, name, value)
            numbers = value if isinstance(value, tuple) else (value,)
            if name not in self.SIGNED and any(
                    isinstance(x, (int, float)) and not isinstance(x, bool) and x < 0
                    for x in numbers):
                raise ValueError(f"parameter '{name}' must be non-negative, got {value}")
        check_device(self.device)
        deterministic(self.device)
        for name in self.datasets():
            data.require(name)

    def datasets(self) -> list[str]:
        """Datasets this configuration reads (checked on disk at construction)."""
        return []

    def replace(self, **changes) -> "ExperimentConfig":
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    @property
    def out(self) -> Path:
        path = Path(self.output_dir)
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def checkpoints(self) -> Path:
        """``output_dir/checkpoints/<hash of the settings>``: a rerun with the same settings
        resumes there, a rerun with other settings starts afresh beside it."""
        settings = {k: v for k, v in self.as_dict().items() if k != "output_dir"}
        key = hashlib.sha1(json.dumps(settings, sort_keys=True, default=str).encode())
        path = self.out / "checkpoints" / key.hexdigest()[:10]
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def torch_device(self) -> torch.device:
        return torch.device(self.device)


def _coerce(name: str, value, kind):
    if kind is tuple:
        if isinstance(value, (list, tuple)):
            return tuple(value)
        raise TypeError(f"parameter '{name}' must be a list, got {type(value).__name__} {value!r}")
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind in (int, float, str, bool) and not (isinstance(value, kind) and
                                                  not (kind is int and isinstance(value, bool))):
        raise TypeError(f"parameter '{name}' must be {kind.__name__}, "
                        f"got {type(value).__name__} {value!r}")
    return value


# ---------------------------------------------------------------------- result files
def save_table(df: pd.DataFrame, folder: Path, name: str) -> Path:
    """Write ``df`` to ``folder/name.csv`` atomically (a killed run never leaves half a file)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.csv"
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    os.close(fd)
    df.to_csv(tmp, index=False)
    os.chmod(tmp, 0o644)  # mkstemp creates owner-only files; results are for everyone
    os.replace(tmp, path)
    return path


def save_json(obj: dict, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=str))
    os.replace(tmp, path)
    return path


def save_checkpoint(obj: dict, path: Path) -> None:
    """``torch.save`` to a temporary file, then rename: the old checkpoint survives a kill."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> dict | None:
    return torch.load(path, weights_only=False) if path.exists() else None


def comparison_row(claim: str, paper: str, ours: str, profile: str, agree: bool | None,
                   note: str = "") -> dict:
    """One row of a chapter's paper-vs-reproduced table."""
    verdict = {True: "agree", False: "disagree", None: "not comparable"}[agree]
    return {"finding": claim, "paper": paper, "reproduced": ours, "profile": profile,
            "verdict": verdict, "note": note}


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


def run_metadata(cfg: ExperimentConfig, seconds: float) -> dict:
    device = (torch.cuda.get_device_name(0) if cfg.device == "cuda" else
              f"CPU ({torch.get_num_threads()} threads)")
    return {"config": cfg.as_dict(), "seconds": round(seconds, 2), "device": device,
            "torch": torch.__version__}
