"""Models of the study, as plain ``nn.Module`` s, and :class:`FlatModel`, which evaluates any of
them as a pure function of one flat parameter vector (``torch.func.functional_call``)."""
from .flat import FlatModel, math_attention, seeded
from .mlp import MLP, SharedTrunkMLP
from .cnn import SmallCNN
from .densenet import DenseNet

__all__ = ["FlatModel", "math_attention", "seeded", "MLP", "SharedTrunkMLP", "SmallCNN", "DenseNet"]
