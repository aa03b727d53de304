"""The two networks of the STN experiments, built from hyper-layers (MacKay et al. 2019):
an AlexNet-style CNN with a dropout rate per layer and augmentation hyperparameters, and an
LSTM language model with the seven regularization hyperparameters of AWD-LSTM.

Both are called as ``model(x, hyper, values)``: ``hyper`` the per-example unconstrained
hyperparameters the best-response approximation sees, ``values`` the constrained per-example
values the regularizers use, or ``None`` for evaluation (no dropout, no augmentation, no
penalty -- the STN's validation loss, so hyperparameters act on it only through the weights).
They return ``(logits, penalty)``; ``penalty`` is the per-batch regularization term (AR/TAR),
zero for the CNN.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .augment import COLOUR_ONLY, augment
from .hyperparameters import Hyperparameter
from .layers import HyperConv2d, HyperLinear, HyperLSTM, dropout


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
        specs = [Hyperparameter(name, "rate", 0.05 if name == "drop_input" else 0.2)
                 for name in self.dropout_names]
        for name in self.augmentations:
            if name == "cutout":
                specs += [Hyperparameter("cutout_holes", "count", 1.0, low=0.0),
                          Hyperparameter("cutout_length", "count", max(side / 4, 2.0), low=1.0)]
            else:
                specs.append(Hyperparameter(name, "scale", 0.1))
        return specs

    def forward(self, x, hyper, values=None):
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
    ``beta * mean((h_t - h_{t+1})^2)``. Dropout masks are shared across time (variational)."""

    HYPERPARAMETERS = ("drop_embedding", "drop_input", "drop_hidden", "drop_output",
                       "dropconnect", "alpha", "beta")

    def __init__(self, vocab: int, embed: int = 64, hidden: int = 64, layers: int = 2,
                 tuned=HYPERPARAMETERS, init: dict | None = None):
        super().__init__()
        unknown = sorted(set(tuned) - set(self.HYPERPARAMETERS))
        if unknown:
            raise ValueError(f"unknown LSTM hyperparameters {unknown}; "
                             f"choose from {self.HYPERPARAMETERS}")
        if layers < 1:
            raise ValueError(f"the LSTM needs at least one layer, got {layers}")
        defaults = {"drop_embedding": 0.1, "drop_input": 0.3, "drop_hidden": 0.3,
                    "drop_output": 0.4, "dropconnect": 0.3, "alpha": 1.0, "beta": 1.0}
        defaults.update(init or {})
        self.fixed = {k: v for k, v in defaults.items() if k not in tuned}
        self.specs = [Hyperparameter(k, "scale" if k in ("alpha", "beta") else "rate",
                                     defaults[k]) for k in self.HYPERPARAMETERS if k in tuned]
        n = len(self.specs)
        self.vocab = vocab
        self.embedding = nn.Embedding(vocab, embed)
        sizes = [embed] + [hidden] * layers
        self.lstms = nn.ModuleList(HyperLSTM(a, b, n) for a, b in zip(sizes, sizes[1:]))
        self.decoder = HyperLinear(hidden, vocab, n)

    def _value(self, values, name, batch, device):
        if values is None:
            return None
        if name in values:
            return values[name]
        return torch.full((batch,), float(self.fixed[name]), device=device)

    def forward(self, tokens, hyper, values=None):
        """``tokens`` (batch, time) -> logits (batch, time, vocab) and the AR/TAR penalty."""
        batch, steps = tokens.shape
        get = lambda name: self._value(values, name, batch, tokens.device)  # noqa: E731
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
        if values is not None:
            alpha, beta = get("alpha"), get("beta")
            penalty = ((alpha.detach() * x.pow(2).mean(dim=(1, 2))).mean()
                       + (beta.detach() * (raw[:, 1:] - raw[:, :-1]).pow(2).mean(dim=(1, 2))
                          ).mean())
        hyper_per_token = hyper.repeat_interleave(steps, 0)
        logits = self.decoder(x.reshape(batch * steps, -1), hyper_per_token)
        return logits.reshape(batch, steps, -1), penalty
