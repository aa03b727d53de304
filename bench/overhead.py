"""Experiment overhead against the engine calls it makes (issue 20, item 1): not a test.

For every experiment of the study, ``run(cfg)`` of its module is called in this process at a
small setting (the ``smoke`` profile, or where said another, with the knobs of
:data:`SETTINGS`, chosen so that the engine calls take the bulk of the time as they do on the
``cpu`` profile), into a fresh
temporary output folder (so no unit is loaded from a cache), with ``torch.set_num_threads(1)``
and ``HPOSTUDY_THREADS=1``. Measured per run, in process CPU time (``time.process_time``: user +
system of this process):

* ``total_cpu_s`` -- the whole ``run(cfg)``: data loading, model building, the engine calls,
  the experiment's own evaluation and diagnostics, the study layer (cache, tables, judging);
* ``engine_cpu_s`` -- the time inside *engine calls*, the work an experiment cannot avoid:

  - every public hypergradient method of :mod:`hpostudy.hypergrad` (``reverse``, ``exact``,
    ``float_reversal``, ``drmad``, ``drmad2``, ``forward``, ``truncated``, ``implicit``,
    ``rt_ho``, ``online``, ``hypergradient``, ``drmad_shared``), and the reverse pass along a
    given path (:func:`hpostudy.hypergrad.diagnostics.reverse_along`: reverse mode along the
    true path, DrMAD along its line, with the norms per step: the passes of
    ``drmad_explosion``);
  - the training loops: :func:`hpostudy.dynamics.train`, the STN's trainers
    (:func:`hpostudy.stn.train.train_stn`, :func:`~hpostudy.stn.train.train_fixed`) and the
    feature network's training of the Franceschi experiments
    (:func:`hpostudy.settings.franceschi.train_network`);

  *less*, inside those calls, the time of what the experiment hands them or asks of them
  beside training: callbacks and meta-updates passed as ``callback=`` / ``update=`` (an
  experiment's per-step records, per-epoch evaluation), the STN tasks' ``evaluate`` (validation
  and test losses along the curve) and checkpoint writes (:meth:`hpostudy.store.Checkpoint.save`).
  A call made inside another engine call (``drmad2`` calling ``drmad``, a method calling
  ``train``) is counted once, in the outer one. Not engine time: evaluating errors or losses
  after training, cosines, norms, diagnostics the experiment computes itself, data loading,
  building models and tasks, tables and judging; the Hessian spectra of ``drmad_explosion``
  (``hessian_vector_product`` and ``lanczos_extremes``, the experiment's own measurement).
* ``ratio`` = total / engine (the issue's target: at most 1.25).

Repetitions are interleaved (every experiment once, then again, ``--repeats`` times, after one
untimed warm-up run of each, which also fills the in-process data caches that a real run fills
once); the table gives the median of each column over the repetitions (``ratio`` is the median
of the per-repetition ratios), ``calls`` the number of engine calls of one run. The machine
these runs share is busy (2 cores, several engineers): process CPU time is what is compared,
wall time would not be, and the spread between repetitions is in the log. A run that fails
(an experiment mid-edit) is measured up to its failure and its ``status`` says so.

    HPOSTUDY_THREADS=1 .venv/bin/python bench/overhead.py                      # every experiment
    HPOSTUDY_THREADS=1 .venv/bin/python bench/overhead.py drmad_quality rt_ho --repeats 5
    ... --out bench/results/overhead_cpu_before.csv
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import io
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ["HPOSTUDY_THREADS"] = "1"
os.environ.pop("HPOSTUDY_EXECUTOR", None)
os.environ.setdefault("TQDM_DISABLE", "1")

import pandas as pd  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Per experiment: the knobs changed from the smoke profile (empty: smoke as it is; "profile":
# another profile, whose data must be in the data root). Raised
# where smoke is so small that fixed costs (data loading, judging) would hide what a long run
# spends its time on.
SETTINGS: dict[str, dict] = {
    "drmad_quality": {"horizons": (100,), "reverse_steps": (10, 100), "meta_iterations": (3,),
                      "seeds_per_horizon": (1,), "drmad2_exact_steps": 4},
    "accumulated_norms": {},
    "drmad_explosion": {},
    "reversal_precision": {},
    # the cpu profile itself (CIFAR-10 from the data root), 1 seed of its 3: smoke's 8x8
    # digits, 34 steps per epoch against 94, do not have its proportions of evaluation (20
    # batch-norm batches, then every split) to training (1.34 on smoke, 1.39 on cpu before
    # the training split was sampled)
    "densenet_benchmark": {"profile": "cpu", "seeds": 1},
    "densenet_drmad": {},
    "densenet_exact": {},
    "densenet_adaptive": {},
    "parameter_paths": {},
    # the cpu profile's network and epochs on the digits (smoke's tiny CNN over 2 epochs
    # leaves fixed costs, 0.04 s, as a quarter of 0.15 s of training)
    "dropout_seed": {"epochs": 5, "channels": (32, 32), "hidden": 256},
    "hmtl": {},
    "ho_complexity": {},
    "rt_ho": {},
    "stn_cnn": {"steps": 500, "eval_every": 100},  # the cpu profile's steps per trial
    "stn_lstm": {},
    "stn_schedules": {},
    "stn_sensitivity": {},
    "hypergradients": {},
    "front_mlp": {},
    "front_convex": {},
}


class YourOwnModel(nn.Module):
    """The model of the your_own_model notebook (hypergradients experiment): one hidden layer."""

    def __init__(self, n_inputs, n_classes):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(n_inputs, 24), nn.Tanh(), nn.Linear(24, n_classes))

    def forward(self, x):
        return self.layers(x)


# ---------------------------------------------------------------------- the meter
class Meter:
    engine = 0.0  # CPU seconds inside outermost engine calls, less excluded time
    excluded = 0.0  # CPU seconds of excluded work inside engine calls
    depth = 0  # engine calls in progress
    inside_excluded = False
    calls: Counter = Counter()

    @classmethod
    def reset(cls):
        cls.engine = cls.excluded = 0.0
        cls.depth = 0
        cls.inside_excluded = False
        cls.calls = Counter()


def excluded(fn):
    """``fn`` whose CPU time, when called inside an engine call, is not engine time."""
    if getattr(fn, "_overhead_excluded", False):
        return fn

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        if not Meter.depth or Meter.inside_excluded:
            return fn(*args, **kwargs)
        Meter.inside_excluded = True
        start = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            Meter.excluded += time.process_time() - start
            Meter.inside_excluded = False

    wrapped._overhead_excluded = True
    return wrapped


def engine(fn, name: str):
    """``fn`` whose CPU time is engine time (the outermost call only), less excluded work."""
    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        if Meter.depth:
            return fn(*args, **kwargs)
        for key in ("callback", "update"):
            if callable(kwargs.get(key)):
                kwargs[key] = excluded(kwargs[key])
        Meter.depth += 1
        before = Meter.excluded
        start = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            Meter.engine += time.process_time() - start - (Meter.excluded - before)
            Meter.depth -= 1
            Meter.calls[name] += 1

    wrapped._overhead_engine = True
    return wrapped


ENGINE = [("hpostudy.hypergrad", n) for n in
          ("reverse", "exact", "float_reversal", "drmad", "drmad2", "forward", "truncated",
           "implicit", "rt_ho", "online", "hypergradient", "drmad_shared")] + [
    ("hpostudy.hypergrad.diagnostics", "reverse_along"),
    ("hpostudy.dynamics", "train"), ("hpostudy.stn.train", "train_stn"),
    ("hpostudy.stn.train", "train_fixed"), ("hpostudy.settings.franceschi", "train_network")]


def install() -> None:
    """Wrap every engine entry point wherever a module of the package holds it (``from ..
    dynamics import train`` binds its own name), and the excluded methods."""
    for name in SETTINGS:
        importlib.import_module(f"hpostudy.experiments.{name}")
    for module_name, attr in ENGINE:
        original = getattr(importlib.import_module(module_name), attr, None)
        if original is None:  # an older checkout (the "before" of a change) lacks it
            continue
        wrapped = engine(original, attr)
        for mod in list(sys.modules.values()):
            if not getattr(mod, "__name__", "").startswith("hpostudy"):
                continue
            for key, value in list(vars(mod).items()):
                if value is original:
                    setattr(mod, key, wrapped)
                elif isinstance(value, dict):  # a registry (hypergrad.METHODS) holds it too, and
                    for name, entry in list(value.items()):  # identity checks must still hold
                        if entry is original:
                            value[name] = wrapped
    from hpostudy import store
    from hpostudy.stn import tasks

    store.Checkpoint.save = excluded(store.Checkpoint.save)
    for cls in vars(tasks).values():
        if isinstance(cls, type) and "evaluate" in vars(cls):
            cls.evaluate = excluded(cls.evaluate)


# ---------------------------------------------------------------------- one run
def run_once(name: str) -> dict:
    module = importlib.import_module(f"hpostudy.experiments.{name}")
    folder = tempfile.mkdtemp(prefix=f"overhead-{name}-")
    try:
        profile, knobs = profile_and_knobs(name)
        cfg = module.Config.for_profile(profile, output_dir=folder, **knobs)
        kwargs = {"model": YourOwnModel} if name == "hypergradients" else {}
        Meter.reset()
        sink = io.StringIO()
        status = "ok"
        start = time.process_time()
        try:
            with contextlib.redirect_stderr(sink), contextlib.redirect_stdout(sink):
                module.run(cfg, **kwargs)
        except Exception as error:  # noqa: BLE001 -- measured up to the failure, and said
            status = f"failed: {type(error).__name__}: {str(error)[:200]}"
        total = time.process_time() - start
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"experiment": name, "total_cpu_s": total, "engine_cpu_s": Meter.engine,
            "ratio": total / Meter.engine if Meter.engine > 0 else float("nan"), "status": status,
            "calls": sum(Meter.calls.values()),
            "call_kinds": " ".join(f"{k}:{v}" for k, v in sorted(Meter.calls.items()))}


def profile_and_knobs(name: str) -> tuple[str, dict]:
    """The profile ``name`` is measured on (``smoke`` unless :data:`SETTINGS` says) and the
    knobs changed from it."""
    knobs = dict(SETTINGS[name])
    return knobs.pop("profile", "smoke"), knobs


def setting_text(name: str) -> str:
    profile, knobs = profile_and_knobs(name)
    return profile + ("; " + ", ".join(f"{k}={v}" for k, v in knobs.items()) if knobs else "")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("experiments", nargs="*", default=list(SETTINGS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "overhead_cpu.csv"))
    args = parser.parse_args(argv)
    unknown = sorted(set(args.experiments) - set(SETTINGS))
    if unknown:
        parser.error(f"unknown experiment(s) {unknown}; known: {sorted(SETTINGS)}")
    install()
    out = Path(args.out)
    log_lines = [f"bench/overhead.py {' '.join(argv if argv is not None else sys.argv[1:])}",
                 f"torch {torch.__version__}, threads {torch.get_num_threads()}, "
                 f"{platform.machine()}, {os.cpu_count()} cores, load "
                 f"{os.getloadavg()[0]:.1f} at start; process CPU time "
                 f"(time.process_time), interleaved repetitions, medians",
                 "the machine is shared (2 cores, several runs): wall time is not used; "
                 "read the spread below"]

    def log(line):
        print(line, flush=True)
        log_lines.append(line)

    for line in log_lines:
        print(line)
    for name in args.experiments:  # warm-up: imports, data caches, first-call costs
        row = run_once(name)
        log(f"warm-up {name}: total {row['total_cpu_s']:.2f} s, engine "
            f"{row['engine_cpu_s']:.2f} s, ratio {row['ratio']:.3f}, calls {row['call_kinds']}"
            + ("" if row["status"] == "ok" else f" ({row['status']})"))
    rows = []
    for rep in range(args.repeats):
        for name in args.experiments:
            row = run_once(name)
            rows.append({**row, "repeat": rep})
            log(f"repeat {rep} {name}: total {row['total_cpu_s']:.2f} s, engine "
                f"{row['engine_cpu_s']:.2f} s, ratio {row['ratio']:.3f} (load "
                f"{os.getloadavg()[0]:.1f})")
    raw = pd.DataFrame(rows)
    table = []
    for name in args.experiments:
        r = raw[raw.experiment == name]
        table.append({"experiment": name, "setting": setting_text(name),
                      "total_cpu_s": round(statistics.median(r.total_cpu_s), 3),
                      "engine_cpu_s": round(statistics.median(r.engine_cpu_s), 3),
                      "ratio": round(statistics.median(r.ratio), 3),
                      "ratio_min": round(r.ratio.min(), 3), "ratio_max": round(r.ratio.max(), 3),
                      "repeats": len(r), "calls": int(r.calls.iloc[0]),
                      "threads": torch.get_num_threads(), "torch": torch.__version__,
                      "status": "; ".join(sorted(set(r.status)))})
    table = pd.DataFrame(table)
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False)
    log("\n" + table.drop(columns=["setting", "torch"]).to_string(index=False))
    out.with_suffix(".log").write_text("\n".join(log_lines) + "\n")


if __name__ == "__main__":
    main()
