"""The drawing helpers the notebooks share (``hpostudy.figures.helpers``): seeds told apart by
line style, one legend below the panels, errors over seeds, per-layer lines, few ticks."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from hpostudy.figures import helpers  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_each_seed_keeps_its_line_style_and_the_key_names_every_seed():
    seeds = [3, 5, 7]
    assert [helpers.seed_style(seeds, s)["ls"] for s in seeds] == ["-", "--", ":"]
    fig, ax = plt.subplots()
    df = pd.DataFrame({"seed": [7, 7, 3, 3], "x": [1, 0, 0, 1], "y": [1.0, 2.0, 3.0, 4.0]})
    helpers.by_seed(ax, df, "x", "y", "quantity", seeds, color="red")
    helpers.seed_key(ax, seeds)
    drawn = {line.get_label(): line for line in ax.get_lines()}
    assert [line.get_linestyle() for line in ax.get_lines()[:2]] == ["-", ":"]  # seeds 3, 7
    assert list(ax.get_lines()[1].get_xdata()) == [0, 1]  # sorted along x
    _, labels = ax.get_legend_handles_labels()
    assert labels == ["quantity", "seed 3", "seed 5", "seed 7"]  # the quantity labelled once
    assert drawn["seed 5"].get_linestyle() == "--"


def test_the_shared_legend_lists_each_label_once_below_the_panels():
    fig, (left, right) = plt.subplots(1, 2)
    for ax in (left, right):
        ax.plot([0, 1], [0, 1], label="exact")
    right.plot([0, 1], [1, 0], label="DrMAD")
    helpers.shared_legend(fig)
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["exact", "DrMAD"]
    assert legend.get_texts()[0].get_fontsize() == helpers.LEGEND
    fig.canvas.draw()
    assert legend.get_window_extent().y1 <= left.get_window_extent().y0  # below the panels


def test_one_legend_below_the_panels_names_each_label_once():
    fig, (left, right) = plt.subplots(1, 2)
    left.plot([0, 1], [0, 1], label="reverse")
    right.plot([0, 1], [1, 0], label="reverse")
    right.plot([0, 1], [1, 1], label="DrMAD")
    helpers.shared_legend(fig)
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["reverse", "DrMAD"]
    assert min(ax.get_position().y0 for ax in fig.axes) >= 0.12  # the panels above it


def _fronts_with_shared_legend(horizons: int):
    """A front figure's layout: two rows, a column per horizon, log byte axes, eight labelled
    estimators in the first panel (two legend rows), one legend below the panels."""
    fig, axes = plt.subplots(2, horizons, figsize=(3.6 * horizons + 1.5, 6.6))
    for k, ax in enumerate(axes.flat):
        for j in range(8 if k == 0 else 0):
            ax.scatter([10 ** j], [1 + j], label=f"estimator {j}")
        ax.set_xscale("log")
        ax.set_xlabel("bytes stored")
    helpers.shared_legend(fig)
    return fig


def _assert_legend_below_every_label(fig):
    """The one legend of ``fig`` lies wholly below every panel's tick and axis labels."""
    renderer = fig.canvas.get_renderer()
    (legend,) = fig.legends
    assert len(legend.get_texts()) == 8
    top_of_legend = legend.get_window_extent(renderer).y1
    assert min(ax.get_tightbbox(renderer).y0 for ax in fig.axes) > top_of_legend
    return legend


def test_a_legend_of_two_rows_leaves_the_lowest_x_labels_uncovered():
    # the cleaning problem's figure: three horizons, eight labels (two legend rows)
    _assert_legend_below_every_label(_fronts_with_shared_legend(3))


def _errors(seeds):
    rows = [{"seed": s, "epoch": e, "train_error": 0.1 * s + e, "val_error": 0.2,
             "test_error": 0.3, "test_error_batch": 0.25} for s in seeds for e in range(3)]
    return pd.DataFrame(rows)


def test_errors_over_seeds_draw_the_mean_and_shade_the_range_only_with_several_seeds():
    fig, ax = plt.subplots()
    helpers.errors_over_seeds(ax, _errors([0, 2]), "epoch")
    train = ax.get_lines()[0]
    assert train.get_label() == "train (full set)"
    assert list(train.get_ydata()) == pytest.approx([0.1, 1.1, 2.1])  # mean of 0.0 and 0.2
    assert len(ax.collections) == 3  # one shaded range per error
    assert "test (cycling batch)" in [line.get_label() for line in ax.get_lines()]
    assert helpers.seeds_note(_errors([0, 2])) == "mean of 2 seeds, range shaded"
    fig, ax = plt.subplots()
    helpers.errors_over_seeds(ax, _errors([0]), "epoch", batch=False)
    assert not ax.collections and len(ax.get_lines()) == 3
    assert helpers.seeds_note(_errors([0])) == "1 seed"


def test_layer_lines_colour_each_tensor_by_depth_with_a_colorbar():
    df = pd.DataFrame({"depth": [0, 0, 4, 4], "epoch": [0, 1, 0, 1],
                       "value": [-4.0, -3.9, -4.0, -4.2]})
    fig = helpers.layer_lines(df, "epoch", "epoch", "title", "log10 L2")
    ax, bar = fig.axes
    shallow, deep = ax.get_lines()
    assert shallow.get_color() != deep.get_color()
    assert bar.get_ylabel() == "parameter tensor (0: input ... output)"
    assert ax.get_title() == "title" and ax.get_ylabel() == "log10 L2"


def test_few_ticks_keep_small_values_apart():
    fig, ax = plt.subplots()
    ax.plot([-0.0075, 0.0075], [0.001, 0.002])
    helpers.few_ticks(ax)
    fig.canvas.draw()
    for axis in (ax.xaxis, ax.yaxis):
        shown = [t for t in axis.get_major_ticks() if t.label1.get_text()]
        assert len(shown) <= 5  # MaxNLocator(4): at most 4 intervals
        assert axis.get_offset_text().get_text()  # the power of ten moved to the offset


@pytest.mark.parametrize("n", [3, helpers.FEW_SEEDS + 1, 30])
def test_per_seed_lines_name_few_seeds_and_label_many_once(n):
    df = pd.DataFrame({"seed": [s for s in range(n) for _ in range(2)],
                       "x": [1, 0] * n, "y": [float(s) for s in range(n) for _ in range(2)]})
    fig, ax = plt.subplots()
    colours = helpers.per_seed_lines(ax, df, "x", "y")
    _, labels = ax.get_legend_handles_labels()
    assert len(ax.get_lines()) == n and sorted(colours) == list(range(n))
    assert list(ax.get_lines()[0].get_xdata()) == [0, 1]  # sorted along x
    if n <= helpers.FEW_SEEDS:
        assert labels == [f"seed {s}" for s in range(n)] and len(set(colours.values())) == n
    else:
        assert labels == [f"one line per seed ({n})"] and len(set(colours.values())) == 1


def test_saving_a_wide_figure_keeps_its_shared_legend_below_the_enlarged_labels(tmp_path):
    # the MLP's front: four horizons, so wide that save() enlarges every text and lays the
    # figure out again; the legend must still sit below the lowest tick and axis labels
    from hpostudy.figures import save

    fig = _fronts_with_shared_legend(4)
    save(fig, tmp_path, "front")
    legend = _assert_legend_below_every_label(fig)
    assert legend.get_texts()[0].get_fontsize() > helpers.LEGEND  # enlarged by save
