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
#     experiment: hpostudy.experiments.ho_complexity
# ---

# %% [markdown]
# # Forward against reverse mode: time and memory (Franceschi et al. 2017, sections 2-3)
#
# **Overview.** FORWARD-HO carries one state-sized tangent per hyperparameter: its time should
# grow with their number $m$, its memory not with the horizon $T$. REVERSE-HO stores the
# trajectory and runs one adjoint pass: its memory should grow with $T$, its time not with
# $m$. We measure both on one problem, an MLP on digits whose weights are cut into $m$ blocks
# with an L2 coefficient each, trained by SGD with momentum: process CPU time (the median of
# interleaved repetitions) and the bytes each method's buffers hold.
#
# **Prerequisites.** `hpostudy` installed (`make book` does it); the embedded digits only.
# Every parameter left at `None` takes the profile's value.

# %% tags=["parameters"]
# Written by `hpostudy cells` from hpostudy.experiments.ho_complexity.Config: edit the knobs there.
profile: str = "smoke"  # smoke | cpu | paper; a knob left at None takes its value
device: "Optional[str]" = None  # cpu | cuda (None: the profile's device, cuda for paper)
seed: "Optional[int]" = None  # first seed; a run with n seeds uses seed, seed+1, ..., seed+n-1
seeds: "Optional[int]" = None  # number of seeds (claims about outcomes need at least 3)
output_dir: "Optional[str]" = None  # tables, figures, checkpoints (None: build/<profile>/results/<name>)
hidden: "Optional[int]" = None  # units of the MLP's hidden layer (on the 8x8 digits)
batch_size: "Optional[int]" = None  # mini-batch size
T: "Optional[int]" = None  # horizon of the sweep over m
m_values: "Optional[list[int]]" = None  # numbers of hyperparameters of the sweep over m
T_values: "Optional[list[int]]" = None  # horizons of the sweep over T
m_for_T: "Optional[int]" = None  # number of hyperparameters of the sweep over T
repeats: "Optional[int]" = None  # interleaved repetitions of every timing (the median is kept)

# %%
import matplotlib.pyplot as plt

from hpostudy.experiments import ho_complexity
from hpostudy.figures import save

cfg = ho_complexity.Config.from_notebook(globals())
results = ho_complexity.run(cfg)

# %% [markdown]
# ## Time against $m$, memory against $T$
# Both axes are logarithmic: a slope of one is linear growth. Small problems hide the growth of
# forward mode's time: `vmap` pushes the $m$ tangents together, and until their arithmetic
# outweighs the fixed cost of a step the time stays flat.

# %%
measurements = results["measurements"]
COLORS = {"forward": "#dd8452", "reverse": "#4c72b0"}
fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.9))
for ax, (sweep, y, ylabel) in zip(axes, (
        ("m", "seconds_per_step", f"{measurements.clock.iloc[0]} s per step"),
        ("T", "bytes", "bytes held by the method"))):
    mine = measurements[measurements.sweep == sweep]  # m or T varied, the other fixed
    for method, group in mine.groupby("method"):
        ax.scatter(group[sweep], group[y], color=COLORS[method], s=14, alpha=0.6)  # per seed
        mean = group.groupby(sweep)[y].mean()
        ax.plot(mean.index, mean.to_numpy(), color=COLORS[method], marker="o",
                label=f"{method.upper()}-HO")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    ax.legend()
axes[0].set_xlabel("hyperparameters m")
axes[0].set_title("Time against the number of hyperparameters")
axes[1].set_xlabel("horizon T")
axes[1].set_title("Memory against the horizon")
fig.tight_layout()
save(fig, cfg.output_dir, "forward_reverse_cost");

# %% [markdown]
# ## Paper vs reproduced

# %%
results["comparison"]

# %% [markdown]
# **Summary.** The memory rows are judged from the bytes the methods hold; the time row is
# shown, not judged (a timing depends on the machine).
