"""The configurations of the Self-Tuning Network experiments (MacKay et al. 2019): the
methods compared, the profile values the experiments share, the settings of Algorithm 1 every
method trains under (:class:`STNSetting`) and the two problems -- an AlexNet-style CNN on
images (:class:`ImageSetting`) and an LSTM language model (:class:`LanguageSetting`), each
building its task's data and its network. How they are compared: :mod:`hpostudy.settings.stn`.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .. import data
from ..stn.models import HyperCNN, HyperLanguageModel
from ..stn.tasks import ImageTask, LanguageTask, frequent_words
from ..stn.train import STNSettings
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
    """The settings every method of the STN experiments trains under: the training steps and
    batches, the alternation of training and validation steps of the slides' Algorithm 1, the
    Adam steps of the weights, hyperparameters and perturbation scale, the entropy weight and
    where every method starts.
    """
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
        """Check the knobs.

        Raises:
            ValueError: ``start`` not strictly between 0 and 1.
        """
        if not 0 < self.start < 1:
            raise ValueError(f"start is a position inside the boxes, strictly between 0 and 1; "
                             f"got {self.start}")

    def stn_length(self) -> int:
        """The STN's training steps: ``stn_steps``, or what each search spends in all
        (``trials * steps``), or ``steps`` in an experiment without searches.

        Returns:
            The number of training steps of the STN's network.
        """
        return self.stn_steps or self.steps * getattr(self, "trials", 1)

    def epochs(self, steps: float) -> float:
        """Passes over the training data that ``steps`` training steps make.

        Args:
            steps: training steps of ``batch_size`` examples.

        Returns:
            ``steps * batch_size / train_examples()``.
        """
        return steps * self.batch_size / self.train_examples()

    def starts(self, model) -> dict[str, float]:
        """The starting value of every hyperparameter of ``model``.

        Args:
            model: an STN model (its ``specs``, the hyperparameters' boxes).

        Returns:
            Each hyperparameter's value at position ``start`` of its box, by name.
        """
        return {s.name: float(s.at(self.start)) for s in model.specs}

    def stn_settings(self, **changes) -> STNSettings:
        """Algorithm 1's knobs from this configuration (``changes`` override some).

        Args:
            **changes: knobs of :class:`STNSettings` to set otherwise.

        Returns:
            The settings of Algorithm 1.
        """
        values = {k: getattr(self, k) for k in ("train_steps", "val_steps", "lr", "hyper_lr",
                                                  "scale_lr", "entropy_weight", "init_scale")}
        return STNSettings(**{**values, **changes})


@dataclass(frozen=True)
class ImageSetting(STNSetting):
    """The image problem of the STN experiments: an AlexNet-style CNN on the embedded digits or
    CIFAR-10, with its data sizes and widths.
    """
    dataset: str = "digits"  # digits (embedded 8x8) or cifar10
    n_train: int = 0  # training images (0: all that remain beside the validation images)
    n_val: int = 360  # validation images (cifar10: taken from its training files)
    channels: tuple[int, ...] = (16, 32)  # widths of the 3x3 convolutions, 2x2 pooling after each
    hidden: tuple[int, ...] = (64,)  # widths of the fully connected layers

    CHOICES = {"dataset": ("digits", "cifar10")}
    ZERO_OK = ("n_train", "stn_steps")

    def train_examples(self) -> int:
        """Training images (``n_train``, or what remains beside the validation images: of the
        embedded digits' training split, of CIFAR-10's 50,000).

        Returns:
            The number of training images.
        """
        if self.n_train:
            return self.n_train
        if self.dataset == "digits":
            return len(data.load_digits(n_val=self.n_val, seed=0).y_train)
        return 50000 - self.n_val

    def task(self, seed: int) -> ImageTask:
        """The data of seed ``seed``: the embedded 8x8 digits or CIFAR-10, ``n_train`` and
        ``n_val`` images, in batches of ``batch_size``.

        Args:
            seed: the task's seed (its split and batch order).

        Returns:
            The task.
        """
        if self.dataset == "digits":
            splits = data.load_digits(n_val=self.n_val, seed=seed, image=True)
            if self.n_train:
                splits.x_train = splits.x_train[:self.n_train]
                splits.y_train = splits.y_train[:self.n_train]
        else:
            splits = data.load_cifar10(n_train=self.n_train or None, n_val=self.n_val, seed=seed)
        return ImageTask(splits, self.batch_size, seed, self.device)

    def model(self, task: ImageTask, seed: int, **options) -> HyperCNN:
        """The CNN; ``options`` go to :class:`HyperCNN` (``augmentations``).

        Args:
            task: the task whose images it classifies.
            seed: the seed of its initialization.
            **options: keywords of :class:`HyperCNN`.

        Returns:
            The network on ``device``.
        """
        torch.manual_seed(seed)
        return HyperCNN(task.splits.input_shape, self.channels, self.hidden,
                        task.splits.num_classes, **options).to(self.device)

    def describe(self) -> str:
        """Data and network in a few words (the ``setting`` column).

        Returns:
            The description.
        """
        train = f"{self.n_train:,}" if self.n_train else "all remaining"
        where = "8x8 digits" if self.dataset == "digits" else "CIFAR-10"
        return (f"{where}, {train} training and {self.n_val:,} validation images; CNN with "
                f"{'-'.join(map(str, self.channels))} conv and "
                f"{'-'.join(map(str, self.hidden))} FC units; {self.steps:,} steps of "
                f"{self.batch_size} images per search trial")


@dataclass(frozen=True)
class LanguageSetting(STNSetting):
    """The language problem of the STN experiments: an LSTM language model on a generated
    corpus or Penn Treebank, with its vocabulary, token counts and widths.
    """
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
        tokens make.

        Args:
            steps: training steps.

        Returns:
            ``steps * batch_size * bptt / train_examples()``.
        """
        return steps * self.batch_size * self.bptt / self.train_examples()

    def train_examples(self) -> int:
        """Training tokens (``train_tokens``, or all: Penn Treebank's 929,589, 80% of the
        generated corpus).

        Returns:
            The number of training tokens.
        """
        if self.train_tokens:
            return self.train_tokens
        return PTB_TRAIN_TOKENS if self.dataset == "ptb" else int(0.8 * self.tokens)

    def validate(self):
        """Check the knobs that depend on each other, beyond the base checks.

        Raises:
            ValueError: a generated corpus of fewer than two word types.
        """
        super().validate()
        if self.dataset == "generated" and self.vocab < 2:
            raise ValueError(f"the generated corpus needs vocab >= 2 word types, got {self.vocab}")

    def task(self, seed: int) -> LanguageTask:
        """The data of seed ``seed``: Penn Treebank (its ``vocab`` most frequent words) or the
        generated corpus, in batches of ``batch_size`` sequences of ``bptt`` tokens.

        Args:
            seed: the task's seed (its split and batch order).

        Returns:
            The task.
        """
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
        """The LSTM; ``options`` go to :class:`HyperLanguageModel` (``tuned``, ``max_rate``).

        Args:
            task: the task whose corpus it models.
            seed: the seed of its initialization.
            **options: keywords of :class:`HyperLanguageModel`.

        Returns:
            The network on ``device``.
        """
        torch.manual_seed(seed)
        return HyperLanguageModel(len(task.corpus.vocab), self.embed, self.hidden, self.layers,
                                  **options).to(self.device)

    def describe(self) -> str:
        """Data and network in a few words (the ``setting`` column).

        Returns:
            The description.
        """
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

