"""Hypergradients of your own model, by several methods side by side (the template notebook).

A classification model -- an importable ``"module:Builder"`` or a builder passed to
:func:`run` -- called as ``Builder(n_inputs, n_classes)``, on a dataset of feature vectors
(a scikit-learn dataset by name, or an importable ``"module:function"`` returning ``(X, y)``;
see :func:`hpostudy.data.load_table`). Its hyperparameters are per-unit L2 penalties on a log10
scale (thesis section 3.2), trained by SGD with momentum in the thesis' form for ``T`` steps
in float64. Per seed, every method of ``methods`` computes the hypergradient of the validation
loss; the tables give each method's norm, its cosine with and relative error from the first
method (by default the stored-trajectory reverse mode, exact up to rounding), and its time.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd
import torch
from torch import nn

from .. import data
from .. import hypergrad as hg
from ..dynamics import SGDMomentum
from ..hyper import Group, HyperSpace
from ..importing import resolve
from ..models import FlatModel
from ..problems import ClassificationTask
from ..study.experiment_run import prepare
from ..study.config import ExperimentConfig


@dataclass(frozen=True)
class Config(ExperimentConfig):
    """The knobs of the template notebook: the table of features and the model (both importable
    by name), the training, the initial L2 hyperparameters, the methods compared and the split
    shares.
    """
    dataset: str = "wine"  # digits | wine | breast_cancer | iris | "module:function" -> (X, y)
    model: str = ""  # "module:Builder", called Builder(n_inputs, n_classes) ("": given to run())
    T: int = 100  # training steps per hypergradient
    batch_size: int = 32  # mini-batch size
    lr: float = 0.1  # thesis-form learning rate alpha
    momentum: float = 0.9  # gamma (rounded to n/2^16, the value exact reversal represents)
    init_log10_l2: float = -3.0  # every L2 hyperparameter at the start (log10)
    methods: tuple[str, ...] = ("reverse", "exact", "drmad")  # the first is the reference
    n_val: float = 0.25  # validation share (or count)
    n_test: float = 0.25  # test share (or count)

    PRESETS = {"smoke": {}, "cpu": {"T": 1000, "seeds": 3}, "paper": {"T": 1000, "seeds": 3}}
    CHOICES = {"methods": tuple(hg.METHODS)}
    SIGNED = ("init_log10_l2",)
    IMPORTABLE = ("dataset", "model")  # resolved before the kernel starts (study.execute)

    @classmethod
    def from_notebook(cls, namespace: dict) -> "Config":
        """The configuration from a notebook's variables. A copy of the template run outside
        ``hpostudy run`` (bare papermill) with no ``output_dir`` gets a folder named by its
        model and dataset, ``build/<profile>/results/hypergradients-<digest>``: copies with
        other models or data never write into one folder (the model is the ``model`` parameter,
        else the notebook's ``Net`` class)."""
        cfg = super().from_notebook(namespace)
        builder = resolve(cfg.model, "model") if cfg.model else namespace.get("Net")
        if namespace.get("output_dir") is not None or builder is None:
            return cfg
        probe = data.load_table(cfg.dataset, cfg.n_val, cfg.n_test, cfg.seed)
        model = fingerprint(builder, probe.input_shape[0], probe.num_classes)
        tag = hashlib.sha256(f"{model} {cfg.dataset}".encode()).hexdigest()[:8]
        return cfg.replace(output_dir=str(Path(cfg.output_dir).with_name(f"{cfg.name()}-{tag}")))

    def validate(self):
        """Check the knobs that depend on each other, beyond the base checks.

        Raises:
            ValueError: a momentum outside (0, 1), a bad split share, no
            validation examples, a zero learning rate, a dataset that is not a table of features, or
            repeated methods.
        """
        if not 0 < self.momentum < 1:
            raise ValueError(f"momentum must be in (0, 1), got {self.momentum}: exact reversal "
                             "divides by it (e.g. -p momentum=0.9)")
        data.check_split(self.n_val, "n_val")
        data.check_split(self.n_test, "n_test")
        if self.n_val == 0:
            raise ValueError("n_val=0 leaves no validation examples, and the hypergradient is "
                             "that of the validation loss: give a share (e.g. 0.25) or a count")
        if self.lr == 0:
            raise ValueError("lr=0 leaves the weights where they start, so the L2 penalties "
                             "never act and every hypergradient is 0: give a positive lr "
                             "(e.g. -p lr=0.1)")
        if self.dataset not in data.SKLEARN and ":" not in self.dataset:
            raise ValueError(f"dataset '{self.dataset}' is not a table of features: choose one "
                             f"of {', '.join(data.SKLEARN)}, or your own loader as "
                             "'module:function' returning (X, y)")
        if len(set(self.methods)) != len(self.methods):
            raise ValueError(f"methods must be distinct, got {self.methods}")


def build(builder: Callable, n_inputs: int, n_classes: int) -> nn.Module:
    """``builder(n_inputs, n_classes)`` in float64, refused with the fix unless it builds an
    ``nn.Module`` from these two numbers."""
    name = getattr(builder, "__qualname__", repr(builder))
    try:
        module = builder(n_inputs, n_classes)
    except TypeError as err:
        raise TypeError(f"model {name}: building it as {name}(n_inputs={n_inputs}, "
                        f"n_classes={n_classes}) raised TypeError: {err}. The template builds "
                        "every model from these two numbers: give other arguments defaults") \
            from err
    if not isinstance(module, nn.Module):
        raise TypeError(f"model {name}(n_inputs, n_classes) must return a torch.nn.Module, got "
                        f"{type(module).__name__}")
    return module.double()


def check_scores(module: nn.Module, x: torch.Tensor, n_classes: int) -> torch.Tensor:
    """The model's output on the float64 batch ``x``, refused with the fix unless it is one
    finite float64 score per class and example, shape ``(len(x), n_classes)``."""
    name = type(module).__name__
    try:
        out = module(x)
    except (RuntimeError, ValueError, TypeError, IndexError) as err:
        raise ValueError(f"model {name} fails on a float64 batch of shape {tuple(x.shape)}: "
                         f"{type(err).__name__}: {err}. It must take n_inputs = {x.shape[1]} "
                         "features and compute in the inputs' dtype (register its tensors as "
                         "nn.Parameter or buffers so that .double() converts them)") from err
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"model {name} must return a tensor of class scores, got "
                        f"{type(out).__name__}")
    if tuple(out.shape) != (len(x), n_classes):
        raise ValueError(f"model {name} gives outputs of shape {tuple(out.shape)} for "
                         f"{len(x)} examples; it must give one score per class, shape "
                         f"({len(x)}, {n_classes}): build its last layer with n_classes outputs")
    if out.dtype != torch.float64:
        raise TypeError(f"model {name} returns {out.dtype} scores from float64 inputs: it "
                        "computes in lower precision somewhere (a tensor that is not a "
                        "registered parameter or buffer, or a .float() call); the template "
                        "runs in float64 for exact reversal")
    if not bool(torch.isfinite(out).all()):
        raise ValueError(f"model {name} gives NaN or infinite scores at its initial weights")
    return out


def fingerprint(builder: Callable, n_inputs: int, n_classes: int) -> str:
    """What identifies a model passed as a Python object: the digest of its initial weights and
    of its output on a fixed input (a changed layer, width or activation changes it). The
    model is checked on that input (:func:`check_scores`) before any work."""
    torch.manual_seed(0)
    module = build(builder, n_inputs, n_classes)
    with torch.no_grad():
        out = check_scores(module, torch.linspace(-1, 1, 2 * n_inputs,
                                                  dtype=torch.float64).view(2, -1), n_classes)
    h = hashlib.sha256()
    for tensor in [*module.state_dict().values(), out]:
        h.update(tensor.detach().double().numpy().tobytes())
    check_second_derivative(module, torch.linspace(-1, 1, 2 * n_inputs, dtype=torch.float64)
                            .view(2, -1), n_classes)
    return h.hexdigest()[:16]


def check_second_derivative(module: nn.Module, x: torch.Tensor, n_classes: int) -> None:
    """Refuse, with the fix, a model PyTorch cannot differentiate twice (every hypergradient
    method differentiates the training step): one gradient with its graph, then its
    derivative, on the batch ``x`` (the RNG left as it was)."""
    name = type(module).__name__
    model = FlatModel(module)
    w = model.initial(torch.float64).requires_grad_()
    y = torch.arange(len(x)) % n_classes
    try:
        with torch.random.fork_rng():
            loss = torch.nn.functional.cross_entropy(model(w, x), y)
            (g,) = torch.autograd.grad(loss, w, create_graph=True)
            if g.requires_grad:
                torch.autograd.grad(g.square().sum(), w, allow_unused=True)
    except RuntimeError as err:
        attention = "attention" in str(err)
        raise ValueError(
            f"model {name} cannot be differentiated twice, as every hypergradient method "
            f"needs: {err}. " + (
                "A fused attention kernel has no second derivative: nn.MultiheadAttention "
                "layers are routed through the math kernel by the library; call "
                "F.scaled_dot_product_attention inside hpostudy.models.math_attention()"
                if attention else "Replace the operation that has no second derivative "
                "(a custom autograd.Function without a differentiable backward, say)")) \
            from err


def setup(cfg: Config, builder: Callable, seed: int):
    """``(task, problem, space, dynamics)`` of ``cfg`` with the model from ``builder``."""
    splits = data.load_table(cfg.dataset, cfg.n_val, cfg.n_test, seed).to(cfg.device,
                                                                          torch.float64)
    torch.manual_seed(seed)
    module = build(builder, splits.input_shape[0], splits.num_classes)
    model = FlatModel(module.to(device=cfg.device))
    space = HyperSpace(model, [Group("l2", "log10_l2", "unit", init=cfg.init_log10_l2)])
    task = ClassificationTask(model, splits, space, cfg.batch_size, seed=seed)
    dynamics = SGDMomentum(lr=cfg.lr, momentum=hg.effective_gamma(cfg.momentum))
    return task, task.problem(model.initial(torch.float64, cfg.device)), space, dynamics


def one_seed(item, checkpoint=None) -> list[dict]:
    """Every method's hypergradient at the initial hyperparameters for one seed."""
    cfg, builder, seed = item
    task, problem, space, dynamics = setup(cfg, builder, seed)
    theta = space.init(device=cfg.device)
    results = {}
    rows = []
    for method in cfg.methods:
        start = time.process_time()
        res = hg.hypergradient(method, problem, dynamics, theta, cfg.T)
        seconds = time.process_time() - start
        results[method] = res.hypergrad
        ref = results[cfg.methods[0]]
        if not bool(ref.any()):
            raise ValueError(f"seed {seed}: the hypergradient by {cfg.methods[0]} is exactly 0: "
                             "the validation loss does not depend on the L2 penalties over "
                             f"T={cfg.T} steps (do the weights move? check lr and the model)")
        rows.append({"seed": seed, "method": method, "norm": float(res.hypergrad.norm()),
                     "cosine": _cosine(res.hypergrad, ref),
                     "relative_error": float((res.hypergrad - ref).norm() / ref.norm()),
                     "cpu_seconds": round(seconds, 3), "val_loss": res.val_loss,
                     "hypergradient": res.hypergrad.cpu().tolist()})
    return rows


def _cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    denom = float(a.norm() * b.norm())
    return float(a @ b) / denom if denom > 0 else 0.0


def run(cfg: Config, model: Callable | None = None) -> dict[str, pd.DataFrame]:
    """The hypergradients of every method for every seed, for the model named by
    ``cfg.model`` or, if that is empty, built by ``model(n_inputs, n_classes)``. Returns (and
    writes) ``methods`` (seed, method, norm, cosine, relative error, CPU seconds) and
    ``values`` (every hyperparameter's hypergradient per method, for the scatter figure)."""
    if not cfg.model and model is None:
        raise ValueError("no model: set the parameter model='module:Builder' or pass "
                         "run(cfg, model=Builder)")
    builder = resolve(cfg.model, "model") if cfg.model else model
    probe = data.load_table(cfg.dataset, cfg.n_val, cfg.n_test, cfg.seed)
    if cfg.batch_size > len(probe.y_train):
        raise ValueError(f"batch_size={cfg.batch_size} exceeds the {len(probe.y_train)} training "
                         f"examples of {cfg.dataset}: lower batch_size, or n_val and n_test")
    extra = {"model": fingerprint(builder, probe.input_shape[0], probe.num_classes)}
    with prepare(cfg, extra) as run:
        per_seed = run.map(one_seed, [(cfg, builder, s) for s in cfg.seed_list], desc="seeds",
                           names=[f"seed{s}" for s in cfg.seed_list])
        rows = [r for seed_rows in per_seed for r in seed_rows]
        values = pd.DataFrame([{"seed": r["seed"], "method": r["method"], "index": i,
                                "hypergradient": x} for r in rows
                               for i, x in enumerate(r["hypergradient"])])
        methods = pd.DataFrame([{k: v for k, v in r.items() if k != "hypergradient"}
                                for r in rows])
        run.save_tables(methods=methods, values=values)
    return {"methods": methods, "values": values}
