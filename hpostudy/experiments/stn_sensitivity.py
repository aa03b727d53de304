"""Sensitivity of Self-Tuning Networks (MacKay et al. 2019, slides "STN - sensitivity
analysis"), on the CNN of the STN-CNN experiment: how often to alternate training and
validation steps (1/1, 2/1, 10/1 and 15/15 steps per cycle), and fixed perturbation scales
(0.1, 0.5, 1.0) beside the learned one. The slides draw every variant against Bayesian
optimization's result; here Bayesian optimization runs beside them with the budget of the
STN-CNN experiment (same network, steps per network, boxes and first trial), for every seed.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .. import verdicts as v
from ..settings.stn import (SMOKE, SOURCE, ImageSetting, gated, mean_sd, search_unit, seeds,
                            stn_unit)
from ..study.experiment_run import prepare
from .stn_cnn import SCALE
from .stn_cnn import Config as CNNConfig

RATIOS, SCALES = "steps per cycle (train/val)", "perturbation scale"


@dataclass(frozen=True)
class Config(ImageSetting):
    """The knobs of the sensitivity experiment: the image setting, the train/val step ratios, the
    fixed perturbation scales and the trials of the Bayesian optimization compared with.
    """
    ratios: tuple[str, ...] = ("1/1", "2/1", "10/1", "15/15")  # train/val steps per cycle
    fixed_scales: tuple[float, ...] = (0.1, 0.5, 1.0)  # fixed perturbation scales
    trials: int = 4  # trials of the Bayesian optimization every variant is compared with

    # smoke: 200 steps, where the slowest variant (1/1) is clear of the divergence rule
    PRESETS = {**CNNConfig.PRESETS, "smoke": {**SMOKE, "steps": 200}}

    def validate(self):
        """Check every step ratio, beyond the base checks.

        Raises:
            ValueError: a ratio that :func:`parse_ratio` rejects.
        """
        super().validate()
        for ratio in self.ratios:
            parse_ratio(ratio)


def parse_ratio(ratio: str) -> tuple[int, int]:
    """A step ratio ``"train/val"``: training and validation steps per cycle.

    Args:
        ratio: e.g. ``"2/1"``.

    Returns:
        tuple[int, int]: the training and validation steps.

    Raises:
        ValueError: not two integers separated by ``/``, or either below 1.
    """
    try:
        train, val = (int(x) for x in ratio.split("/"))
    except ValueError:
        raise ValueError(f"a step ratio reads 'train/val', e.g. '2/1'; got {ratio!r}") from None
    if train < 1 or val < 1:
        raise ValueError(f"both steps of the ratio {ratio!r} must be at least 1")
    return train, val


def variants(cfg: Config) -> list[tuple[str, str, dict]]:
    """``(study, variant, changes of Algorithm 1's knobs)`` of every STN run."""
    out = []
    for ratio in cfg.ratios:
        train, val = parse_ratio(ratio)
        out.append((RATIOS, ratio, {"train_steps": train, "val_steps": val}))
    out += [(SCALES, f"fixed {s:g}", {"init_scale": s, "learn_scale": False})
            for s in cfg.fixed_scales]
    out.append((SCALES, "learned", {}))
    return out


def run(cfg: Config) -> dict[str, pd.DataFrame]:
    """Per seed, every variant's STN run (a variant equal to another, such as the learned scale
    and the default ratio, runs once) and Bayesian optimization. Returns (and writes as CSV)
    ``curves``, ``runs`` (one row per seed and variant), ``finals`` (the book's summary) and
    ``comparison``."""
    with prepare(cfg) as run:
        distinct = {}  # Algorithm 1's settings -> the unit computing them
        for _, variant, changes in variants(cfg):
            distinct.setdefault(cfg.stn_settings(**changes), variant.replace("/", "-"))
        items, names = [], []
        for seed in cfg.seed_list:
            for settings, name in distinct.items():
                changes = {k: getattr(settings, k) for k in ("train_steps", "val_steps",
                                                             "init_scale", "learn_scale")}
                items.append((cfg, seed, changes, None, {}))
                names.append(f"{name}-seed{seed}")
        stns = dict(zip(names, run.map(stn_unit, items, desc="STN variants", names=names)))
        bayes = run.map(search_unit, [(cfg, seed, "bayes") for seed in cfg.seed_list],
                        desc="Bayesian optimization",
                        names=[f"bayes-seed{s}" for s in cfg.seed_list])
        curves, rows = [], []
        for seed, search in zip(cfg.seed_list, bayes):
            for study, variant, changes in variants(cfg):
                name = distinct[cfg.stn_settings(**changes)]
                curve = stns[f"{name}-seed{seed}"]["curve"]
                curves.append(curve.assign(seed=seed, study=study, variant=variant))
                last = curve.iloc[-1]
                rows.append({"seed": seed, "study": study, "variant": variant,
                             "val_loss": float(last.val_loss), "test_loss": float(last.test_loss),
                             "training_steps": int(last.step),
                             "cpu_seconds": stns[f"{name}-seed{seed}"].get("cpu_seconds"),
                             "wall_minutes": float(last.seconds) / 60})
            trials = search["trials"]
            top = trials.loc[trials.value.idxmin()]
            rows.append({"seed": seed, "study": "reference", "variant": "Bayesian optimization",
                         "val_loss": float(top.val_loss), "test_loss": float(top.test_loss),
                         "training_steps": len(trials) * cfg.steps,
                         "cpu_seconds": float(trials.cpu_seconds.sum()),
                         "wall_minutes": float(trials.trial_seconds.sum()) / 60})
        curves, runs = pd.concat(curves, ignore_index=True), pd.DataFrame(rows)
        finals = finals_table(runs)
        comparison = judge({"runs": runs, "curves": curves}, cfg)
        run.save_tables(curves=curves, runs=runs, finals=finals, comparison=comparison)
    return {"curves": curves, "runs": runs, "finals": finals, "comparison": comparison}


def finals_table(runs: pd.DataFrame) -> pd.DataFrame:
    """The final losses and costs of each variant: validation and test loss, CPU and
    wall-clock time (mean ± sd over the seeds) and the most training steps.

    Args:
        runs: one row per run, with study, variant and the measured columns.

    Returns:
        pd.DataFrame: one row per study and variant.
    """
    rows = []
    for (study, variant), g in runs.groupby(["study", "variant"], sort=False):
        rows.append({"study": study, "variant": variant, "val loss": mean_sd(g.val_loss),
                     "test loss": mean_sd(g.test_loss),
                     "training steps": v.fmt(int(g.training_steps.max())),
                     "CPU (s)": mean_sd(g.cpu_seconds),
                     "wall-clock (min)": mean_sd(g.wall_minutes, 2)})
    return pd.DataFrame(rows)


def setting(cfg: Config) -> str:
    """The setting line of the comparison: the problem, the Bayesian optimization's trials, the
    seeds and the slides' setting.

    Args:
        cfg: the run's configuration.

    Returns:
        str: the setting column.
    """
    return (f"{cfg.profile}: {cfg.describe()}; Bayesian optimization of {cfg.trials} trials; "
            f"{seeds(cfg)} (slides: AlexNet on CIFAR-10)")


def judge(tables: dict[str, pd.DataFrame], cfg: Config) -> pd.DataFrame:
    """The comparison with the slides from the run's tables ``runs`` and ``curves``
    (:func:`run`); also what ``hpostudy rejudge`` calls on a recorded run. "Every variant ends
    below Bayesian optimization" is judged by the worst variant of each seed against Bayesian
    optimization's best trial, paired by seed, at equal training steps and at the CNN
    claim's scale (:data:`hpostudy.experiments.stn_cnn.SCALE`: the slides do not state the
    length of these curves)."""
    runs, curves = tables["runs"], tables["curves"]
    where = setting(cfg)
    stn_steps = float(curves.step.max())  # every variant trains as long
    reference = runs[runs.study == "reference"].set_index("seed")
    search_steps = (float(reference.training_steps.max()) if "training_steps" in reference
                    else float(cfg.trials * cfg.steps))  # older runs: from their settings
    rows = []
    for study, what, variants_ in ((RATIOS, "Every train/val step ratio", cfg.ratios),
                                   (SCALES, "Every fixed perturbation scale",
                                    [f"fixed {s:g}" for s in cfg.fixed_scales])):
        mine = runs[(runs.study == study) & runs.variant.isin(variants_)]
        worst = mine.groupby("seed").val_loss.max()
        judgement = v.difference(worst, reference.val_loss.reindex(worst.index), paired=True,
                                 what_lower="the worst variant's final validation loss",
                                 what_higher="Bayesian optimization's best trial's")
        rows.append(v.row(
            f"{what} ends below Bayesian optimization's validation loss",
            f"every curve ends below Bayesian optimization's (figure; {SOURCE})",
            gated(judgement, SCALE, {"epochs": cfg.epochs(stn_steps)}, stn_steps,
                  search_steps, "Bayesian optimization"),
            f"{where}; budgets per seed: every STN variant {v.fmt(int(stn_steps))} training "
            f"steps, Bayesian optimization {v.fmt(int(search_steps))}"))
    return v.table(rows)
