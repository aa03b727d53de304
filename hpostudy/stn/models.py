"""The two networks of the STN experiments, built from hyper-layers (MacKay et al. 2019):
an AlexNet-style CNN with a dropout rate per layer and augmentation hyperparameters, and an
LSTM language model with the seven regularization hyperparameters of AWD-LSTM.

Both are called as ``model(x, hyper, values)``: ``hyper`` the per-example unconstrained
hyperparameters the best-response approximation sees (``None``: the plain network, elementary
weights only, as the black-box baselines train it), ``values`` the constrained per-example
values the regularizers use, or ``None`` for evaluation (no dropout, no augmentation, no
penalty -- the STN's validation loss, so hyperparameters act on it only through the weights).
They return ``(logits, penalty)``; ``penalty`` is the per-batch regularization term (AR/TAR),
zero for the CNN. ``specs`` lists the tuned hyperparameters with their boxes, ``grid_groups``
the few groups a grid search ties together (each hyperparameter of a group at the same
position of its box).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .augment import COLOUR_ONLY, augment
from .hyperparameters import Hyperparameter
from .layers import HyperConv2d, HyperLinear, HyperLSTM, dropout

MAX_RATE = 0.8  # the box of every dropout-like rate is [0, MAX_RATE] unless a model says else
JITTER = 0.5  # colour jitter strengths in [0, JITTER]
CUTOUT_HOLES = 4  # cutout holes in [0, CUTOUT_HOLES]
COEFFICIENT = (0.01, 4.0)  # AR and TAR coefficients, log-uniform box


class HyperCNN(nn.Module):
    """AlexNet-style CNN: ``channels`` 3x3 convolutions (ReLU, 2x2 max-pooling after each),
    then ``hidden`` fully connected layers and the classifier. Dropout before every layer:
    ``drop_input`` on the images and ``drop_<k>`` on the input of layer k >= 1."""

    def __init__(self, in_shape, channels=(32, 64), hidden=(128,), num_classes=10,
                 augmentations=("brightness", "contrast", "saturation", "hue", "cutout")):
        super().__init__()
        c, h, w = in_shape
        self.dropout_names = ["drop_input"] + [f"drop_{k}" for k in
                                               range(1, len(channels) + len(hidden) + 1)]
        self.augmentations = [a for a in augmentations if not (a in COLOUR_ONLY and c != 3)]
        self.specs = self._specs(min(h, w))
        n = len(self.specs)
        self.convs = nn.ModuleList()
        for out in channels:
            self.convs.append(HyperConv2d(c, out, 3, n, padding=1))
            c, h, w = out, h // 2, w // 2
        sizes = [c * h * w, *hidden]
        self.fcs = nn.ModuleList(HyperLinear(a, b, n) for a, b in zip(sizes, sizes[1:]))
        self.out = HyperLinear(sizes[-1], num_classes, n)

    def _specs(self, side: int) -> list[Hyperparameter]:
        """Rates in [0, 0.8], jitter strengths in [0, 0.5], cutout holes in [0, 4] and hole
        length in [1, side/2] pixels (both discrete)."""
        specs = [Hyperparameter(name, 0.0, MAX_RATE) for name in self.dropout_names]
        for name in self.augmentations:
            if name == "cutout":
                specs += [Hyperparameter("cutout_holes", 0.0, CUTOUT_HOLES, discrete=True),
                          Hyperparameter("cutout_length", 1.0, side / 2, discrete=True)]
            else:
                specs.append(Hyperparameter(name, 0.0, JITTER))
        return specs

    def grid_groups(self) -> dict[str, list[str]]:
        """A grid search's two dimensions: every dropout rate, every augmentation."""
        names = [s.name for s in self.specs]
        return {"dropout": list(self.dropout_names),
                "augmentation": [n for n in names if n not in self.dropout_names]}

    def forward(self, x, hyper, values=None):
        """The CNN on a mini-batch: augmentation and dropout with ``values`` (none when it is None),
        the hyper-layers seeing ``hyper`` (module docstring).

        Args:
            x: images, (batch, channels, height, width).
            hyper: per-example unconstrained hyperparameters, or None for the plain network.
            values: per-example constrained values by name, or None for evaluation.

        Returns:
            tuple: the logits and a zero penalty (the CNN has no AR/TAR term).
        """
        rates = iter([None] * len(self.dropout_names) if values is None else
                     [values[n] for n in self.dropout_names])
        if values is not None:
            x = augment(x, values)
        x = dropout(x, next(rates))
        for k, conv in enumerate(self.convs):
            if k > 0:
                x = dropout(x, next(rates))
            x = F.max_pool2d(F.relu(conv(x, hyper)), 2)
        x = x.flatten(1)
        for fc in self.fcs:
            x = F.relu(fc(dropout(x, next(rates)), hyper))
        return self.out(dropout(x, next(rates)), hyper), x.new_zeros(())


class HyperLanguageModel(nn.Module):
    """Word-level LSTM language model with the seven STN hyperparameters: embedding dropout
    (drops whole words), input dropout (on embeddings), hidden dropout (between the LSTM
    layers), output dropout (before the decoder), DropConnect on the hidden-to-hidden weights,
    activation regularization ``alpha * mean(o_t^2)`` and temporal activation regularization
    ``beta * mean((h_t - h_{t+1})^2)``. Dropout masks are shared across time (variational).
    Only the ``tuned`` hyperparameters act; the others are off. A one-layer LSTM has no hidden
    dropout (it acts between layers), so it is not tuned there. Rates have the box
    ``[0, max_rate]``, AR and TAR coefficients ``[0.01, 4]`` (log-uniform)."""

    HYPERPARAMETERS = ("drop_embedding", "drop_input", "drop_hidden", "drop_output",
                       "dropconnect", "alpha", "beta")
    RATES = HYPERPARAMETERS[:5]

    def __init__(self, vocab: int, embed: int = 64, hidden: int = 64, layers: int = 2,
                 tuned=HYPERPARAMETERS, max_rate: float = MAX_RATE):
        super().__init__()
        unknown = sorted(set(tuned) - set(self.HYPERPARAMETERS))
        if unknown:
            raise ValueError(f"unknown LSTM hyperparameters {unknown}; "
                             f"choose from {self.HYPERPARAMETERS}")
        if layers < 1:
            raise ValueError(f"the LSTM needs at least one layer, got {layers}")
        inert = {"drop_hidden"} if layers == 1 else set()
        self.specs = [Hyperparameter(k, 0.0, max_rate) if k in self.RATES else
                      Hyperparameter(k, *COEFFICIENT, log=True)
                      for k in self.HYPERPARAMETERS if k in tuned and k not in inert]
        self.tuned = {s.name for s in self.specs}
        n = len(self.specs)
        self.vocab = vocab
        self.embedding = nn.Embedding(vocab, embed)
        sizes = [embed] + [hidden] * layers
        self.lstms = nn.ModuleList(HyperLSTM(a, b, n) for a, b in zip(sizes, sizes[1:]))
        self.decoder = HyperLinear(hidden, vocab, n)

    def grid_groups(self) -> dict[str, list[str]]:
        """A grid search's two dimensions: every dropout rate, the AR and TAR coefficients."""
        groups = {"dropout": [n for n in self.RATES if n in self.tuned],
                  "AR/TAR": [n for n in ("alpha", "beta") if n in self.tuned]}
        return {k: v for k, v in groups.items() if v}

    def forward(self, tokens, hyper, values=None):
        """``tokens`` (batch, time) -> logits (batch, time, vocab) and the AR/TAR penalty."""
        batch, steps = tokens.shape
        get = lambda name: None if values is None else values.get(name)  # noqa: E731
        x = self.embedding(tokens)
        drop_words = get("drop_embedding")
        if drop_words is not None:  # the same words vanish everywhere in the sequence
            keep = 1 - drop_words.detach()[:, None]
            word_mask = torch.bernoulli(keep.expand(batch, self.vocab)) / keep
            x = x * word_mask.gather(1, tokens)[..., None]
        x = dropout(x, get("drop_input"), (batch, 1, x.shape[-1]))
        for k, lstm in enumerate(self.lstms):
            if k > 0:
                x = dropout(x, get("drop_hidden"), (batch, 1, x.shape[-1]))
            x = lstm(x, hyper, dropconnect=get("dropconnect"))
        raw = x
        x = dropout(x, get("drop_output"), (batch, 1, x.shape[-1]))
        penalty = x.new_zeros(())
        if get("alpha") is not None:
            penalty = penalty + (get("alpha").detach() * x.pow(2).mean(dim=(1, 2))).mean()
        if get("beta") is not None:
            penalty = penalty + (get("beta").detach()
                                 * (raw[:, 1:] - raw[:, :-1]).pow(2).mean(dim=(1, 2))).mean()
        per_token = None if hyper is None else hyper.repeat_interleave(steps, 0)
        logits = self.decoder(x.reshape(batch * steps, -1), per_token)
        return logits.reshape(batch, steps, -1), penalty
