# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
#   hpostudy:
#     chapter: franceschi
#     experiment: hpostudy.experiments.hmtl
# ---

# %% [markdown]
# # Learning task relations by hypergradient (Franceschi et al. 2017, Figure 1 left and centre)
#
# **Overview.** A softmax regression with one weight column per class treats the ten classes as
# related tasks and regularizes them with
# $\Omega_{A,\rho}(W) = \sum_{j,k} A_{jk}\|w_j - w_k\|^2 + \rho\sum_k \|w_k\|^2$. Trained by Adam
# on 50 examples, it has 46 hyperparameters ($A$ above the diagonal and $\rho$). We compare four
# ways to set them on 50 validation examples: one $\rho$ per task and no relations (STL), one
# relation strength for every pair (NMTL), and the whole $A$ by REVERSE-HO hypergradients and
# projected Adam, without (HMTL) and with a budget $\sum A \le R$ (HMTL-S). Each seed draws
# another 50/50/rest split of the same pool of images.
#
# **Prerequisites.** `hpostudy` installed (`make book` does it). The `smoke` profile uses the
# embedded digits; `cpu` and `paper` use CIFAR-10 from the data root. The features come from a
# small CNN trained on images that never enter a split (the paper used Inception-V3, which is
# not available offline). Every parameter left at `None` takes the profile's value.

# %% tags=["parameters"]
# Written by `hpostudy cells` from hpostudy.experiments.hmtl.Config: edit the knobs there.
profile: str = "smoke"  # smoke | cpu | paper; a knob left at None takes its value
device: "Optional[str]" = None  # cpu | cuda (None: the profile's device, cuda for paper)
seed: "Optional[int]" = None  # first seed; a run with n seeds uses seed, seed+1, ..., seed+n-1
seeds: "Optional[int]" = None  # number of seeds (claims about outcomes need at least 3)
output_dir: "Optional[str]" = None  # tables, figures, checkpoints (None: build/<profile>/results/<name>)
dataset: "Optional[str]" = None  # digits (embedded) | cifar10 | mnist: where images and labels come from
feature_images: "Optional[int]" = None  # images the feature network is trained on (never in a split)
feature_epochs: "Optional[int]" = None  # epochs of the feature network (Adam, learning rate 1e-3)
feature_channels: "Optional[list[int]]" = None  # feature maps of its two convolutions
features: "Optional[int]" = None  # width of its hidden layer: the dimension of the features
n_train: "Optional[int]" = None  # training examples per split (paper: 50)
n_val: "Optional[int]" = None  # validation examples per split (paper: 50); the rest of the pool is test
T: "Optional[int]" = None  # Adam steps of the inner training
lr: "Optional[float]" = None  # Adam step size of the inner training
rho_max: "Optional[float]" = None  # range of rho: [0, rho_max] (every method)
a_max: "Optional[float]" = None  # range of each A_jk: [0, a_max] (every method)
grid: "Optional[int]" = None  # values per hyperparameter: 0 and grid-1 half-decades below the maximum
hyper_iterations: "Optional[int]" = None  # hypergradients of HMTL and HMTL-S
hyper_step: "Optional[float]" = None  # projected Adam's step, as a fraction of each entry's range
rho_start: "Optional[float]" = None  # HMTL and HMTL-S start from this rho, with A zero
radius: "Optional[float]" = None  # HMTL-S: the budget R on the sum of A's entries (paper: 1e-3)
edge_fraction: "Optional[float]" = None  # graph: edges of weight at least this fraction of the largest

# %%
from hpostudy.experiments import hmtl
from hpostudy.figures import franceschi as figures

cfg = hmtl.Config.from_notebook(globals())
results = hmtl.run(cfg)

# %% [markdown]
# ## Accuracy per method (Figure 1 left)
# Each grey line is one split; the coloured points are the means with their standard deviation;
# the diamonds are the paper's accuracies (its own scale, right axis), shown for their ordering.
# The second figure follows the hypergradient steps; the third shows the relations HMTL-S
# learned, averaged over the splits.

# %%
figures.hmtl(results, cfg.output_dir)

# %% [markdown]
# ## Mean and spread per method

# %%
results["summary"]

# %% [markdown]
# ## Paper vs reproduced
# The ordering is judged on paired splits: the accuracy differences per split against their
# standard error. The last row asks whether the pairs a reader expects to be related get more
# weight than the average pair.

# %%
results["comparison"]

# %% [markdown]
# **Summary.** The paper found STL < NMTL < HMTL <= HMTL-S on CIFAR-10 with Inception-V3
# features; the table above says which of these orderings hold here, with the spread over
# splits, and the graph shows which classes the budgeted relations link.

# %% tags=["book-values"]
# The numbers the chapter's prose quotes from this notebook's recorded run: the book computes
# them from the recorded files at every build (`hpostudy.study.book_values`), each named like
# its function.
import pandas as pd

from hpostudy.experiments import hmtl as _hmtl
from hpostudy.study import book_values
from hpostudy.verdicts import mean_sd


@book_values.recorded("summary.csv", show=book_values.percent)
def hmtl_accuracy_lowest(summary: pd.DataFrame) -> float:
    """summary.csv: the lowest mean test accuracy of a method (``test_accuracy``)."""
    return summary.test_accuracy.min()


@book_values.recorded("summary.csv", show=book_values.percent)
def hmtl_accuracy_highest(summary: pd.DataFrame) -> float:
    """summary.csv: the highest mean test accuracy of a method (``test_accuracy``)."""
    return summary.test_accuracy.max()


@book_values.recorded("methods.csv", show=book_values.signed)
def hmtl_lead_over_nmtl(methods: pd.DataFrame) -> float:
    """methods.csv: HMTL's test accuracy minus NMTL's, paired by seed (split), mean over
    seeds, in percentage points (the comparison's "HMTL is more accurate than NMTL")."""
    wide = methods.pivot(index="seed", columns="method", values="test_accuracy")
    return mean_sd(100 * (wide["HMTL"] - wide["NMTL"]))[0]


@book_values.recorded("relations.csv")
def hmtl_s_related_ratio(relations: pd.DataFrame) -> float:
    """relations.csv: the mean weight HMTL-S gives the related pairs of CIFAR-10 classes over
    the mean weight of all pairs (`hpostudy.experiments.hmtl.related_ratio`, column
    ``weight``), mean over seeds."""
    return mean_sd(_hmtl.related_ratio(relations, "cifar10"))[0]
