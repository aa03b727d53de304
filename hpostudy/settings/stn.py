"""What the Self-Tuning Network experiments share (MacKay et al. 2019): the settings of
Algorithm 1, the two problems (the LSTM language model and the AlexNet-style CNN), and the
comparison of an STN with grid search, random search and Bayesian optimization on the same
model, data and number of training steps."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch

from .. import data
from ..metaopt import SEARCHES, black_box_search
from ..stn.models import HyperCNN, HyperLanguageModel
from ..stn.tasks import ImageTask, LanguageTask
from ..store import Checkpoint
from ..stn.train import STNSettings, train_fixed, train_stn
from ..experiments.base import ExperimentConfig, comparison_row, run_metadata, save_json, save_table


@dataclass(frozen=True)
class STNConfig(ExperimentConfig):
    steps: int = 400  # training steps of every run (STN and each baseline trial)
    batch_size: int = 32
    train_steps: int = 2  # T_train per cycle of Algorithm 1
    val_steps: int = 1  # T_val per cycle
    lr: float = 3e-3  # Adam step of the network (and of the baselines' networks)
    hyper_lr: float = 0.03  # Adam step of the hyperparameters
    scale_lr: float = 0.03  # Adam step of the log perturbation scale
    entropy_weight: float = 1e-3  # tau
    init_scale: float = 0.5  # initial perturbation scale (unconstrained units)
    eval_every: int = 50  # steps between full validation/test evaluations

    def settings(self, **changes) -> STNSettings:
        values = {k: getattr(self, k) for k in ("train_steps", "val_steps", "lr", "hyper_lr",
                                                  "scale_lr", "entropy_weight", "init_scale")}
        values.update(changes)
        return STNSettings(**values)


@dataclass(frozen=True)
class LanguageConfig(STNConfig):
    dataset: str = "generated"  # generated (smoke corpus) | ptb
    vocab: int = 60  # word types of the generated corpus
    tokens: int = 20000  # tokens of the generated corpus
    embed: int = 24
    hidden: int = 24
    layers: int = 2
    bptt: int = 12  # tokens per training sequence

    def datasets(self):
        return [self.dataset]


@dataclass(frozen=True)
class ImageConfig(STNConfig):
    dataset: str = "digits"  # digits | cifar10
    n_val: int = 360  # validation images (cifar10: taken from the training files)
    channels: tuple[int, ...] = (16, 32)  # convolution widths (3x3, max-pooling after each)
    hidden: tuple[int, ...] = (64,)  # fully connected widths

    def datasets(self):
        return [self.dataset]


def language_task(cfg: LanguageConfig) -> LanguageTask:
    corpus = (data.load_ptb() if cfg.dataset == "ptb" else
              data.generated_corpus(cfg.vocab, cfg.tokens, seed=cfg.seed))
    return LanguageTask(corpus, cfg.batch_size, cfg.bptt, cfg.seed, cfg.device)


def language_model(cfg: LanguageConfig, task: LanguageTask, tuned=None, init=None):
    torch.manual_seed(cfg.seed)
    model = HyperLanguageModel(len(task.corpus.vocab), cfg.embed, cfg.hidden, cfg.layers,
                               tuned=tuned or HyperLanguageModel.HYPERPARAMETERS, init=init)
    return model.to(cfg.device)


def image_task(cfg: ImageConfig) -> ImageTask:
    if cfg.dataset == "digits":
        splits = data.load_digits(n_val=cfg.n_val, seed=cfg.seed, image=True)
    elif cfg.dataset == "cifar10":
        splits = data.load_cifar10(n_val=cfg.n_val, seed=cfg.seed)
    else:
        raise ValueError(f"the STN CNN runs on digits or cifar10, not '{cfg.dataset}'")
    return ImageTask(splits, cfg.batch_size, cfg.seed, cfg.device)


def image_model(cfg: ImageConfig, task: ImageTask):
    torch.manual_seed(cfg.seed)
    model = HyperCNN(task.splits.input_shape, cfg.channels, cfg.hidden,
                     task.splits.num_classes)
    return model.to(cfg.device)


def search_space(model) -> dict[str, tuple]:
    """The baselines' box: rates in [0, 0.8], AR/TAR in [0.01, 4] (log), jitters in [0, 0.5],
    cutout holes in [0, 4] and length in [1, side/2]."""
    space = {}
    for spec in model.specs:
        if spec.kind == "rate":
            space[spec.name] = (0.0, 0.8)
        elif spec.name in ("alpha", "beta"):
            space[spec.name] = (0.01, 4.0, "log")
        elif spec.name == "cutout_holes":
            space[spec.name] = (0.0, 4.0)
        elif spec.name == "cutout_length":
            space[spec.name] = (1.0, 2 * spec.init)
        else:
            space[spec.name] = (0.0, 0.5)
    return space


def stn_versus_baselines(cfg, task, build_model, trials: int, metric: str) -> dict:
    """One STN run and ``trials`` fixed-hyperparameter runs per black-box search, every run
    ``cfg.steps`` training steps of the same model. Returns ``methods`` (final validation and
    test losses and the ``metric`` of the best configuration of each method, the STN at its
    final hyperparameters) and ``progress`` (best validation loss against wall-clock seconds)
    and the STN's ``schedule``."""
    checkpoints = cfg.checkpoints
    stn = train_stn(build_model(), task, cfg.steps, cfg.settings(), eval_every=cfg.eval_every,
                    checkpoint=Checkpoint(checkpoints / "stn.pt"), progress="STN")
    curve = stn["curve"]
    rows = [{"method": "STN", **_final(curve, metric), "seconds": float(curve.seconds.iloc[-1]),
             "trials": 1}]
    progress = [pd.DataFrame({"method": "STN", "seconds": curve.seconds,
                              "best_val_loss": curve.val_loss.cummin()})]
    space = search_space(build_model())
    for method in SEARCHES:
        finals = {}

        def objective(params):
            run = train_fixed(build_model(), task, cfg.steps, lambda t: params, lr=cfg.lr,
                              eval_every=cfg.steps, progress=f"{method} trial")
            finals[tuple(sorted(params.items()))] = run.iloc[-1]
            return float(run.val_loss.iloc[-1])

        trials_df = black_box_search(objective, space, method, trials, seed=cfg.seed,
                                     storage=f"sqlite:///{checkpoints / 'baselines.db'}",
                                     progress=f"{method} search")
        best = trials_df.loc[trials_df.value.idxmin()]
        params = {name: best[name] for name in space}
        final = finals.get(tuple(sorted(params.items())))
        if final is None:  # a resumed study: re-run the best configuration once
            final = train_fixed(build_model(), task, cfg.steps, lambda t: params, lr=cfg.lr,
                                eval_every=cfg.steps).iloc[-1]
        rows.append({"method": method, **_final(pd.DataFrame([final]), metric),
                     "seconds": float(trials_df.seconds.iloc[-1]), "trials": len(trials_df)})
        progress.append(pd.DataFrame({"method": method, "seconds": trials_df.seconds,
                                      "best_val_loss": trials_df.best_value}))
    return {"methods": pd.DataFrame(rows), "progress": pd.concat(progress, ignore_index=True),
            "schedule": stn["schedule"], "curve": curve}


def _final(curve: pd.DataFrame, metric: str) -> dict:
    last = curve.iloc[-1]
    return {"val_loss": float(last.val_loss), "test_loss": float(last.test_loss),
            f"val_{metric}": float(last[f"val_{metric}"]),
            f"test_{metric}": float(last[f"test_{metric}"])}



def save_versus_baselines(cfg, result: dict, compared: str, what: str, paper: dict,
                          seconds: float, extra_rows=()) -> dict:
    """Put the slides' values (``paper[method] = (validation, test)``) beside ours in the
    ``methods`` table, build the paper-vs-reproduced table (one row per search, then
    ``extra_rows``) and write every table and the run's metadata."""
    methods = result["methods"]
    methods[f"paper_val_{compared}"] = methods.method.map(lambda m: paper[m][0])
    methods[f"paper_test_{compared}"] = methods.method.map(lambda m: paper[m][1])
    comparison = pd.DataFrame(beats_searches(methods, cfg.profile, compared, what, paper)
                              + list(extra_rows))
    for name in ("progress", "schedule", "curve"):
        save_table(result[name], cfg.out, name)
    save_table(methods, cfg.out, "methods")
    save_table(comparison, cfg.out, "comparison")
    save_json(run_metadata(cfg, seconds), cfg.out, "meta")
    return {**result, "methods": methods, "comparison": comparison}


def beats_searches(methods: pd.DataFrame, profile: str, metric: str, what: str,
                   paper: dict) -> list[dict]:
    """The rows of a slides table: does the STN beat each black-box search on both the
    validation and the test ``metric``?"""
    by = methods.set_index("method")
    stn = by.loc["STN"]
    rows = []
    for method, name in (("grid", "grid search"), ("random", "random search"),
                         ("bayes", "Bayesian optimization")):
        other = by.loc[method]
        beats = (stn[f"val_{metric}"] < other[f"val_{metric}"]
                 and stn[f"test_{metric}"] < other[f"test_{metric}"])
        rows.append(comparison_row(
            f"STN beats {name} ({what})",
            f"STN {paper['STN'][0]} / {paper['STN'][1]} vs {paper[method][0]} / {paper[method][1]}",
            f"STN {stn[f'val_{metric}']:.3f} / {stn[f'test_{metric}']:.3f} vs "
            f"{other[f'val_{metric}']:.3f} / {other[f'test_{metric}']:.3f} "
            f"({int(other.trials)} trials)", profile, bool(beats)))
    return rows
