"""The panels several chapter notebooks share: the accuracy-vs-cost front and the outer loops'
errors of "Every hypergradient" (``hpostudy.figures.front``), the schedules and best-so-far
panels of the Self-Tuning Networks (``hpostudy.figures.stn``); and that no notebook calls a
chapter's figure function any more (each figure is drawn in its notebook's cells)."""
import ast
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from hpostudy.figures import front, stn  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _front_rows():
    rows = []
    for seed, scale in ((0, 1.0), (1, 4.0)):
        for method, family, knob, err, status in (
                ("exact", "exact", 10, 0.0, "ok"), ("closed form", "closed form", 0, 0.1, "ok"),
                ("truncated K=5", "truncated", 5, 1e-2 * scale, "ok"),
                ("truncated K=2", "truncated", 2, 1e-1 * scale, "ok"),
                ("DrMAD S=10", "DrMAD", 10, 0.0, "ok"),
                ("forward", "forward", 10, np.nan, "skipped")):
            rows.append({"method": method, "family": family, "knob": knob, "status": status,
                         "relative_error": err, "x_plain": 2.0 + seed,
                         "stored_bytes": 100.0 * (1 + seed)})
    return pd.DataFrame(rows)


def test_estimator_means_are_geometric_over_seeds_floored_and_without_the_references():
    means = front.estimator_means(_front_rows()).set_index("method")
    assert set(means.index) == {"truncated K=5", "truncated K=2", "DrMAD S=10"}
    assert means.loc["truncated K=5", "err"] == pytest.approx(math.sqrt(1e-2 * 4e-2))
    assert means.loc["DrMAD S=10", "err"] == pytest.approx(front.FLOOR)  # exact zero: the floor
    assert means.loc["truncated K=2", "x_plain"] == pytest.approx(2.5)
    assert means.loc["truncated K=2", "stored"] == pytest.approx(150.0)


def test_the_front_panel_joins_a_family_by_its_knob_and_marks_the_reference():
    fig, ax = plt.subplots()
    means = front.estimator_means(_front_rows())
    front.front_panel(ax, means, "stored", reference=120.0)
    joined = [line for line in ax.get_lines() if line.get_linestyle() == "-"]
    assert len(joined) == 1 and list(joined[0].get_xdata()) == [150.0, 150.0]
    assert np.allclose(joined[0].get_ydata(), [math.sqrt(0.1 * 0.4), math.sqrt(1e-2 * 4e-2)])
    (reference,) = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert list(reference.get_xdata()) == [120.0, 120.0]
    assert ax.get_xscale() == ax.get_yscale() == "log"
    _, labels = ax.get_legend_handles_labels()
    assert labels == ["DrMAD", "truncated", "exact (the reference)"]
    fig, ax = plt.subplots()
    front.front_panel(ax, means, "x_plain", reference=float("nan"))  # no exact run: no line
    assert not [line for line in ax.get_lines() if line.get_linestyle() == "--"]


def test_the_outer_panel_puts_each_estimator_on_its_row_top_down_coloured_by_family():
    last = pd.DataFrame({"method": ["initial", "exact", "exact", "truncated K=5"],
                         "family": ["initial", "exact", "exact", "truncated"],
                         "seed": [0, 0, 1, 0], "val_error": [0.5, 0.2, 0.3, 0.25]})
    fig, (named, bare) = plt.subplots(1, 2)
    front.outer_panel(named, last, "val_error", names=True)
    front.outer_panel(bare, last, "val_error", names=False)
    points = named.collections
    assert [len(c.get_offsets()) for c in points] == [1, 2, 1]  # a point per seed
    assert list(points[1].get_offsets()[:, 1]) == [1, 1]
    assert np.allclose(points[2].get_facecolor()[0][:3],
                       matplotlib.colors.to_rgb(front.COLORS["truncated"]))
    assert [t.get_text() for t in named.get_yticklabels()] == ["initial", "exact",
                                                               "truncated K=5"]
    assert {t.get_text() for t in bare.get_yticklabels()} == {""}
    assert named.yaxis_inverted()


def test_cost_ratios_read_as_plain_numbers():
    fig, ax = plt.subplots()
    ax.scatter([0.9, 3.8], [1, 1])
    ax.set_xscale("log")
    ax.set_xlim(0.8, 4.5)  # under a decade: minor ticks labelled too
    front.cost_axis(ax.xaxis)
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels() + ax.get_xticklabels(minor=True)
              if t.get_text()]
    assert {"1", "2", "3"} <= set(labels) and all(t.replace(".", "").isdigit() for t in labels)
    ax.set_xlim(0.3, 200)  # three decades: the decades only
    fig.canvas.draw()
    assert {"1", "10", "100"} <= {t.get_text() for t in ax.get_xticklabels()}
    assert not any(t.get_text() for t in ax.get_xticklabels(minor=True))


@pytest.mark.parametrize("limits, shown", [
    ((150, 800), ["200\u00a0B", "300\u00a0B", "400\u00a0B", "600\u00a0B"]),
    ((150, 3000), ["1\u00a0kB"]),
    ((300, 2e6), ["1\u00a0kB", "1\u00a0MB"]),  # a wide span: not every decade
    ((2e5, 1e9), ["1\u00a0MB", "1\u00a0GB"])])  # the MLP's: "10 MB100 MB" ran together
def test_bytes_read_in_units_with_few_labels(limits, shown):
    fig, ax = plt.subplots(figsize=(3.6, 3))
    ax.scatter(limits, [1, 1])
    ax.set_xscale("log")
    front.cost_axis(ax.xaxis, in_bytes=True)
    fig.canvas.draw()
    low, high = ax.get_xlim()
    assert [t.get_text() for t in ax.get_xticklabels() + ax.get_xticklabels(minor=True)
            if t.get_text() and low <= t.get_position()[0] <= high] == shown


def test_the_schedule_panel_labels_each_hyperparameter_readably():
    schedule = pd.DataFrame({"hyperparameter": ["drop_in"] * 2 + ["alpha"] * 2,
                             "step": [0, 10, 0, 10], "value": [0.1, 0.2, 1.0, 2.0]})
    fig, ax = plt.subplots()
    stn.schedule_panel(ax, schedule, ["drop_in", "alpha"])
    assert [line.get_label() for line in ax.get_lines()] == ["drop in", "alpha"]
    assert list(ax.get_lines()[1].get_ydata()) == [1.0, 2.0]
    assert ax.get_legend() is not None


def test_best_so_far_draws_each_method_and_seed_the_first_seed_labelled():
    progress = pd.DataFrame({"method": ["STN"] * 3 + ["bayes"] * 4,
                             "seed": [0, 0, 0, 0, 0, 1, 1],
                             "training_steps": [0, 10, 20, 10, 20, 10, 20],
                             "best_val_loss": [3.0, 2.0, 1.0, 2.5, 1.5, 2.4, 1.4]})
    fig, ax = plt.subplots()
    stn.best_so_far_panel(ax, progress, perplexity=True)
    lines = ax.get_lines()
    assert len(lines) == 3  # STN seed 0, bayes seeds 0 and 1
    assert list(lines[0].get_xdata()) == [10, 20]  # no zero on the log axis
    assert np.allclose(lines[0].get_ydata(), np.exp([2.0, 1.0]))
    assert [line.get_label() for line in lines[:2]] == ["STN", "Bayesian optimization"]
    assert lines[2].get_label().startswith("_")  # a later seed is not in the legend
    assert lines[2].get_alpha() < lines[1].get_alpha()
    assert lines[1].get_linestyle() == ":" and ax.get_xscale() == "log"


def test_notebooks_draw_their_figures_in_their_own_cells():
    """No notebook calls a chapter's figure function: it imports from ``hpostudy.figures`` only
    the shared helpers, and every figure it draws is saved in one of its cells."""
    chapter_functions = {"draw", "hmtl", "rt_ho", "ho_complexity", "stn_cnn", "stn_lstm",
                         "stn_schedules", "stn_sensitivity"}
    for name in ("front_mlp", "front_convex", "hmtl", "rt_ho", "ho_complexity", "stn_cnn",
                 "stn_lstm", "stn_schedules", "stn_sensitivity"):
        tree = ast.parse((ROOT / "notebooks" / f"{name}.py").read_text())
        imported = {(node.module, alias.name) for node in ast.walk(tree)
                    if isinstance(node, ast.ImportFrom) and node.module
                    and node.module.startswith("hpostudy.figures") for alias in node.names}
        assert not {n for _, n in imported} & chapter_functions, name
        assert not {n for m, n in imported if m == "hpostudy.figures"} & {
            "franceschi", "front", "stn"}, name  # the modules: figures.draw(...) and the like
        saves = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
                 and getattr(node.func, "id", None) == "save"]
        assert saves, f"{name} saves no figure"
