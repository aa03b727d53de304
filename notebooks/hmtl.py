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
import matplotlib.pyplot as plt
import networkx as nx
import numpy as np

from hpostudy.experiments import hmtl
from hpostudy.figures import integer_axis, save
from hpostudy.verdicts import difference_interval

cfg = hmtl.Config.from_notebook(globals())
results = hmtl.run(cfg)

# %% [markdown]
# ## Accuracy per method (Figure 1 left)
# Left: each grey line is one split; the coloured points are the means with their standard
# deviation; the diamonds are the paper's accuracies, on the same axis. Right: each method's
# gain over STL, paired by split, with its 95% t-interval, and the paper's gain (diamonds): the
# differences the paper's claims are about.

# %%
COLORS = {"STL": "#8c8c8c", "NMTL": "#4c72b0", "HMTL": "#dd8452", "HMTL-S": "#c44e52",
          "HMTL-S paper R": "#8172b3"}  # one colour per method, in every figure below


def tick_label(method):
    return method.replace(" paper R", "\npaper R")


summary = results["summary"]
order = list(summary.method)
paper = summary.set_index("method").paper_accuracy
accuracy = results["methods"].pivot(index="seed", columns="method",
                                    values="test_accuracy")[order]  # one row per split
fig, (ax, gain) = plt.subplots(1, 2, figsize=(12, 4.4), width_ratios=(1.1, 1))
x = np.arange(len(order))
for k, (_, split) in enumerate(accuracy.iterrows()):
    ax.plot(x, split.to_numpy(), color="0.8", lw=0.8, zorder=1,
            label=f"one split (seed), {len(accuracy)} in all" if k == 0 else None)
for i, row in enumerate(summary.itertuples()):
    ax.errorbar([i], [row.test_accuracy], yerr=[row.sd], fmt="o", ms=8, capsize=5,
                color=COLORS.get(row.method, "k"), zorder=3,
                label="this study: mean ± sd" if i == 0 else None)
ax.plot(x, paper[order].to_numpy(), "D", color="0.25", ms=6, label="paper (Inception-V3 features)")
ax.set_xticks(x, [tick_label(m) for m in order])
ax.set_ylabel("test accuracy")
ax.set_ylim(0, 1)
ax.legend(loc="upper left", fontsize=9)
ax.set_title("Test accuracy: this study and the paper")

others = [m for m in order if m != "STL"]
for i, method in enumerate(others):
    interval = difference_interval(accuracy["STL"], accuracy[method], paired=True)
    mean, low, high = 100 * np.array([interval.estimate, interval.low, interval.high])
    gain.errorbar([i], [mean], yerr=[[mean - low], [high - mean]], fmt="o", ms=8, capsize=5,
                  color=COLORS.get(method, "k"),
                  label="this study: mean, 95% t-interval" if i == 0 else None)
    gain.plot([i], [100 * (paper[method] - paper["STL"])], "D", color="0.25", ms=6,
              label="paper" if i == 0 else None)
gain.axhline(0, color="0.4", lw=0.8)
gain.set_xticks(np.arange(len(others)), [tick_label(m) for m in others])
gain.set_ylabel("accuracy gain over STL (points)")
gain.legend(loc="lower right", fontsize=9)
gain.set_title(f"Gain over STL, paired by split ({len(accuracy)} splits)")
fig.tight_layout()
save(fig, cfg.output_dir, "fig1_left_accuracy");

# %% [markdown]
# ## The hypergradient steps
# Validation loss and test accuracy along the projected Adam steps of HMTL and HMTL-S, mean over
# the splits.

# %%
fig, axes = plt.subplots(1, 2, figsize=(9.6, 3.6))
for method, group in results["paths"].groupby("method"):
    mean = group.groupby("meta_iteration")[["val_loss", "test_accuracy"]].mean()
    for ax, column in zip(axes, ("val_loss", "test_accuracy")):
        ax.plot(mean.index, mean[column], label=method, color=COLORS.get(method))
for ax, label in zip(axes, ("validation cross-entropy", "test accuracy")):
    integer_axis(ax, "hypergradient step")
    ax.set_ylabel(label)
axes[0].legend()
fig.suptitle("Projected Adam on the hypergradient (mean over splits)")
fig.tight_layout()
save(fig, cfg.output_dir, "hypergradient_paths");

# %% [markdown]
# ## The learned task relations (Figure 1 centre)
# HMTL-S's relations $A$, averaged over the splits, as a graph of the classes: an edge for each
# pair weighing at least `edge_fraction` of the largest weight, its width by the weight.

# %%
method = "HMTL-S"
relations = results["relations"][results["relations"].method == method]
mean = relations.groupby(["task_a", "task_b"], sort=False).weight.mean().reset_index()
largest = float(mean.weight.max()) if len(mean) else 0.0
fraction = results["edge_fraction"]
graph = nx.Graph()
graph.add_nodes_from(results["classes"])
for pair in mean.itertuples():
    if largest > 0 and pair.weight >= fraction * largest:
        graph.add_edge(pair.task_a, pair.task_b, weight=pair.weight)
fig, ax = plt.subplots(figsize=(6.4, 5.6))
position = nx.circular_layout(graph)
widths = [8 * edge["weight"] / largest for _, _, edge in graph.edges(data=True)]
nx.draw_networkx_edges(graph, position, width=widths, edge_color="#4c72b0", alpha=0.8, ax=ax)
nx.draw_networkx_nodes(graph, position, node_color="#f2f2f2", edgecolors="0.3", node_size=1500,
                       ax=ax)
nx.draw_networkx_labels(graph, position, font_size=11, ax=ax)
ax.set_title(f"{method}: mean learned A over {relations.seed.nunique()} splits\n"
             f"edges >= {fraction:g} x the largest weight ({largest:.3g})")
ax.set_axis_off()
ax.margins(0.12)
fig.tight_layout()
save(fig, cfg.output_dir, "fig1_centre_graph");

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
