"""Sensitivity of Self-Tuning Networks (MacKay et al. 2019, slides "STN - sensitivity
analysis"), on the CNN of the STN-CNN experiment: how often to alternate training and
validation steps (1/1, 2/1, 10/1 and 15/15 steps per cycle), and fixed perturbation scales
(0.1, 0.5, 1.0) against the learned one."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..store import Checkpoint
from ..stn.train import train_stn
from .base import Timer, comparison_row, run_metadata, save_json, save_table
from ..settings.stn import ImageConfig, image_model, image_task
from .stn_cnn import Config as CNNConfig


@dataclass(frozen=True)
class Config(ImageConfig):
    ratios: tuple[str, ...] = ("1/1", "2/1", "10/1", "15/15")  # train/val steps per cycle
    fixed_scales: tuple[float, ...] = (0.1, 0.5, 1.0)  # fixed perturbation scales

    PRESETS = {name: {k: v for k, v in preset.items() if k != "trials"}
               for name, preset in CNNConfig.PRESETS.items()}

    def __post_init__(self):
        super().__post_init__()
        for ratio in self.ratios:
            parse_ratio(ratio)


def parse_ratio(ratio: str) -> tuple[int, int]:
    try:
        train, val = (int(x) for x in ratio.split("/"))
    except ValueError:
        raise ValueError(f"a step ratio reads 'train/val', e.g. '2/1'; got {ratio!r}") from None
    if train < 1 or val < 1:
        raise ValueError(f"both steps of the ratio {ratio!r} must be at least 1")
    return train, val


def run(cfg: Config) -> dict:
    with Timer() as timer:
        task = image_task(cfg)
        variants = []
        for ratio in cfg.ratios:
            train_steps, val_steps = parse_ratio(ratio)
            variants.append(("steps per cycle (train/val)", ratio,
                             cfg.settings(train_steps=train_steps, val_steps=val_steps)))
        variants += [("perturbation scale", f"fixed {s:g}",
                      cfg.settings(init_scale=s, learn_scale=False)) for s in cfg.fixed_scales]
        variants.append(("perturbation scale", "learned", cfg.settings()))
        curves = []
        for study, variant, settings in variants:
            stn = train_stn(image_model(cfg, task), task, cfg.steps, settings,
                            eval_every=cfg.eval_every,
                            checkpoint=Checkpoint(cfg.checkpoints / f"{variant.replace('/', '-')}.pt"),
                            progress=f"{study}: {variant}")
            curves.append(stn["curve"].assign(study=study, variant=variant))
    curves = pd.concat(curves, ignore_index=True)
    finals = curves.groupby(["study", "variant"], sort=False).last().reset_index()
    finals = finals[["study", "variant", "step", "seconds", "val_loss", "test_loss"]]
    scale = finals[finals.study == "perturbation scale"].set_index("variant").val_loss
    fixed = scale.drop("learned")
    comparison = pd.DataFrame([comparison_row(
        "A learned perturbation scale does at least as well as fixed ones",
        "learned scale best", f"learned {scale['learned']:.3f} vs fixed "
        + ", ".join(f"{k.split()[-1]}: {v:.3f}" for k, v in fixed.items()), cfg.profile,
        bool(scale["learned"] <= fixed.min()))])
    save_table(curves, cfg.out, "curves")
    save_table(finals, cfg.out, "finals")
    save_table(comparison, cfg.out, "comparison")
    save_json(run_metadata(cfg, timer.seconds), cfg.out, "meta")
    return {"curves": curves, "finals": finals, "comparison": comparison}
