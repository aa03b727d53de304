"""The adaptive method on the DenseNet (thesis section 3.2.2, Figs 3.15-3.20).

Elementary learning rates (natural log, clipped below 0, reported in log10) and L2 penalties
(log10) are hyperparameters, one per unit in the dense (fully connected) layer and one per
parameter elsewhere. During one training run, every ``every`` iterations the hypergradient of
the loss on a validation batch is taken through the last ``window`` iterations
(:func:`hpostudy.hypergrad.online`, after Luketina et al. 2016) and the hyperparameters take a
step along its sign. Experiment 1: 40,000 / 10,000 split, every 100 from the last 5, momentum
0.9, meta rates 0.01 (L2) and 0.2 (log learning rate). Experiment 2: 36,000 / 14,000, every 131
from the last 4, momentum 0.95, rates 0.02 and 0.1. The per-experiment knobs hold one value
for each of the two experiments.

One run per experiment and seed, each checkpointed after every epoch and resumed from there;
epoch 0 is the initialization. A run that diverges (the rule is in
:mod:`hpostudy.settings.densenet`) fails with a message and yields no verdict.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
import torch
from tqdm.auto import tqdm

from .. import hypergrad as hg
from .. import verdicts as v
from ..dynamics import SGDMomentum
from ..hyper import Group
from ..metaopt import SignSGD
from ..settings.densenet import (CPU, PAPER, THESIS_EPOCHS, Setting, build, chance_error,
                                 check_divergence, check_knobs, evaluate, is_thesis_scale,
                                 layer_rows, load_splits, rounded, setting, weight_names)
from ..study.run import prepare

THESIS = {1: {"every": 100, "steps": 625, "split": "40,000 / 10,000"},
          2: {"every": 131, "steps": 562, "split": "36,000 / 14,000"}}
OVERFIT_AFTER = 30  # epochs after which the thesis saw the validation set overfitted
PER_EXPERIMENT = ("every", "window", "momenta", "val_sizes", "l2_rates", "lr_rates")


@dataclass(frozen=True)
class Config(Setting):
    n_train: int | None = None  # training examples (None: all but the validation ones)
    epochs: int = 3  # training epochs (thesis: 300)
    experiments: tuple[int, ...] = (1, 2)  # which of the thesis' two experiments to run
    every: tuple[int, ...] = (10, 13)  # steps between updates, per experiment (thesis: 100, 131)
    window: tuple[int, ...] = (5, 4)  # iterations the hypergradient looks back (thesis: 5, 4)
    momenta: tuple[float, ...] = (0.9, 0.95)  # elementary momentum decay (thesis: 0.9, 0.95)
    val_sizes: tuple[int, ...] = (360, 480)  # validation examples (thesis: 10,000, 14,000)
    l2_rates: tuple[float, ...] = (0.01, 0.02)  # sign step on the log10 L2 (thesis: 0.01, 0.02)
    lr_rates: tuple[float, ...] = (0.2, 0.1)  # sign step on the ln learning rates (thesis: 0.2, 0.1)
    initial_log10_l2: float = -4.0  # log10 L2 of every weight at the start (thesis: -4)

    SIGNED = ("initial_log10_l2",)
    CHOICES = {**Setting.CHOICES, "experiments": (1, 2)}
    # cpu: the thesis' split proportions on the 4,000 subset images and its number of
    # updates per epoch (every 16 of 100 and 20 of 90 steps); paper: one seed -- 300 epochs
    # of DenseNet-40 per run
    PRESETS = {"smoke": {},
               "cpu": {**CPU, "epochs": 10, "every": (16, 20), "val_sizes": (800, 1120),
                       "seeds": 3},
               "paper": {**PAPER, "epochs": THESIS_EPOCHS, "every": (100, 131),
                         "val_sizes": (10000, 14000)}}

    def validate(self):
        super().validate()
        check_knobs(self, *[(name, lambda values: len(values) == 2,
                             "one value for each of the thesis' two experiments")
                            for name in PER_EXPERIMENT],
                    ("experiments", lambda ks: len(set(ks)) == len(ks), "distinct values"),
                    ("window", lambda w: all(n <= k for n, k in zip(w, self.every)),
                     f"at most every {self.every}, per experiment"),
                    ("momenta", lambda ms: all(0 <= m < 1 for m in ms), "in [0, 1)"))


def groups(cfg: Config):
    """The hyperparameter groups (a function of the model, for :func:`build`): log10 L2 and log
    learning rate, one per unit in the fully connected layer, one per parameter elsewhere."""
    def make(model):
        fc = [n for n, shape in zip(model.names, model.shapes)
              if n.startswith("net.") and n.endswith("weight") and len(shape) == 2]
        fc_all = fc + [n.replace("weight", "bias") for n in fc]
        rest = [n for n in model.names if n not in fc_all]
        lr = math.log(cfg.lr)
        return [
            Group("l2", "log10_l2", "parameter", cfg.initial_log10_l2,
                  params=[n for n in weight_names(model) if n not in fc]),
            Group("l2_fc", "log10_l2", "unit", cfg.initial_log10_l2, params=fc),
            Group("lr", "log_lr", "parameter", lr, params=rest, bounds=(-math.inf, 0.0)),
            Group("lr_fc", "log_lr", "unit", lr, params=fc_all, bounds=(-math.inf, 0.0)),
        ]
    return make


def layers_and_means(space, theta: torch.Tensor, **ids) -> tuple[list[dict], dict]:
    """Per-layer average log10 L2 and log10 learning rate (depth numbered from the input, the
    fully connected layer last), and the mean of each kind over all hyperparameters."""
    rows, means = [], {}
    for kind, names, scale in (("log10_l2", ("l2", "l2_fc"), 1.0),
                               ("log10_lr", ("lr", "lr_fc"), 1 / math.log(10))):
        kind_rows = [r for name in names for r in layer_rows(space, theta, name, scale, **ids)]
        rows += [{**r, "kind": kind, "depth": i} for i, r in enumerate(kind_rows)]
        values = torch.cat([space.part(name, theta) for name in names]) * scale
        means[f"mean_{kind}"] = float(values.mean())
    return rows, means


def one_run(item: tuple[Config, int, int], checkpoint) -> dict:
    """Experiment ``k`` with one seed; resumes from ``checkpoint`` after the last epoch."""
    cfg, k, seed = item
    ids = {"experiment": k, "seed": seed}
    splits = load_splits(cfg, seed, cfg.val_sizes[k - 1])
    task, w0, space = build(cfg, groups(cfg), splits, seed, val_batch_size=cfg.batch_size)
    gamma = cfg.momenta[k - 1]
    dynamics = SGDMomentum(lr=1.0 / (1 - gamma), momentum=gamma,
                           lr_hyper=lambda th: space.learning_rate(th))
    rates = torch.zeros(space.size, dtype=torch.float64, device=cfg.device)
    for name, g in space.groups.items():
        rates[space.offsets[name]] = (cfg.l2_rates[k - 1] if g.kind == "log10_l2"
                                      else cfg.lr_rates[k - 1])
    update = SignSGD(rates, project=space.clip)
    problem = task.problem(w0)
    spe = task.stream.batches_per_epoch
    saved = checkpoint.load()
    if saved is None:
        state, theta = dynamics.init(w0), space.init(device=cfg.device)
        layers, means = layers_and_means(space, theta, **ids, epoch=0)
        rows = [{**ids, "epoch": 0, **evaluate(task, w0, theta, 0), **means}]
    else:
        state, theta, rows, layers = (saved["state"], saved["theta"], saved["rows"],
                                      saved["layers"])
        update.load_state_dict(saved["update"])
    with tqdm(total=cfg.epochs, initial=len(rows) - 1, unit="epoch",
              desc=f"adaptive method, experiment {k}, seed {seed}") as bar:
        for epoch in range(len(rows) - 1, cfg.epochs):
            theta, state = _train_epoch(problem, dynamics, theta, spe, cfg, k, update, state,
                                        epoch)
            new_layers, means = layers_and_means(space, theta, **ids, epoch=epoch + 1)
            row = {**ids, "epoch": epoch + 1, **evaluate(task, state[0], theta, epoch + 1),
                   **means}
            check_divergence(row, rows[0]["train_loss"], chance_error(splits.y_train),
                             f"the adaptive method (experiment {k}, seed {seed})")
            rows.append(row)
            layers += new_layers
            checkpoint.save({"state": state, "theta": theta, "rows": rows, "layers": layers,
                             "update": update.state_dict()})
            bar.update(1)
            bar.set_postfix(test_error=f"{row['test_error']:.3f}")
    return {"rows": rows, "layers": layers, "n_train": len(splits.y_train),
            "n_val": len(splits.y_val), "steps_per_epoch": spe}


def _train_epoch(problem, dynamics, theta, spe, cfg, k, update, state, epoch):
    """One epoch of training with online hyperparameter updates: ``(theta, state)``."""
    res = hg.online(problem, dynamics, theta, spe, every=cfg.every[k - 1],
                    window=cfg.window[k - 1], update=update,
                    state=state, t0=epoch * spe)
    return res.theta, res.state


def run(cfg: Config) -> dict[str, pd.DataFrame]:
    """Each selected experiment with each seed.

    Returns (and writes as CSV) ``errors`` (experiment, seed, epoch, errors, losses and the
    mean log10 L2 and learning rate), ``layer_hyperparameters`` (per-layer averages per epoch)
    and ``comparison``.
    """
    items = [(cfg, k, s) for k in cfg.experiments for s in cfg.seed_list]
    with prepare(cfg) as run:
        results = run.map(one_run, items, desc="adaptive runs",
                          names=[f"experiment{k}_seed{s}" for _, k, s in items])
        errors = pd.DataFrame([r for res in results for r in res["rows"]])
        hyper = pd.DataFrame([r for res in results for r in res["layers"]])
        sizes = {k: res for (_, k, _), res in zip(items, results)}
        comparison = compare(errors, cfg, sizes)
        errors, hyper = rounded(errors), rounded(hyper)
        run.save_tables(errors=errors, layer_hyperparameters=hyper, comparison=comparison)
    return {"errors": errors, "layer_hyperparameters": hyper, "comparison": comparison}


def compare(errors: pd.DataFrame, cfg: Config, sizes: dict[int, dict]) -> pd.DataFrame:
    """Per experiment: the final test error (comparable only at the thesis' scale and length),
    the validation set overfitted after about 30 epochs (comparable from 60 epochs on) and
    the learning rates falling, each from a rule over seeds. ``sizes`` holds the images and
    steps per epoch each experiment used."""
    rows = []
    for k in cfg.experiments:
        e = errors[errors.experiment == k]
        last = e[e.epoch == cfg.epochs].set_index("seed")
        first = e[e.epoch == 0].set_index("seed")
        size = sizes[k]
        thesis = THESIS[k]
        where = setting(cfg, size["n_train"], size["n_val"],
                        f"{cfg.epochs} of {THESIS_EPOCHS} epochs",
                        f"an update every {cfg.every[k - 1]} of {size['steps_per_epoch']} "
                        "steps per epoch",
                        thesis=f"DenseNet-40, CIFAR-10 {thesis['split']} images, 300 epochs, "
                               f"every {thesis['every']} of {thesis['steps']} steps")
        label = f"Experiment {k}:"
        final = v.spread(100 * last.test_error, unit="%")
        if is_thesis_scale(cfg, size["n_train"]) and cfg.epochs >= THESIS_EPOCHS:
            judged = v.each_seed_within(100 * last.test_error, 13.3, 17.3, unit="%",
                                        what="the final test error (within 2 points of 15.3%)")
        else:
            judged = v.not_comparable(
                f"ran {cfg.epochs} of the thesis' {THESIS_EPOCHS} epochs, a "
                f"DenseNet-{cfg.depth} on {size['n_train']:,} training images", final)
        rows.append(v.row(f"{label} the final test error, worse than the benchmark's 11.4% "
                          f"(Fig {'3.15' if k == 1 else '3.18'})", "15.3%", judged, where))
        if cfg.epochs >= 2 * OVERFIT_AFTER:
            at = e[e.epoch == OVERFIT_AFTER].set_index("seed")
            gap_then = at.test_error - at.val_error
            gap_end = last.test_error - last.val_error
            judged = v.holds_for_each_seed(gap_end > gap_then + 0.01,
                                           what=f"the test error exceeds the validation error "
                                                f"by 1 point more at the end than at epoch "
                                                f"{OVERFIT_AFTER}")
        else:
            judged = v.not_comparable(f"the thesis saw it after about {OVERFIT_AFTER} epochs "
                                      f"and needs the epochs after; ran {cfg.epochs}")
        rows.append(v.row(f"{label} the validation error falls away from the test error "
                          "toward the training error (the validation set is overfitted)",
                          f"after about {OVERFIT_AFTER} epochs", judged, where))
        rows.append(v.row(f"{label} the learning rates fall during training "
                          f"(Fig {'3.17' if k == 1 else '3.20'})", "they fall, perhaps too fast",
                          v.holds_for_each_seed(last.mean_log10_lr < first.mean_log10_lr,
                                                what="the mean log10 learning rate is lower "
                                                     "at the end than at the start"), where))
    return v.table(rows)
