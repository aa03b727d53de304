"""What the Self-Tuning Network experiments share (MacKay et al. 2019): the settings of
Algorithm 1, the two problems (an LSTM language model, an AlexNet-style CNN), and the
comparison of an STN with grid search, random search and Bayesian optimization.

**A fair comparison.** Every method gets

* *the same total budget*: every search trial's network trains for ``steps`` steps of the
  same batches with the same optimizer, so a search of ``trials`` trials spends
  ``trials * steps`` training steps; the STN's one network trains as many
  (``stn_steps``, by default ``trials * steps``; plus its validation steps). Each method's
  training steps and process CPU seconds are reported beside the results, and a comparison
  whose STN trained fewer steps than the search is not judged;
* *the same ranges*: the STN's hyperparameters live in the very boxes the searches sample
  (:mod:`hpostudy.stn.hyperparameters`), so the STN cannot reach a value no search could try;
* *the same starting information*: every hyperparameter starts at the same position
  ``start`` of its box (0.5: the centre); the STN starts there, random search and Bayesian
  optimization evaluate that point as their first trial, and the grid contains it when the
  position is one of its points (25 trials: 5 x 5 points at positions 0, 1/4, ..., 1, all
  visited; the ``setting`` column says whether a run's grid did);
* *a grid only over what matters*: the grid has two dimensions, groups of hyperparameters tied
  at the same position of their boxes (every dropout rate; every augmentation, or AR and TAR),
  the only way a grid stays dense at a budget of tens of trials. Random search and Bayesian
  optimization search every hyperparameter.

Every claim is judged over ``seeds`` seeds (data split, initialization, batch order, masks and
the searches' samplers all follow the seed).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import pandas as pd
import torch

from .. import data
from .. import verdicts as v
from ..metaopt import black_box_search
from ..stn.models import HyperCNN, HyperLanguageModel
from ..stn.tasks import ImageTask, LanguageTask, frequent_words
from ..stn.train import (STNSettings, check_converged, divergence, diverged, train_fixed,
                         train_stn)
from ..study.config import ExperimentConfig

SOURCE = "MacKay et al. 2019, slides"  # where every paper value of the chapter comes from
PTB_TRAIN_TOKENS = 929589  # training tokens of Penn Treebank (Mikolov's version)
SEARCHES = {"grid": "grid search", "random": "random search", "bayes": "Bayesian optimization"}
METHODS = ("STN", *SEARCHES)

# Profile values shared by the experiments. smoke: seconds on embedded data. cpu: what a
# 2-core CPU finishes in an hour or two per notebook -- the CNN on 1,000 training images of
# the CIFAR-10 subset, the LSTM on 20,000 training tokens of Penn Treebank with its 2,000 most
# frequent words, both small and trained for a few hundred steps, so that they overfit and
# regularization matters. paper: the slides' networks (their steps and budgets are larger);
# the deep CNN starts at a quarter of every box, where its eight dropout layers let it learn.
# With 25 trials the STN trains 25 x 500 = 12,500 steps in the cpu profile: 400 passes over
# the CNN's 1,000 images, 250 over the LSTM's 20,000 tokens (the slides' runs: 341 and 241).
SMOKE = {"steps": 150, "eval_every": 50, "lr": 0.01}
CIFAR_CPU = {"dataset": "cifar10", "n_train": 1000, "n_val": 1000, "channels": (16, 32),
             "hidden": (64,), "steps": 500, "eval_every": 100, "seeds": 3}
CIFAR_PAPER = {"dataset": "cifar10", "n_val": 5000, "channels": (64, 192, 384, 256, 256),
               "hidden": (1024, 1024), "batch_size": 128, "steps": 20000, "lr": 1e-4,
               "eval_every": 1000, "seeds": 3, "start": 0.25}
PTB_CPU = {"dataset": "ptb", "vocab": 2000, "train_tokens": 20000, "eval_tokens": 20000,
           "embed": 64, "hidden": 64, "bptt": 20, "batch_size": 20, "lr": 0.01,
           "eval_every": 100, "seeds": 3}
PTB_PAPER = {"dataset": "ptb", "vocab": 0, "embed": 650, "hidden": 650, "bptt": 70,
             "batch_size": 40, "lr": 1e-3, "eval_every": 1000, "seeds": 3}


@dataclass(frozen=True)
class STNSetting(ExperimentConfig):
    steps: int = 150  # training steps of every network: the STN's and each search trial's
    batch_size: int = 32  # examples (or sequences) per training and validation batch
    train_steps: int = 2  # T_train, training steps per cycle of Algorithm 1
    val_steps: int = 1  # T_val, validation steps per cycle
    lr: float = 3e-3  # Adam step of the network weights (the STN's and every trial's)
    hyper_lr: float = 0.03  # Adam step of the STN's hyperparameters
    scale_lr: float = 0.03  # Adam step of the STN's log perturbation scale
    entropy_weight: float = 1e-3  # tau, weight of the entropy of the perturbation
    init_scale: float = 0.5  # initial perturbation scale sigma, in unconstrained units
    eval_every: int = 50  # training steps between evaluations of a training curve
    start: float = 0.5  # where every method starts: this position in every box (0.5: centre)
    stn_steps: int = 0  # the STN's training steps (0: trials * steps, a search's total)

    def validate(self):
        if not 0 < self.start < 1:
            raise ValueError(f"start is a position inside the boxes, strictly between 0 and 1; "
                             f"got {self.start}")

    def stn_length(self) -> int:
        """The STN's training steps: ``stn_steps``, or what each search spends in all
        (``trials * steps``), or ``steps`` in an experiment without searches."""
        return self.stn_steps or self.steps * getattr(self, "trials", 1)

    def epochs(self, steps: float) -> float:
        """Passes over the training data that ``steps`` training steps make."""
        return steps * self.batch_size / self.train_examples()

    def starts(self, model) -> dict[str, float]:
        """The starting value of every hyperparameter of ``model``."""
        return {s.name: float(s.at(self.start)) for s in model.specs}

    def stn_settings(self, **changes) -> STNSettings:
        """Algorithm 1's knobs from this configuration (``changes`` override some)."""
        values = {k: getattr(self, k) for k in ("train_steps", "val_steps", "lr", "hyper_lr",
                                                  "scale_lr", "entropy_weight", "init_scale")}
        return STNSettings(**{**values, **changes})


@dataclass(frozen=True)
class ImageSetting(STNSetting):
    dataset: str = "digits"  # digits (embedded 8x8) or cifar10
    n_train: int = 0  # training images (0: all that remain beside the validation images)
    n_val: int = 360  # validation images (cifar10: taken from its training files)
    channels: tuple[int, ...] = (16, 32)  # widths of the 3x3 convolutions, 2x2 pooling after each
    hidden: tuple[int, ...] = (64,)  # widths of the fully connected layers

    CHOICES = {"dataset": ("digits", "cifar10")}
    ZERO_OK = ("n_train", "stn_steps")

    def train_examples(self) -> int:
        """Training images (``n_train``, or what remains beside the validation images: of the
        embedded digits' training split, of CIFAR-10's 50,000)."""
        if self.n_train:
            return self.n_train
        if self.dataset == "digits":
            return len(data.load_digits(n_val=self.n_val, seed=0).y_train)
        return 50000 - self.n_val

    def task(self, seed: int) -> ImageTask:
        if self.dataset == "digits":
            splits = data.load_digits(n_val=self.n_val, seed=seed, image=True)
            if self.n_train:
                splits.x_train = splits.x_train[:self.n_train]
                splits.y_train = splits.y_train[:self.n_train]
        else:
            splits = data.load_cifar10(n_train=self.n_train or None, n_val=self.n_val, seed=seed)
        return ImageTask(splits, self.batch_size, seed, self.device)

    def model(self, task: ImageTask, seed: int, **options) -> HyperCNN:
        """The CNN; ``options`` go to :class:`HyperCNN` (``augmentations``)."""
        torch.manual_seed(seed)
        return HyperCNN(task.splits.input_shape, self.channels, self.hidden,
                        task.splits.num_classes, **options).to(self.device)

    def describe(self) -> str:
        """Data and network in a few words (the ``setting`` column)."""
        train = f"{self.n_train:,}" if self.n_train else "all remaining"
        where = "8x8 digits" if self.dataset == "digits" else "CIFAR-10"
        return (f"{where}, {train} training and {self.n_val:,} validation images; CNN with "
                f"{'-'.join(map(str, self.channels))} conv and "
                f"{'-'.join(map(str, self.hidden))} FC units; {self.steps:,} steps of "
                f"{self.batch_size} images per search trial")


@dataclass(frozen=True)
class LanguageSetting(STNSetting):
    dataset: str = "generated"  # generated (a small Markov-chain corpus, smoke) or ptb
    vocab: int = 60  # word types (ptb: its most frequent words, the rest <unk>; 0: all 10,000)
    tokens: int = 20000  # tokens of the generated corpus
    train_tokens: int = 0  # training tokens used, from the start of the split (0: all)
    eval_tokens: int = 0  # validation and test tokens evaluated, from the start (0: all)
    embed: int = 24  # embedding width
    hidden: int = 24  # LSTM width
    layers: int = 1  # LSTM layers
    bptt: int = 12  # tokens per training sequence

    CHOICES = {"dataset": ("generated", "ptb")}
    ZERO_OK = ("train_tokens", "eval_tokens", "vocab", "stn_steps")

    def epochs(self, steps: float) -> float:
        """Passes over the training tokens that ``steps`` steps of ``batch_size x bptt``
        tokens make."""
        return steps * self.batch_size * self.bptt / self.train_examples()

    def train_examples(self) -> int:
        """Training tokens (``train_tokens``, or all: Penn Treebank's 929,589, 80% of the
        generated corpus)."""
        if self.train_tokens:
            return self.train_tokens
        return PTB_TRAIN_TOKENS if self.dataset == "ptb" else int(0.8 * self.tokens)

    def validate(self):
        super().validate()
        if self.dataset == "generated" and self.vocab < 2:
            raise ValueError(f"the generated corpus needs vocab >= 2 word types, got {self.vocab}")

    def task(self, seed: int) -> LanguageTask:
        if self.dataset == "ptb":
            corpus = data.load_ptb()
            if self.vocab:
                corpus = frequent_words(corpus, self.vocab)
        else:
            corpus = data.generated_corpus(self.vocab, self.tokens, seed=0)
        return LanguageTask(corpus, self.batch_size, self.bptt, seed, self.device,
                            train_tokens=self.train_tokens or None,
                            eval_tokens=self.eval_tokens or None)

    def model(self, task: LanguageTask, seed: int, **options) -> HyperLanguageModel:
        """The LSTM; ``options`` go to :class:`HyperLanguageModel` (``tuned``, ``max_rate``)."""
        torch.manual_seed(seed)
        return HyperLanguageModel(len(task.corpus.vocab), self.embed, self.hidden, self.layers,
                                  **options).to(self.device)

    def describe(self) -> str:
        """Data and network in a few words (the ``setting`` column)."""
        if self.dataset == "generated":
            where = [f"generated corpus ({self.vocab} words)"]
        else:
            where = ["Penn Treebank", f"{self.vocab:,} most frequent words" if self.vocab
                     else "all words"]
        if self.train_tokens:
            where.append(f"first {self.train_tokens:,} training tokens")
        if self.eval_tokens:
            where.append(f"first {self.eval_tokens:,} validation and test tokens")
        return (f"{', '.join(where)}; {self.layers}-layer LSTM, {self.hidden} units; "
                f"{self.steps:,} steps of {self.batch_size} x {self.bptt} tokens per "
                f"{'search trial' if hasattr(self, 'trials') else 'network'}")


# ---------------------------------------------------------------------- units of work
def stn_unit(item, checkpoint) -> dict:
    """One STN run. ``item = (cfg, seed, changes, start, model_options)``: Algorithm 1's knobs
    changed by ``changes``, hyperparameters starting at ``start`` (None: ``cfg.starts``).
    Fails with :class:`~hpostudy.stn.train.Diverged` for a run that diverged."""
    cfg, seed, changes, start, options = item
    cpu = time.process_time()
    task = cfg.task(seed)
    model = cfg.model(task, seed, **options)
    result = train_stn(model, task, cfg.stn_length(), cfg.stn_settings(**changes),
                       start=cfg.starts(model) if start is None else start,
                       eval_every=cfg.eval_every, checkpoint=checkpoint,
                       progress=f"STN, seed {seed}")
    check_converged(result["curve"], task.chance_loss, f"the STN run of seed {seed}")
    # process CPU seconds of this call (a run resumed from a checkpoint counts its last part)
    return {**result, "cpu_seconds": time.process_time() - cpu}


def grid_space(model, start: float = 0.5) -> tuple[dict, callable]:
    """The grid's space -- one dimension per group of :meth:`grid_groups`, the position in the
    boxes from 0 to 1 -- and the map from a grid point to every hyperparameter's value (a
    hyperparameter in no group stays at position ``start``)."""
    specs = {s.name: s for s in model.specs}
    groups = model.grid_groups()

    def values(point: dict) -> dict[str, float]:
        out = {name: float(spec.at(start)) for name, spec in specs.items()}
        for group, names in groups.items():
            out.update({name: float(specs[name].at(point[group])) for name in names})
        return out
    return {group: (0.0, 1.0) for group in groups}, values


def search_unit(item, checkpoint) -> dict:
    """One black-box search: ``item = (cfg, seed, method)``. Every trial trains the plain
    network from the same initialization for ``cfg.steps`` steps; its final validation loss
    is the objective. The search keeps its trials in an SQLite study beside ``checkpoint``, so a
    killed search resumes. Returns ``trials`` (one row per trial) and ``best`` (the best
    trial's hyperparameter values); fails if even the best trial diverged."""
    cfg, seed, method = item
    task = cfg.task(seed)
    model = cfg.model(task, seed)
    specs = model.specs
    if method == "grid":
        space, values_of = grid_space(model, cfg.start)
    else:
        space, values_of = {s.name: s.bounds for s in specs}, (lambda point: dict(point))

    def objective(point: dict) -> dict:
        values = {k: float(x) for k, x in values_of(point).items()}
        cpu = time.process_time()
        try:
            curve = train_fixed(cfg.model(task, seed), task, cfg.steps, lambda t: values,
                                lr=cfg.lr)
        except FloatingPointError:
            return {"value": math.inf, "val_loss": math.inf, "diverged": True,
                    "cpu_seconds": time.process_time() - cpu}
        final = {k: float(x) for k, x in curve.iloc[-1].items() if k not in ("step", "seconds")}
        return {"value": final["val_loss"], **final, "cpu_seconds": time.process_time() - cpu,
                "diverged": diverged(final["val_loss"], task.chance_loss)}

    trials = black_box_search(
        objective, space, method, cfg.trials, seed=seed,
        storage=f"sqlite:///{checkpoint.path.with_suffix('.db')}",
        study=f"{checkpoint.path.parent.name}-{checkpoint.path.stem}",
        progress=f"{SEARCHES[method]}, seed {seed}",
        first=None if method == "grid" else cfg.starts(model))
    trials = trials.reset_index(drop=True)
    best = trials.loc[trials.value.idxmin()]
    if diverged(float(best.val_loss), task.chance_loss):
        raise divergence(float(best.val_loss), cfg.steps, task.chance_loss,
                         f"every trial of the {SEARCHES[method]} of seed {seed}")
    point = {name: float(best[name]) for name in space}
    return {"trials": trials.drop(columns=list(space)), "best": values_of(point)}


def versus_unit(item, checkpoint) -> dict:
    """``item = (cfg, seed, method)``: the STN from ``cfg.starts``, or a search."""
    cfg, seed, method = item
    if method == "STN":
        return stn_unit((cfg, seed, {}, None, {}), checkpoint)
    return search_unit(item, checkpoint)


def run_versus(run, cfg) -> dict:
    """Run the STN and the three searches for every seed (units of ``run``) and collect them:
    ``runs`` (one row per seed and method: final losses and metric, networks trained, training
    steps, wall-clock), ``progress`` (best validation loss so far against training steps
    spent), ``trials`` (every search trial's final losses), ``schedule`` (the STN's, per seed)
    and ``best`` (each method's hyperparameters)."""
    items = [(cfg, seed, method) for seed in cfg.seed_list for method in METHODS]
    results = run.map(versus_unit, items, desc="STN and searches",
                      names=[f"{method}-seed{seed}" for _, seed, method in items])
    rows, progress, schedules, best, every = [], [], [], [], []
    for (_, seed, method), result in zip(items, results):
        if method == "STN":
            curve = result["curve"]
            last = curve.iloc[-1]
            rows.append({"seed": seed, "method": "STN", **_finals(last), "networks": 1,
                         "training_steps": int(last.step), "validation_steps": int(last.val_steps),
                         "wall_minutes": float(last.seconds) / 60,
                         "cpu_seconds": float(result.get("cpu_seconds", math.nan))})
            progress.append(pd.DataFrame({"seed": seed, "method": "STN", "training_steps":
                                          curve.step, "best_val_loss": curve.val_loss.cummin()}))
            schedules.append(result["schedule"].assign(seed=seed))
            best.append({"seed": seed, "method": "STN", **result["final"]})
            continue
        trials = result["trials"]
        trials = trials[trials.value.notna()].reset_index(drop=True)  # completed trials
        top = trials.loc[trials.value.idxmin()]
        rows.append({"seed": seed, "method": method, **_finals(top), "networks": len(trials),
                     "training_steps": len(trials) * cfg.steps, "validation_steps": 0,
                     "wall_minutes": float(trials.trial_seconds.sum()) / 60,
                     "cpu_seconds": float(trials.cpu_seconds.sum())
                     if "cpu_seconds" in trials else math.nan})
        progress.append(pd.DataFrame({"seed": seed, "method": method, "training_steps":
                                      (trials.index + 1) * cfg.steps,
                                      "best_val_loss": trials.value.cummin()}))
        every.append(trials.drop(columns=["seconds", "best_value"]).assign(seed=seed))
        best.append({"seed": seed, "method": method, **result["best"]})
    return {"runs": pd.DataFrame(rows), "progress": pd.concat(progress, ignore_index=True),
            "trials": pd.concat(every, ignore_index=True),
            "schedule": pd.concat(schedules, ignore_index=True), "best": pd.DataFrame(best)}


def _finals(row) -> dict:
    return {k: float(row[k]) for k in row.index
            if k.startswith(("val_", "test_")) and k != "val_steps"}


def _cpu(values) -> str:
    """Process CPU seconds per seed, or ``n/a`` where a run did not record them."""
    values = [float(x) for x in values]
    return "n/a" if any(math.isnan(x) for x in values) else mean_sd(values, 3)


# ---------------------------------------------------------------------- tables
def seeds(cfg) -> str:
    return f"{cfg.seeds} seed{'s' if cfg.seeds > 1 else ''}"


def mean_sd(values, digits: int = 3) -> str:
    """``mean ± sd`` to ``digits`` significant digits (the value alone for one seed)."""
    mean, sd = v.mean_sd(list(values))
    return v.fmt(mean, digits) if len(values) == 1 else f"{v.fmt(mean, digits)} ± {v.fmt(sd, 2)}"


def _count(values) -> str:
    """A count per seed: one number, or the range where seeds differ."""
    low, high = int(min(values)), int(max(values))
    return f"{low:,}" if low == high else f"{low:,}-{high:,}"


def methods_table(runs: pd.DataFrame, metric: str, paper: dict,
                  compared: str) -> pd.DataFrame:
    """The book's table of an STN-versus-searches run: per method the final validation and test
    loss and ``metric`` (mean ± sd over seeds), networks trained, training steps and
    wall-clock, with the slides' validation / test ``compared`` (loss or perplexity) beside."""
    unit = " (%)" if metric == "error" else ""
    scale = 100 if metric == "error" else 1
    rows = []
    for method, g in runs.groupby("method", sort=False):
        rows.append({"method": "STN" if method == "STN" else SEARCHES[method],
                     "val loss": mean_sd(g.val_loss), "test loss": mean_sd(g.test_loss),
                     f"test {metric}{unit}": mean_sd(g[f"test_{metric}"] * scale),
                     "networks": _count(g.networks),
                     "training steps": _count(g.training_steps),
                     "CPU (s)": _cpu(g.cpu_seconds) if "cpu_seconds" in g else "n/a",
                     "wall-clock (min)": mean_sd(g.wall_minutes, 2),
                     f"slides: val / test {compared}": f"{paper[method][0]} / {paper[method][1]}"})
    return pd.DataFrame(rows)


def budget(runs: pd.DataFrame, method: str) -> str:
    """A method's training steps per seed, in words. Its process CPU seconds stand beside it
    in the methods table, not here: a comparison row must be the same for a run resumed from
    a checkpoint (which counts only its last part of the time) as for an uninterrupted one."""
    g = runs[runs.method == method]
    name = "STN" if method == "STN" else SEARCHES[method]
    return f"{name} {_count(g.training_steps)} training steps"


def gated(judgement: v.Judgement, scale: v.Scale, ran: dict, stn_steps: float,
          search_steps: float, name: str) -> v.Judgement:
    """``judgement`` through the claim's scale gate and the budget gate: an STN that trained
    fewer steps than the search it is compared with makes the row not comparable."""
    judgement = scale.gate(judgement, ran)
    if stn_steps >= search_steps:
        return judgement
    reason = (f"unequal budgets: the STN trained {v.fmt(int(stn_steps))} steps, the {name} "
              f"{v.fmt(int(search_steps))} in all; needs a run with the STN at the search's "
              "total (stn_steps = trials x steps)")
    if judgement.verdict == v.NOT_COMPARABLE:
        reason += "; " + judgement.rule.removeprefix("not comparable: ")
    return v.not_comparable(reason, judgement.reproduced)


def beats_searches(runs: pd.DataFrame, compared: str, paper: dict, where: str, cfg,
                   scale: v.Scale) -> list[dict]:
    """One verdict row per search: is the STN's final test ``compared`` (loss or perplexity)
    below the search's best trial's? Paired by seed (the same data, initialization and batch
    order), with the slides' difference as the size; judged only at equal training steps and
    at the claim's scale (:func:`gated`; the STN's passes over the training data)."""
    by = {m: g.sort_values("seed") for m, g in runs.groupby("method")}
    stn = by["STN"]
    stn_steps = float(stn.training_steps.min())
    ran = {"epochs": cfg.epochs(stn_steps)}
    rows = []
    for method, name in SEARCHES.items():
        judgement = v.difference(
            stn[f"test_{compared}"].tolist(), by[method][f"test_{compared}"].tolist(),
            what_lower=f"the STN's test {compared}", what_higher=f"the {name}'s best trial's",
            paired=True, paper_size=paper[method][1] - paper["STN"][1])
        rows.append(v.row(
            f"The STN beats {name} (test {compared})",
            f"STN {paper['STN'][1]} vs {paper[method][1]} ({SOURCE})",
            gated(judgement, scale, ran, stn_steps, float(by[method].training_steps.max()),
                  name),
            f"{where}; budgets per seed: {budget(runs, 'STN')}; {budget(runs, method)}"))
    return rows


def slides_scale(iterations: int, batch: str, epochs: float, what: str) -> v.Scale:
    """The scale gate of an STN claim: the STN's passes over its training data at least the
    slides' (``iterations`` steps of ``batch``, ``epochs`` passes)."""
    return v.Scale(needs={"epochs": round(epochs)},
                   why=f"the slides' {what} ran {iterations:,} iterations of {batch}, "
                       f"{round(epochs)} passes over the training data; a regularization "
                       "schedule and the networks it is compared with are judged where training "
                       "has gone as far into overfitting")


def searches_setting(cfg) -> str:
    """The searches' budget in words (the ``setting`` column)."""
    points = max(2, math.ceil(cfg.trials ** 0.5))
    visited = min(cfg.trials, points ** 2)
    on_grid = abs(cfg.start * (points - 1) - round(cfg.start * (points - 1))) < 1e-9
    start = "with" if on_grid and visited == points ** 2 else "without"
    return (f"every method from box position {cfg.start:g}; {cfg.trials} trials per search; "
            f"grid {points} x {points} over two tied groups, {visited} points visited, {start} "
            f"the start; {seeds(cfg)}")
