"""The numbers chapter prose quotes from recorded runs, computed from the recorded files.

A chapter page writes ``{{ name }}`` (a MyST substitution) where its prose quotes an outcome of
a recorded run; the book's Sphinx extension (``book/_ext/hpostudy_book.py``) fills in
:func:`substitutions` when the book is built. Each value is a function of one file the book
shows (a run recorded under ``book/recorded``, a benchmark table of ``bench/results``): its
:func:`recorded` decorator names the file, its docstring the columns and what is computed. So
the prose says what the files say, re-recorded runs included. A value whose file
is missing reads :data:`NOT_RECORDED` on the page instead of stopping the build.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

from ..experiments.drmad_quality import fall, lowest_later_cosine, over_drmad, per_seed
from ..experiments.hmtl import related_ratio
from ..verdicts import fmt, mean_sd, t_interval

NOT_RECORDED = "(not recorded)"


def number(x: float) -> str:
    """``x`` for prose: three significant digits (:func:`hpostudy.verdicts.fmt`), thousands
    separated (``2000.0`` -> ``2,000``)."""
    text = fmt(x)
    return f"{int(text):,}" if text.lstrip("-").isdigit() else text


def percent(x: float) -> str:
    """A fraction as a percentage (``0.4186`` -> ``41.9%``)."""
    return f"{number(100 * x)}%"


def signed(x: float) -> str:
    """``x`` with its sign, also when positive (``0.711`` -> ``+0.711``)."""
    return f"+{number(x)}" if x > 0 else number(x)


@dataclass(frozen=True)
class BookValue:
    """A number the prose quotes: ``compute`` reads the table ``file`` (relative to the book's
    folder) and returns the number, ``show`` writes it for reading."""
    file: str
    compute: Callable[[pd.DataFrame], float]
    show: Callable[[float], str] = number

    def render(self, book_dir: Path) -> str:
        """The value as the page shows it, or :data:`NOT_RECORDED` without its file."""
        path = Path(book_dir) / self.file
        if not path.exists():
            return NOT_RECORDED
        try:
            return self.show(self.compute(pd.read_csv(path)))
        except Exception as err:  # whatever the file holds instead of the recorded table
            raise ValueError(f"{path}: the book value '{self.compute.__name__}' cannot be "
                             f"computed from it ({type(err).__name__}: {err}); the file is not "
                             "the table its run recorded (a renamed column, a non-number): "
                             "record the run again (`hpostudy record`) or restore the file "
                             "from git") from err


VALUES: dict[str, BookValue] = {}


def recorded(file: str, show: Callable[[float], str] = number):
    """Declare the decorated function a book value named like the function, computed from
    ``file`` (relative to the book's folder)."""
    def declare(compute):
        VALUES[compute.__name__] = BookValue(file, compute, show)
        return compute
    return declare


def substitutions(book_dir: Path) -> dict[str, str]:
    """Every book value by name, as its page shows it (the MyST substitutions of the book)."""
    return {name: value.render(book_dir) for name, value in VALUES.items()}


# ------------------------------------------------------------------ DrMAD vs exact (thesis 3.1)
DRMAD_QUALITY = "recorded/cpu/drmad_quality"
ACCUMULATED = "recorded/cpu/accumulated_norms"


def _drmad_at(metaruns: pd.DataFrame, fewest: bool = True) -> pd.DataFrame:
    """The rows following the DrMAD signs at the first horizon ``T`` with the fewest (or the
    most) reverse steps ``S``, with the DrMAD/exact norm ratio (``norm_drmad / norm_exact``)."""
    d = metaruns[(metaruns.follow == "drmad") & (metaruns["T"] == metaruns["T"].min())]
    d = d[d.S == (d.S.min() if fewest else d.S.max())]
    return d.assign(ratio=lambda x: x.norm_drmad / x.norm_exact)


def _few_steps_ratios(metaruns: pd.DataFrame) -> pd.Series:
    """Per seed: the median over meta-iterations of the DrMAD/exact norm ratio with the fewest
    reverse steps: the values of the comparison's "about 200 reverse steps" row (Fig 3.1)."""
    return per_seed(_drmad_at(metaruns), "ratio")


@recorded(f"{DRMAD_QUALITY}/metaruns.csv")
def drmad_norm_ratio_few_steps(metaruns: pd.DataFrame) -> float:
    """metaruns.csv: the geometric mean over seeds of :func:`_few_steps_ratios` (the row's
    estimate)."""
    return t_interval(_few_steps_ratios(metaruns), log=True).estimate


@recorded(f"{DRMAD_QUALITY}/metaruns.csv")
def drmad_norm_ratio_many_steps(metaruns: pd.DataFrame) -> float:
    """metaruns.csv: per seed the median over meta-iterations of the DrMAD/exact norm ratio
    with the most reverse steps; geometric mean over seeds (the explosion row's estimate)."""
    return t_interval(per_seed(_drmad_at(metaruns, fewest=False), "ratio"), log=True).estimate


@recorded(f"{DRMAD_QUALITY}/metaruns.csv")
def drmad_norm_ratio_few_steps_lowest(metaruns: pd.DataFrame) -> float:
    """metaruns.csv: the smallest over seeds of :func:`_few_steps_ratios`."""
    return _few_steps_ratios(metaruns).min()


@recorded(f"{DRMAD_QUALITY}/metaruns.csv")
def drmad_norm_ratio_few_steps_highest(metaruns: pd.DataFrame) -> float:
    """metaruns.csv: the largest over seeds of :func:`_few_steps_ratios`."""
    return _few_steps_ratios(metaruns).max()


@recorded(f"{DRMAD_QUALITY}/metaruns.csv")
def drmad_cosine_few_steps_least_negative(metaruns: pd.DataFrame) -> float:
    """metaruns.csv: per seed the lowest cosine with the exact hypergradient (of DrMAD's or of
    its signs) after the first meta-iteration, with the fewest reverse steps
    (:func:`hpostudy.experiments.drmad_quality.lowest_later_cosine`); the largest over seeds."""
    return lowest_later_cosine(_drmad_at(metaruns)).max()


@recorded(f"{DRMAD_QUALITY}/metaruns.csv")
def drmad_cosine_few_steps_most_negative(metaruns: pd.DataFrame) -> float:
    """metaruns.csv: the same, the smallest over seeds."""
    return lowest_later_cosine(_drmad_at(metaruns)).min()


def _test_fall(metaruns: pd.DataFrame, fewest: bool) -> pd.Series:
    """Per seed, the fall of the test error following the DrMAD signs (first meta-iteration
    minus last, :func:`hpostudy.experiments.drmad_quality.fall`), in percentage points."""
    d = _drmad_at(metaruns, fewest)
    return 100 * fall(d, "drmad", int(d["T"].iloc[0]), int(d.S.iloc[0]))


@recorded(f"{DRMAD_QUALITY}/metaruns.csv")
def drmad_test_fall_few_steps(metaruns: pd.DataFrame) -> float:
    """metaruns.csv: the mean over seeds of :func:`_test_fall` with the fewest reverse steps."""
    return mean_sd(_test_fall(metaruns, True))[0]


@recorded(f"{DRMAD_QUALITY}/metaruns.csv")
def drmad_test_fall_many_steps(metaruns: pd.DataFrame) -> float:
    """metaruns.csv: the mean over seeds of :func:`_test_fall` with the most reverse steps."""
    return mean_sd(_test_fall(metaruns, False))[0]


@recorded(f"{DRMAD_QUALITY}/metaruns.csv")
def drmad_cosine_many_steps_median(metaruns: pd.DataFrame) -> float:
    """metaruns.csv: the median over every seed and meta-iteration of DrMAD's cosine with the
    exact hypergradient (``cos_drmad``) with the most reverse steps."""
    return _drmad_at(metaruns, fewest=False).cos_drmad.median()


@recorded(f"{DRMAD_QUALITY}/metaruns.csv")
def drmad_cosine_many_steps_lowest(metaruns: pd.DataFrame) -> float:
    """metaruns.csv: per seed the lowest cosine after the first meta-iteration (as
    :func:`drmad_cosine_few_steps_most_negative`) with the most reverse steps; mean over
    seeds (the row's estimate)."""
    return mean_sd(lowest_later_cosine(_drmad_at(metaruns, fewest=False)))[0]


@recorded(f"{DRMAD_QUALITY}/metaruns.csv")
def drmad2_cosine_gap(metaruns: pd.DataFrame) -> float:
    """metaruns.csv: per seed the median cosine of DrMAD2 with the exact hypergradient minus
    DrMAD's (``cos_drmad2``, ``cos_drmad``), fewest reverse steps; mean over seeds (the
    comparison's paired difference)."""
    medians = _drmad_at(metaruns).groupby("seed")[["cos_drmad", "cos_drmad2"]].median()
    return mean_sd(medians.cos_drmad2 - medians.cos_drmad)[0]


@recorded(f"{DRMAD_QUALITY}/metaruns.csv")
def drmad_beta_steps(metaruns: pd.DataFrame) -> float:
    """metaruns.csv: the number of reverse steps the beta estimate with the factor 10 gives
    (``beta_steps_x10``) at the first meta-iteration and horizon, geometric mean over seeds
    (the comparison row's estimate)."""
    first = metaruns[(metaruns.meta_iteration == 0) & (metaruns["T"] == metaruns["T"].min())]
    return t_interval(first.drop_duplicates("seed").beta_steps_x10, log=True).estimate


def _cost_ratio(cost: pd.DataFrame, method: str, column: str) -> float:
    """cost.csv: ``column`` of ``method`` over DrMAD's, per seed
    (:func:`hpostudy.experiments.drmad_quality.over_drmad`), mean over seeds."""
    return mean_sd(over_drmad(cost, method, column))[0]


@recorded(f"{DRMAD_QUALITY}/cost.csv")
def drmad_exact_memory_ratio(cost: pd.DataFrame) -> float:
    """cost.csv: the bytes exact reversal keeps for its reverse pass (``stored_bytes``) over
    DrMAD's, in the thesis' setting at its horizon."""
    return _cost_ratio(cost, "exact", "stored_bytes")


@recorded(f"{DRMAD_QUALITY}/cost.csv")
def drmad_reverse_memory_ratio(cost: pd.DataFrame) -> float:
    """cost.csv: the bytes of the stored trajectory over the bytes DrMAD keeps."""
    return _cost_ratio(cost, "reverse", "stored_bytes")


def _buffer_over_vector(runs: pd.DataFrame, longest: bool) -> float:
    """runs.csv: exact reversal's buffer (``buffer_MB``, mean over seeds) at the longest (or
    shortest) horizon over the one float64 weight vector DrMAD keeps, the MLP of the recorded
    cpu profile (:func:`hpostudy.experiments.accumulated_norms.n_weights`)."""
    from ..experiments import accumulated_norms

    T = runs["T"].max() if longest else runs["T"].min()
    vector_MB = accumulated_norms.n_weights(accumulated_norms.Config.for_profile("cpu")) * 8e-6
    return runs[runs["T"] == T].buffer_MB.mean() / vector_MB


@recorded(f"{ACCUMULATED}/runs.csv")
def exact_buffer_over_drmad_shorter(runs: pd.DataFrame) -> float:
    """runs.csv: :func:`_buffer_over_vector` at the shorter horizon (T = 20,000)."""
    return _buffer_over_vector(runs, longest=False)


@recorded(f"{ACCUMULATED}/runs.csv")
def exact_buffer_over_drmad_longest(runs: pd.DataFrame) -> float:
    """runs.csv: :func:`_buffer_over_vector` at the longest horizon (T = 200,000)."""
    return _buffer_over_vector(runs, longest=True)


def _growth(runs: pd.DataFrame, column: str, longest: bool) -> float:
    """runs.csv: ``column`` (``growth_near_T``: the rise near t = T-1; ``growth_near_0``: near
    t = 0) at the longest (or shortest) horizon, geometric mean over seeds (the row's
    estimate)."""
    T = runs["T"].max() if longest else runs["T"].min()
    return t_interval(runs[runs["T"] == T][column], log=True).estimate


@recorded(f"{ACCUMULATED}/runs.csv")
def accumulated_growth_near_end_shorter(runs: pd.DataFrame) -> float:
    """runs.csv: :func:`_growth` of the rise near t = T-1 at T = 20,000."""
    return _growth(runs, "growth_near_T", longest=False)


@recorded(f"{ACCUMULATED}/runs.csv")
def accumulated_growth_near_start_shorter(runs: pd.DataFrame) -> float:
    """runs.csv: :func:`_growth` of the rise near t = 0 at T = 20,000."""
    return _growth(runs, "growth_near_0", longest=False)


@recorded(f"{ACCUMULATED}/runs.csv")
def accumulated_growth_near_end_longest(runs: pd.DataFrame) -> float:
    """runs.csv: :func:`_growth` of the rise near t = T-1 at T = 200,000."""
    return _growth(runs, "growth_near_T", longest=True)


@recorded(f"{ACCUMULATED}/runs.csv")
def accumulated_growth_near_start_longest(runs: pd.DataFrame) -> float:
    """runs.csv: :func:`_growth` of the rise near t = 0 at T = 200,000."""
    return _growth(runs, "growth_near_0", longest=True)


def _bench_ratio(table: pd.DataFrame, method: str, column: str) -> float:
    """A benchmark table of one horizon: ``column`` of ``method``'s row over DrMAD's (the
    ratio of the comparison's cost rows, :func:`hpostudy.experiments.drmad_quality.
    benchmark_rows`)."""
    return _bench(table, method, column) / _bench(table, "drmad", column)


@recorded("../bench/results/hypergrad_cpu_T10000.csv")
def bench_exact_time_over_drmad_T10000(table: pd.DataFrame) -> float:
    """hypergrad_cpu_T10000.csv: exact reversal's best CPU time over DrMAD's (``cpu_s_best``)."""
    return _bench_ratio(table, "exact", "cpu_s_best")


@recorded("../bench/results/hypergrad_cpu_T200000.csv")
def bench_exact_time_over_drmad_T200000(table: pd.DataFrame) -> float:
    """hypergrad_cpu_T200000.csv: exact reversal's best CPU time over DrMAD's."""
    return _bench_ratio(table, "exact", "cpu_s_best")


@recorded("../bench/results/hypergrad_cpu_T10000.csv")
def bench_reverse_time_over_drmad_T10000(table: pd.DataFrame) -> float:
    """hypergrad_cpu_T10000.csv: stored-trajectory reverse mode's best CPU time over DrMAD's."""
    return _bench_ratio(table, "reverse", "cpu_s_best")


@recorded("../bench/results/hypergrad_cpu_T200000.csv")
def bench_exact_memory_over_drmad_T200000(table: pd.DataFrame) -> float:
    """hypergrad_cpu_T200000.csv: exact reversal's peak memory above the warm process over
    DrMAD's (``peak_MB``)."""
    return _bench_ratio(table, "exact", "peak_MB")


@recorded("../bench/results/hypergrad_cpu_T200000.csv")
def bench_exact_kept_MB_T200000(table: pd.DataFrame) -> float:
    """hypergrad_cpu_T200000.csv: what exact reversal keeps for its reverse pass, its buffer
    (``stored_MB``), in MB."""
    return _bench(table, "exact", "stored_MB")


@recorded("../bench/results/hypergrad_cpu_T200000.csv")
def bench_drmad_peak_MB_T200000(table: pd.DataFrame) -> float:
    """hypergrad_cpu_T200000.csv: DrMAD's peak memory above the warm process (``peak_MB``)."""
    return _bench(table, "drmad", "peak_MB")


@recorded("../bench/results/hypergrad_cpu_T10000.csv")
def bench_reverse_memory_over_drmad_T10000(table: pd.DataFrame) -> float:
    """hypergrad_cpu_T10000.csv: the stored trajectory's peak memory over DrMAD's."""
    return _bench_ratio(table, "reverse", "peak_MB")


# ------------------------------------------------------------------ task relations (Franceschi et al.)
HMTL = "recorded/cpu/hmtl"


@recorded(f"{HMTL}/summary.csv", show=percent)
def hmtl_accuracy_lowest(summary: pd.DataFrame) -> float:
    """summary.csv: the lowest mean test accuracy of a method (``test_accuracy``)."""
    return summary.test_accuracy.min()


@recorded(f"{HMTL}/summary.csv", show=percent)
def hmtl_accuracy_highest(summary: pd.DataFrame) -> float:
    """summary.csv: the highest mean test accuracy of a method (``test_accuracy``)."""
    return summary.test_accuracy.max()


def _hmtl_lead_over_nmtl(methods: pd.DataFrame) -> tuple[float, float]:
    """methods.csv: HMTL's test accuracy minus NMTL's, paired by seed (split): mean and
    standard error, in percentage points (the comparison's "HMTL is more accurate than NMTL")."""
    wide = methods.pivot(index="seed", columns="method", values="test_accuracy")
    mean, sd = mean_sd(100 * (wide["HMTL"] - wide["NMTL"]))
    return mean, sd / len(wide) ** 0.5


@recorded(f"{HMTL}/methods.csv", show=signed)
def hmtl_lead_over_nmtl(methods: pd.DataFrame) -> float:
    """methods.csv: the mean of :func:`_hmtl_lead_over_nmtl`, in percentage points."""
    return _hmtl_lead_over_nmtl(methods)[0]


@recorded(f"{HMTL}/relations.csv")
def hmtl_s_related_ratio(relations: pd.DataFrame) -> float:
    """relations.csv: the mean weight HMTL-S gives the related pairs of CIFAR-10 classes over
    the mean weight of all pairs (:func:`hpostudy.experiments.hmtl.related_ratio`, column
    ``weight``), mean over seeds."""
    return mean_sd(related_ratio(relations, "cifar10"))[0]


# ------------------------------------------------------------------ real-time tuning (Franceschi et al.)
RT_HO = "recorded/cpu/rt_ho"


@recorded(f"{RT_HO}/methods.csv")
def rt_ho_diverged_runs(methods: pd.DataFrame) -> float:
    """methods.csv: the number of RT-HO runs (seeds) stopped by a hypergradient or a training
    step that was not finite (``diverged``)."""
    return int(methods[methods.method == "RT-HO"].diverged.astype(bool).sum())


@recorded(f"{RT_HO}/updates.csv")
def rt_ho_update_growth_lowest(updates: pd.DataFrame) -> float:
    """updates.csv: per seed, the largest finite norm of RT-HO's hypergradient over its first
    one (``hypergradient_norm``, in the order of ``step``); the smallest over seeds."""
    def growth(norms: pd.Series) -> float:
        finite = norms[norms.abs() < float("inf")]
        return finite.max() / finite.iloc[0]
    return updates.sort_values("step").groupby("seed").hypergradient_norm.agg(growth).min()


def _growth_per_seed(growth: pd.DataFrame) -> pd.Series:
    """growth.csv: per seed, the float64 exact hypergradient's norm (``reverse_norm``) at the
    longest horizon over its norm at the shortest."""
    exact = growth[growth.precision == "float64"].sort_values("T")
    return exact.groupby("seed").reverse_norm.agg(lambda norms: norms.iloc[-1] / norms.iloc[0])


@recorded(f"{RT_HO}/growth.csv")
def rt_ho_growth_lowest(growth: pd.DataFrame) -> float:
    """growth.csv: the smallest over seeds of :func:`_growth_per_seed`."""
    return _growth_per_seed(growth).min()


@recorded(f"{RT_HO}/growth.csv")
def rt_ho_growth_highest(growth: pd.DataFrame) -> float:
    """growth.csv: the largest over seeds of :func:`_growth_per_seed`."""
    return _growth_per_seed(growth).max()


def _float32_error(growth: pd.DataFrame, longest: bool) -> pd.Series:
    """growth.csv: per seed, float32's relative error against float64 (``error_vs_float64``)
    at the longest (or the shortest) horizon."""
    single = growth[growth.precision == "float32"]
    T = single["T"].max() if longest else single["T"].min()
    return single[single["T"] == T].error_vs_float64


@recorded(f"{RT_HO}/growth.csv")
def rt_ho_float32_error_shortest(growth: pd.DataFrame) -> float:
    """growth.csv: the largest over seeds of float32's relative error at the shortest horizon."""
    return _float32_error(growth, longest=False).max()


@recorded(f"{RT_HO}/growth.csv")
def rt_ho_float32_error_longest(growth: pd.DataFrame) -> float:
    """growth.csv: the smallest over seeds of float32's relative error at the longest horizon."""
    return _float32_error(growth, longest=True).min()


# ------------------------------------------------------------------ the engine's benchmark (bench/)
BENCH = "../bench/results"


def _bench(table: pd.DataFrame, method: str, column: str, T: int | None = None) -> float:
    """``column`` of ``method``'s row of a table of ``bench/hypergrad.py`` (at horizon ``T``
    where the table has several)."""
    rows = table[table.method == method]
    if T is not None:
        rows = rows[rows["T"] == T]
    if len(rows) != 1:
        raise ValueError(f"{len(rows)} rows of {method} at T={T} in the benchmark table, not 1")
    return float(rows[column].iloc[0])


@recorded(f"{BENCH}/hypergrad_cpu.csv")
def bench_cpu_exact_x_plain(table: pd.DataFrame) -> float:
    """hypergrad_cpu.csv (T = 1,000): exact reversal's CPU time over plain PyTorch's
    (``x_plain``)."""
    return _bench(table, "exact", "x_plain")


@recorded(f"{BENCH}/hypergrad_cpu_T10000.csv")
def bench_cpu_exact_x_plain_long(table: pd.DataFrame) -> float:
    """hypergrad_cpu_T10000.csv (T = 10,000): exact reversal's CPU time over plain PyTorch's
    (``x_plain``)."""
    return _bench(table, "exact", "x_plain")


@recorded(f"{BENCH}/hypergrad_cpu_T10000.csv")
def bench_cpu_reverse_stored_gb_long(table: pd.DataFrame) -> float:
    """hypergrad_cpu_T10000.csv (T = 10,000): what stored-trajectory reverse mode keeps
    (``stored_MB``), in GB."""
    return _bench(table, "reverse", "stored_MB") / 1000


@recorded(f"{BENCH}/hypergrad_cuda_h100.csv")
def bench_h100_reverse_x_autograd(table: pd.DataFrame) -> float:
    """hypergrad_cuda_h100.csv (T = 1,000): reverse mode's CPU time over autograd's through
    the unrolled loop (``x_autograd``)."""
    return _bench(table, "reverse", "x_autograd", T=1000)


@recorded(f"{BENCH}/hypergrad_cuda_h100.csv")
def bench_h100_reverse_mb_per_step(table: pd.DataFrame) -> float:
    """hypergrad_cuda_h100.csv (T = 1,000): reverse mode's peak memory per step
    (``MB_per_step``)."""
    return _bench(table, "reverse", "MB_per_step", T=1000)


@recorded(f"{BENCH}/hypergrad_cuda_h100.csv")
def bench_h100_autograd_mb_per_step(table: pd.DataFrame) -> float:
    """hypergrad_cuda_h100.csv (T = 1,000): autograd's peak memory per step through the
    unrolled loop (``MB_per_step``)."""
    return _bench(table, "autograd", "MB_per_step", T=1000)


# ------------------------------------------------------------------ why DrMAD explodes; Fig 3.6
EXPLOSION = "recorded/cpu/drmad_explosion"
REVERSAL = "recorded/cpu/reversal_precision"


def _explosion_pass(summary: pd.DataFrame, column: str, S: int) -> float:
    """summary.csv: ``column`` of the unscaled line with ``S`` reverse steps at the smallest
    learning rate (the DrMAD code's 0.05 in the recorded run), mean over seeds."""
    g = summary[(summary.lr == summary.lr.min()) & (summary["pass"] == f"line, S={S:,}")]
    return mean_sd(g.groupby("seed")[column].mean())[0]


@recorded(f"{EXPLOSION}/summary.csv")
def explosion_growth_few(summary: pd.DataFrame) -> float:
    """summary.csv: log10 growth of |dw| per reverse step (``log10_growth_per_step``) along
    the line with 200 steps, learning rate 0.05, mean over seeds."""
    return _explosion_pass(summary, "log10_growth_per_step", 200)


@recorded(f"{EXPLOSION}/summary.csv")
def explosion_growth_many(summary: pd.DataFrame) -> float:
    """summary.csv: the same along the line with 2,000 steps."""
    return _explosion_pass(summary, "log10_growth_per_step", 2000)


@recorded(f"{EXPLOSION}/summary.csv")
def explosion_curvature_few(summary: pd.DataFrame) -> float:
    """summary.csv: the mean curvature the adjoint meets (``mean_curvature``) along the line
    with 200 steps, learning rate 0.05, mean over seeds."""
    return _explosion_pass(summary, "mean_curvature", 200)


@recorded(f"{EXPLOSION}/summary.csv")
def explosion_curvature_many(summary: pd.DataFrame) -> float:
    """summary.csv: the same along the line with 2,000 steps."""
    return _explosion_pass(summary, "mean_curvature", 2000)


@recorded(f"{REVERSAL}/parting.csv")
def reversal_parting_step(parting: pd.DataFrame) -> float:
    """parting.csv: per seed the first reverse step at which any quantity parts (the
    smallest ``parting_step``), mean over seeds."""
    return mean_sd(parting.groupby("seed").parting_step.min())[0]


@recorded("recorded/h100/reversal_precision/parting.csv")
def reversal_parting_step_h100(parting: pd.DataFrame) -> float:
    """The H100 run's parting.csv (one seed): as :func:`reversal_parting_step`."""
    return mean_sd(parting.groupby("seed").parting_step.min())[0]


# ------------------------------------------------------------------ DenseNet (thesis 3.2)
DENSENET_DRMAD = "recorded/cpu/densenet_drmad"


def _drmad_runs(meta: pd.DataFrame, init: float) -> pd.DataFrame:
    """The DrMAD runs (not the random-direction control) from ``init`` in meta_iterations.csv,
    ordered by seed and meta-iteration."""
    if "direction" in meta:
        meta = meta[meta.direction == "DrMAD"]
    return meta[meta.init_l2 == init].sort_values(["seed", "meta_iteration"])


@recorded(f"{DENSENET_DRMAD}/meta_iterations.csv")
def densenet_equal_epoch_rises(meta: pd.DataFrame) -> float:
    """meta_iterations.csv, runs from 1e-4: the seeds whose test error is higher at the last
    meta-iteration that trains as many epochs as meta-iteration 0 than at meta-iteration 0."""
    count = 0
    for _, g in _drmad_runs(meta, -4.0).groupby("seed"):
        same = g[g.epochs == g.epochs.iloc[0]]
        count += int(same.test_error.iloc[-1] > same.test_error.iloc[0])
    return count


@recorded(f"{DENSENET_DRMAD}/meta_iterations.csv")
def densenet_drmad_seeds(meta: pd.DataFrame) -> float:
    """meta_iterations.csv: the number of seeds of the DrMAD runs from 1e-4."""
    return _drmad_runs(meta, -4.0).seed.nunique()


@recorded(f"{DENSENET_DRMAD}/meta_iterations.csv", show=percent)
def densenet_first_error_1e2(meta: pd.DataFrame) -> float:
    """meta_iterations.csv, runs from 1e-2: the test error at meta-iteration 0, mean over
    seeds."""
    g = _drmad_runs(meta, -2.0)
    return mean_sd(g[g.meta_iteration == 0].test_error)[0]


@recorded(f"{DENSENET_DRMAD}/meta_iterations.csv", show=percent)
def densenet_share_decreased_1e7(meta: pd.DataFrame) -> float:
    """meta_iterations.csv, runs from 1e-7: the share of L2 hyperparameters below their start
    at each seed's last meta-iteration, mean over seeds."""
    g = _drmad_runs(meta, -7.0)
    return mean_sd(g.groupby("seed").l2_decreased.last())[0]
