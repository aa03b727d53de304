"""Figures of the template notebook: hypergradients of several methods side by side."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd


def side_by_side(values: pd.DataFrame, methods: pd.DataFrame):
    """Each method's hypergradient entries against the reference method's (first seed), with
    the cosine over all entries in the legend: on the diagonal means equal."""
    seed = values.seed.min()
    v = values[values.seed == seed]
    names = list(dict.fromkeys(v.method))
    reference = v[v.method == names[0]].set_index("index").hypergradient
    fig, ax = plt.subplots(figsize=(5.2, 4.4))
    low, high = float(reference.min()), float(reference.max())
    ax.plot([low, high], [low, high], color="0.6", lw=1, label="equal")
    cosines = methods[methods.seed == seed].set_index("method").cosine
    for name, marker in zip(names[1:], "osd^v"):
        other = v[v.method == name].set_index("index").hypergradient
        ax.scatter(reference, other.loc[reference.index], s=14, marker=marker,
                   label=f"{name} (cosine {cosines[name]:.3f})")
    ax.set_xlabel(f"{names[0]} hypergradient entry")
    ax.set_ylabel("other method's entry")
    ax.legend(fontsize=9)
    fig.tight_layout()
    return fig
