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
from ..progress import tqdm

from .. import hypergrad as hg
from .. import verdicts as v
from ..verdicts import Scale
from ..dynamics import SGDMomentum
from ..hyper import Group
from ..metaopt import SignSGD
from ..settings.densenet import (CPU, DIRECTION_EPOCHS, PAPER, THESIS_EPOCHS, WHY_DIRECTION,
                                 Setting, build, chance_error, check_divergence, check_knobs,
                                 evaluate, layer_rows, load_splits, rounded, setting,
                                 weight_names)
from ..study.experiment_run import prepare

THESIS = {1: {"every": 100, "steps": 625, "split": "40,000 / 10,000"},
          2: {"every": 131, "steps": 562, "split": "36,000 / 14,000"}}
OVERFIT_AFTER = 30  # epochs after which the thesis saw the validation set overfitted
PER_EXPERIMENT = ("every", "window", "momenta", "val_sizes", "l2_rates", "lr_rates")


@dataclass(frozen=True)
class Config(Setting):
    """The knobs of the adaptive method on the DenseNet (thesis section 3.2.2): the epochs, and
    for each of the thesis' two experiments the update interval, look-back window, momentum,
    validation size and the sign steps on the L2 and the learning rates.
    """
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
        """Check the knobs that depend on each other, beyond the base checks.

        Raises:
            ValueError: a per-experiment knob without exactly two values,
            repeated experiments, a window longer than its update interval, or a momentum outside
            [0, 1).
        """
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
    mean log10 L2 and learning rate), ``layer_hyperparameters`` (per-layer averages per epoch),
    ``sizes`` (images and steps per epoch of each run) and ``comparison`` (:func:`judge`).
    """
    items = [(cfg, k, s) for k in cfg.experiments for s in cfg.seed_list]
    with prepare(cfg) as run:
        results = run.map(one_run, items, desc="adaptive runs",
                          names=[f"experiment{k}_seed{s}" for _, k, s in items])
        tables = {"errors": rounded(pd.DataFrame([r for res in results for r in res["rows"]])),
                  "layer_hyperparameters": rounded(pd.DataFrame(
                      [r for res in results for r in res["layers"]])),
                  "sizes": pd.DataFrame([{"experiment": k, "seed": s, **{
                      key: res[key] for key in ("n_train", "n_val", "steps_per_epoch")}}
                      for (_, k, s), res in zip(items, results)])}
        tables["comparison"] = judge(tables, cfg)
        run.save_tables(**tables)
    return tables


# the scale gates (one policy for the chapter, hpostudy.settings.densenet)
FINAL_ERROR = Scale({"epochs": THESIS_EPOCHS, "depth": 40, "training images": 36000},
                    "the thesis' 15.3% is the error after 300 epochs of a DenseNet-40 on the "
                    "complete CIFAR-10 (36,000-40,000 training images); a shorter, smaller or "
                    "less-fed network has a different error, whatever the method")
OVERFIT = Scale({"epochs": 2 * OVERFIT_AFTER},
                f"the thesis saw the validation error fall away from the test error after about "
                f"{OVERFIT_AFTER} epochs: the claim compares the gap then with the gap at least "
                f"as many epochs later")
LR_FALL = Scale({"epochs": DIRECTION_EPOCHS}, WHY_DIRECTION)
TOLERANCE = 2.0  # points around the thesis' 15.3% that count as the same error


def null_mean_log_lr(start: float, step: float, updates: int, bound: float = 0.0) -> float:
    """The exact expected (natural) log learning rate after ``updates`` sign steps of size
    ``step`` along independent random signs from ``start``, clipped at ``bound`` (the adaptive
    method's ceiling, a learning rate of 1): the null of "the learning rates fall". Clipping
    makes it lower than ``start`` -- random steps alone let the rates fall a little."""
    if updates < 0 or step <= 0 or start > bound:
        raise ValueError(f"needs updates >= 0, step > 0 and start <= bound, got {updates}, "
                         f"{step}, {start} > {bound}" if start > bound else
                         f"needs updates >= 0 and step > 0, got {updates}, {step}")
    probs = {start: 1.0}
    for _ in range(updates):
        nxt: dict[float, float] = {}
        for x, p in probs.items():
            for y in (round(min(x + step, bound), 12), round(x - step, 12)):
                nxt[y] = nxt.get(y, 0.0) + p / 2
        probs = nxt
    return sum(x * p for x, p in probs.items())


def _sizes(tables: dict, k: int) -> dict | None:
    sizes = tables.get("sizes")
    if sizes is None or "experiment" not in sizes:
        return None
    rows = sizes[sizes.experiment == k]
    return None if rows.empty else rows.iloc[0].to_dict()


def judge(tables: dict[str, pd.DataFrame], cfg: Config) -> pd.DataFrame:
    """Per experiment, from the ``errors`` and ``sizes`` tables: the final test error, the
    validation set overfitted (the test-minus-validation gap wider at the end than at epoch 30,
    paired by seed) and the learning rates falling further than random sign steps of the same
    size would let them (the exact null of :func:`null_mean_log_lr`), each from an interval
    rule over seeds behind its scale gate."""
    errors = tables["errors"]
    epochs = int(errors.epoch.max())
    rows = []
    for k in cfg.experiments:
        e = errors[errors.experiment == k]
        last = e[e.epoch == epochs].set_index("seed")
        size = _sizes(tables, k)
        n_train, n_val = (size["n_train"], size["n_val"]) if size else (None, None)
        spe = int(size["steps_per_epoch"]) if size and "steps_per_epoch" in size else None
        thesis = THESIS[k]
        where = setting(cfg, n_train, n_val, f"{epochs} of {THESIS_EPOCHS} epochs",
                        f"an update every {cfg.every[k - 1]} of "
                        f"{spe if spe else 'unrecorded'} steps per epoch",
                        thesis=f"DenseNet-40, CIFAR-10 {thesis['split']} images, 300 epochs, "
                               f"every {thesis['every']} of {thesis['steps']} steps")
        label = f"Experiment {k}:"
        judged = v.within(100 * last.test_error, 15.3 - TOLERANCE, 15.3 + TOLERANCE, unit="%",
                          what=f"the final test error (within {TOLERANCE:g} points of 15.3%)")
        rows.append(v.row(
            f"{label} the final test error, worse than the benchmark's 11.4% "
            f"(Fig {'3.15' if k == 1 else '3.18'})", "15.3%",
            FINAL_ERROR.gate(judged, {"epochs": epochs, "depth": cfg.depth,
                                      "training images": n_train or 0}), where))
        gap_end = 100 * (last.test_error - last.val_error)
        if epochs > OVERFIT_AFTER:
            at = e[e.epoch == OVERFIT_AFTER].set_index("seed")
            gap_then = 100 * (at.test_error - at.val_error)
            judged = v.difference(list(gap_then), list(gap_end.loc[gap_then.index]),
                                  what_lower=f"the test-minus-validation gap at epoch "
                                             f"{OVERFIT_AFTER}",
                                  what_higher="the gap at the end", paired=True, unit="points")
        else:
            judged = v.not_comparable(f"ran {epochs} epochs", "test-minus-validation gap at the "
                                      f"end {v.spread(gap_end, unit='points')}")
        rows.append(v.row(f"{label} the validation error falls away from the test error "
                          "toward the training error (the validation set is overfitted)",
                          f"after about {OVERFIT_AFTER} epochs",
                          OVERFIT.gate(judged, {"epochs": epochs}), where))
        if spe is None:
            judged = v.not_comparable("needs a run with its sizes table (steps per epoch): the "
                                      "null's number of updates depends on it")
        else:
            updates = epochs * spe // cfg.every[k - 1]
            start = math.log(cfg.lr)
            null = null_mean_log_lr(start, cfg.lr_rates[k - 1], updates) / math.log(10)
            judged = v.difference(
                list(last.mean_log10_lr), [null] * len(last),
                what_lower="the mean log10 learning rate at the end",
                what_higher=f"its exact expectation {v.fmt(null, 4)} under {updates} random "
                            f"sign steps of {cfg.lr_rates[k - 1]:g} (in ln) from "
                            f"{v.fmt(start / math.log(10))}, clipped at 0 (the null)",
                paired=True, digits=4)
            judged = LR_FALL.gate(judged, {"epochs": epochs})
        rows.append(v.row(f"{label} the learning rates fall during training, further than "
                          f"random sign steps would let them (Fig {'3.17' if k == 1 else '3.20'})",
                          "they fall, perhaps too fast", judged, where))
    return v.table(rows)
