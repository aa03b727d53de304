"""The numbers chapter prose quotes from recorded runs (``{{ name }}`` on a page): each one is
declared by the notebook (or benchmark) whose tables it reads, computes from the files in
book/recorded, and computes what its docstring says."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from hpostudy.study import book_values as bv

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
USE = re.compile(r"\{\{\s*([^}\s]+)\s*\}\}")
VALUES = bv.values(ROOT)


def compute(name: str, table: pd.DataFrame) -> float:
    """The book value ``name`` computed from ``table``."""
    return VALUES[name].compute(table)


def used_values() -> dict[str, list[str]]:
    """Every ``{{ name }}`` of the book's pages, with the pages that use it."""
    uses: dict[str, list[str]] = {}
    for page in [*BOOK.glob("*.md"), *(BOOK / "chapters").glob("*.md")]:
        for name in USE.findall(page.read_text()):
            uses.setdefault(name, []).append(page.relative_to(ROOT).as_posix())
    return uses


def test_every_value_a_page_uses_is_defined_and_every_defined_one_used():
    uses = used_values()
    undefined = {name: pages for name, pages in uses.items() if name not in VALUES}
    assert not undefined, f"pages use book values no notebook declares: {undefined}"
    unused = sorted(set(VALUES) - set(uses))
    assert not unused, f"book values no page uses: {unused}"


def test_every_value_computes_from_the_recorded_files():
    shown = bv.substitutions(BOOK)
    missing = {name: VALUES[name].file for name, text in shown.items()
               if text == bv.NOT_RECORDED}
    assert not missing, f"book values whose recorded file is missing: {missing}"
    assert all(text and "nan" not in text for text in shown.values()), shown


def test_a_notebook_declares_its_values_in_a_tagged_cell_found_without_any_list(tmp_path):
    """A checkout with one new notebook: its cell tagged book-values is found (no list names
    the notebook), its tables are read from its own recorded folder or from the checkout, and
    the rest of the notebook does not run."""
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "new_study.py").write_text('''# %%
raise RuntimeError("the notebook's run is not part of the book build")

# %% tags=["book-values"]
from hpostudy.study import book_values


@book_values.recorded("runs.csv", show=book_values.percent)
def new_share(runs):
    return runs.share.mean()


@book_values.recorded("runs.csv", profile="h100")
def new_share_h100(runs):
    return runs.share.max()


@book_values.project_file("bench/results/new.csv")
def new_bench(table):
    return book_values.cell(table, "x", method="a")
''')
    book = tmp_path / "book"
    _write(book, "recorded/cpu/new_study/runs.csv", pd.DataFrame(dict(share=[0.2, 0.4])))
    _write(book, "recorded/h100/new_study/runs.csv", pd.DataFrame(dict(share=[0.5, 0.7])))
    _write(tmp_path, "bench/results/new.csv", pd.DataFrame(dict(method=["a", "b"], x=[3.0, 4.0])))
    assert bv.substitutions(book, tmp_path) == {"new_share": "30%", "new_share_h100": "0.7",
                                                "new_bench": "3"}
    (tmp_path / "bench" / "twice.py").write_text((tmp_path / "notebooks" / "new_study.py")
                                                 .read_text().split("\n", 2)[2])
    with pytest.raises(ValueError, match="'new_share' is declared twice"):
        bv.values(tmp_path)


def test_no_notebook_is_named_where_book_values_are_collected():
    """Book values are found through the notebooks' cell tags, never listed centrally."""
    source = Path(bv.__file__).read_text()
    named = [p.stem for p in (ROOT / "notebooks").glob("*.py")
             if re.search(rf"\b{p.stem}\b", source)]
    assert not named and "recorded/cpu/" not in source, named


def test_a_value_without_its_file_reads_not_recorded(tmp_path):
    assert bv.substitutions(tmp_path)["drmad_exact_memory_ratio"] == bv.NOT_RECORDED


@pytest.mark.parametrize("x, number", [(2000.0, "2,000"), (74.33, "74.3"), (2.7777, "2.78"),
                                       (12345.6, "12,346"), (-1500.0, "-1,500"), (0.0123, "0.0123")])
def test_numbers_read_with_three_significant_digits_and_thousands_separated(x, number):
    assert bv.number(x) == number


def test_percentages_and_signed_differences():
    assert bv.percent(0.41839) == "41.8%"
    assert bv.signed(0.711) == "+0.711" and bv.signed(-0.3) == "-0.3"


def _write(folder: Path, file: str, table: pd.DataFrame) -> None:
    path = folder / file
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False)


def test_values_are_means_over_seeds_of_what_each_seed_gives(tmp_path):
    """Hand-made recorded files where a first row, a mean of pooled rows or a ratio of means
    would give other numbers than the documented computation."""
    # seed 0: ratios 1, 3, 100 at S=10 (median 3); seed 1: 5, 7, 9 (median 7); seed 2: 1, 1, 1
    # -> geometric mean (3 * 7 * 1)^(1/3) = 2.76; the S=100 rows, the rows following drmad2
    # and the longer horizon must not count
    rows = []
    for seed, ratios in ((0, (1.0, 3.0, 100.0)), (1, (5.0, 7.0, 9.0)), (2, (1.0, 1.0, 1.0))):
        for i, ratio in enumerate(ratios):
            cos = (0.5, -0.1 * (seed + 1), 0.2)[i]  # lowest later cosines -0.1, -0.2, -0.3
            common = dict(meta_iteration=i, seed=seed, norm_exact=1.0, cos_sign_drmad=0.9,
                          beta_steps_x10=10 * (seed + 1) + i)
            rows.append(dict(common, T=50, S=10, follow="drmad", norm_drmad=ratio,
                             cos_drmad=cos, cos_drmad2=cos + 0.1 * (seed + 1),
                             test_error=0.10 - 0.01 * (seed + 1) * i))
            rows.append(dict(common, T=50, S=100, follow="drmad", norm_drmad=1e6,
                             cos_drmad=-0.9 if i else 0.9, cos_drmad2=0.0, test_error=0.1))
            rows.append(dict(common, T=50, S=10, follow="drmad2", norm_drmad=1e6,
                             cos_drmad=-1.0, test_error=0.0))
            rows.append(dict(common, T=500, S=10, follow="drmad", norm_drmad=1e6,
                             cos_drmad=-1.0, beta_steps_x10=1e6, test_error=0.0))
            for T, follow, step in ((50, "random", 0.005), (50, "exact", 0.02),
                                    (500, "random", 0.01), (500, "exact", 0.03 * (seed + 1))):
                rows.append(dict(common, T=T, S=10, follow=follow, norm_drmad=1e6,
                                 cos_drmad=0.0, test_error=0.10 - step * i))
    _write(tmp_path, "recorded/cpu/drmad_quality/metaruns.csv", pd.DataFrame(rows))
    # bytes ratios exact/drmad per seed: 5 and 3 -> mean 4 (the ratio of the means is 20/6)
    _write(tmp_path, "recorded/cpu/drmad_quality/cost.csv", pd.DataFrame(dict(
        seed=[0, 0, 0, 1, 1, 1], method=["exact", "drmad", "reverse"] * 2,
        cpu_seconds=[4.0, 1.0, 5.0, 6.0, 3.0, 3.0], stored_bytes=[10, 2, 4000, 9, 3, 6000])))
    shown = bv.substitutions(tmp_path)
    assert shown["drmad_norm_ratio_few_steps"] == "2.76"
    assert shown["drmad_norm_ratio_few_steps_lowest"] == "1"
    assert shown["drmad_norm_ratio_few_steps_highest"] == "7"
    assert shown["drmad_norm_ratio_many_steps"] == "1e+06"
    assert shown["drmad_cosine_few_steps_most_negative"] == "-0.3"
    assert shown["drmad_cosine_few_steps_least_negative"] == "-0.1"
    assert shown["drmad_cosine_many_steps_lowest"] == "-0.9"
    assert shown["drmad2_cosine_gap"] == "0.2"  # per-seed median gaps 0.1, 0.2, 0.3
    assert shown["drmad_test_fall_few_steps"] == "4"  # 2, 4, 6 points over two meta-steps
    assert shown["drmad_test_fall_many_steps"] == "0"
    assert shown["drmad_test_fall_random_signs"] == "1"  # the controls, first horizon
    assert shown["drmad_test_fall_exact_signs"] == "4"
    assert shown["drmad_test_fall_longest"] == "0"  # the longest horizon
    assert shown["drmad_test_fall_random_signs_longest"] == "2"
    assert shown["drmad_test_fall_exact_signs_longest"] == "12"  # 6, 12, 18 points
    assert shown["drmad_beta_steps"] == "18.2"  # first meta-iteration: 10, 20, 30 (geometric)
    assert shown["drmad_exact_memory_ratio"] == "4"
    assert shown["drmad_reverse_memory_ratio"] == "2,000"


def test_cost_values_are_benchmark_ratios_and_the_buffer_over_one_vector(tmp_path):
    bench = pd.DataFrame(dict(method=["drmad", "exact", "reverse"], T=[10000] * 3,
                              cpu_s_best=[2.0, 9.0, 5.0], peak_MB=[4.0, 8.0, 400.0],
                              stored_MB=[None, 3.0, 390.0]))
    _write(tmp_path, "bench/results/hypergrad_cpu_T10000.csv", bench)
    _write(tmp_path, "bench/results/hypergrad_cpu_T200000.csv", bench.assign(T=200000))
    # the buffer over one float64 vector of the 784-50-50-50-10 MLP (44,860 weights, 0.35888 MB)
    runs = pd.DataFrame(dict(T=[20000, 20000, 200000], seed=[0, 1, 0],
                             buffer_MB=[0.35888, 0.71776, 3.5888],
                             growth_near_T=[10.0, 1000.0, 7.0], growth_near_0=[1.0, 4.0, 3.0]))
    _write(tmp_path, "book/recorded/cpu/accumulated_norms/runs.csv", runs)
    shown = {name: value.render(tmp_path / "book") for name, value in VALUES.items()
             if name.startswith(("bench_exact_", "bench_reverse_", "exact_buffer",
                                 "accumulated_growth"))}
    assert shown["bench_exact_time_over_drmad_T10000"] == "4.5"
    assert shown["bench_reverse_time_over_drmad_T10000"] == "2.5"
    assert shown["bench_reverse_memory_over_drmad_T10000"] == "100"
    assert shown["bench_exact_memory_over_drmad_T200000"] == "2"
    assert shown["bench_exact_kept_MB_T200000"] == "3"
    assert shown["exact_buffer_over_drmad_shorter"] == "1.5"  # mean of the two seeds
    assert shown["exact_buffer_over_drmad_longest"] == "10"
    assert shown["accumulated_growth_near_end_shorter"] == "100"  # geometric mean of 10, 1000
    assert shown["accumulated_growth_near_start_shorter"] == "2"
    assert shown["accumulated_growth_near_end_longest"] == "7"


def test_hmtl_lead_is_a_paired_difference_in_points(tmp_path):
    # differences HMTL - NMTL per seed: 1, 2, 3 points -> mean +2
    methods = pd.DataFrame(dict(seed=[0, 0, 1, 1, 2, 2], method=["NMTL", "HMTL"] * 3,
                                test_accuracy=[0.40, 0.41, 0.50, 0.52, 0.30, 0.33]))
    _write(tmp_path, "recorded/cpu/hmtl/methods.csv", methods)
    shown = bv.substitutions(tmp_path)
    assert shown["hmtl_lead_over_nmtl"] == "+2"


def test_benchmark_values_read_the_row_of_their_method_and_horizon(tmp_path):
    table = pd.DataFrame(dict(method=["reverse", "autograd", "reverse"], T=[100, 1000, 1000],
                              x_autograd=[9.0, None, 1.5], MB_per_step=[5.0, 0.99, 0.19]))
    _write(tmp_path, "bench/results/hypergrad_cuda_h100.csv", table)
    (tmp_path / "book").mkdir()
    shown = bv.substitutions(tmp_path / "book")
    assert shown["bench_h100_reverse_x_autograd"] == "1.5"
    assert shown["bench_h100_reverse_mb_per_step"] == "0.19"
    with pytest.raises(ValueError, match="2 rows of {'method': 'reverse'}"):
        bv.cell(table, "x_autograd", method="reverse")


def test_rt_ho_values_read_float64_growth_per_seed_and_float32_errors_by_horizon(tmp_path):
    rows = []
    for seed, factor in ((0, 10.0), (1, 1000.0)):
        for T, scale in ((50, 1.0), (800, factor)):
            rows.append({"seed": seed, "T": T, "precision": "float64",
                         "reverse_norm": 2.0 * scale, "error_vs_float64": 0.0})
            rows.append({"seed": seed, "T": T, "precision": "float32",  # never the growth
                         "reverse_norm": 7.0, "error_vs_float64": 1e-6 * scale * (seed + 1)})
    growth = pd.DataFrame(rows).sample(frac=1, random_state=0)  # order must not matter
    assert compute("rt_ho_growth_lowest", growth) == pytest.approx(10.0)
    assert compute("rt_ho_growth_highest", growth) == pytest.approx(1000.0)
    assert compute("rt_ho_float32_error_shortest", growth) == pytest.approx(2e-6)  # largest at T=50
    assert compute("rt_ho_float32_error_longest", growth) == pytest.approx(1e-5)  # smallest, T=800
    methods = pd.DataFrame({"method": ["Baseline", "RT-HO", "RT-HO", "RT-HO"],
                            "diverged": [True, True, False, True]})
    assert compute("rt_ho_diverged_runs", methods) == 2
    updates = pd.DataFrame({"seed": [0, 0, 0, 1, 1, 1], "step": [40, 20, 60, 20, 40, 60],
                            "hypergradient_norm": [50.0, 2.0, float("nan"), 3.0, 300.0,
                                                   float("inf")]})
    assert compute("rt_ho_update_growth_lowest", updates) == pytest.approx(25.0)  # seed 0: 50 / 2


def test_densenet_values_read_the_drmad_runs_at_equal_epochs(tmp_path):
    rows = [{"init_l2": init, "seed": s, "direction": d, "meta_iteration": i, "epochs": e,
             "test_error": err, "l2_decreased": share}
            for init in (-4.0, -2.0, -7.0) for s, errs in enumerate(
                ([0.70, 0.72, 0.60], [0.71, 0.70, 0.60], [0.69, 0.75, 0.60]))
            for d in ("DrMAD", "random signs")
            for i, (e, err, share) in enumerate(zip((1, 1, 2), errs, (0.0, 0.4 + 0.1 * s,
                                                                       0.5 + 0.1 * s)))]
    meta = pd.DataFrame(rows)
    meta.loc[meta.direction == "random signs", "test_error"] = 0.1  # never read
    assert compute("densenet_equal_epoch_rises", meta) == 2  # meta-iteration 1, not the longer 2
    assert compute("densenet_drmad_seeds", meta) == 3
    assert compute("densenet_first_error_1e2", meta) == pytest.approx(0.70)
    assert compute("densenet_share_decreased_1e7", meta) == pytest.approx(0.6)
    meta["hypergrad_norm"] = 5.0
    first = (meta.init_l2 == -2.0) & (meta.meta_iteration == 0) & (meta.direction == "DrMAD")
    meta.loc[first & (meta.seed == 0), "hypergrad_norm"] = 1e17
    meta.loc[first & (meta.seed == 2), "hypergrad_norm"] = float("nan")
    meta.loc[(meta.init_l2 == -2.0) & (meta.direction == "random signs"),
             "hypergrad_norm"] = float("nan")  # the control's: never read
    meta.loc[(meta.init_l2 == -2.0) & (meta.meta_iteration == 1), "hypergrad_norm"] = 1e30
    assert compute("densenet_nonfinite_first_1e2", meta) == 1
    assert compute("densenet_largest_first_norm_1e2", meta) == pytest.approx(1e17)


def test_stn_lstm_values_read_the_stns_lowest_point_and_the_searches_best_trials():
    progress = pd.DataFrame({  # the STN of seed 0 is lowest at step 200, of seed 1 at 100
        "seed": [0, 0, 0, 0, 1, 1, 1, 0, 0],
        "method": ["STN"] * 7 + ["grid"] * 2,
        "training_steps": [0, 100, 200, 300, 0, 100, 200, 0, 400],
        "best_val_loss": [7.0, 5.5, 5.0, 5.0, 7.0, 6.0, 6.0, 7.0, 4.0]}).sample(frac=1,
                                                                             random_state=0)
    assert compute("stn_lstm_stn_lowest_val_loss", progress) == pytest.approx(5.5)
    assert compute("stn_lstm_stn_lowest_step_latest", progress) == 200
    runs = pd.DataFrame({"seed": [0, 1] * 4,
                         "method": ["STN"] * 2 + ["grid"] * 2 + ["random"] * 2 + ["bayes"] * 2,
                         "val_loss": [6.0, 5.0, 4.0, 4.2, 4.5, 4.7, 3.9, 4.1]})
    assert compute("stn_lstm_stn_final_val_loss", runs) == pytest.approx(5.5)
    assert compute("stn_lstm_search_val_loss_lowest", runs) == pytest.approx(4.0)  # bayes
    assert compute("stn_lstm_search_val_loss_highest", runs) == pytest.approx(4.6)  # random


def test_stn_schedules_values_read_each_stns_lowest_last_and_late_points():
    curves = pd.DataFrame({  # STN seed 0 from 0.3: lowest at 200 (90); seed 0 from 0.9: at 100
        "seed": [0, 0, 0, 0, 0, 0, 0, 0],
        "init": [0.3, 0.3, 0.3, 0.9, 0.9, 0.9, float("nan"), float("nan")],
        "method": ["STN"] * 6 + ["fixed"] * 2,
        "step": [0, 100, 200, 0, 100, 200, 0, 400],
        "val_perplexity": [2000.0, 120.0, 90.0, 2000.0, 110.0, 150.0, 2000.0, 50.0]}).sample(
            frac=1, random_state=0)
    assert compute("stn_schedules_lowest_val_perplexity", curves) == pytest.approx(100.0)
    assert compute("stn_schedules_lowest_step_latest", curves) == 200
    assert compute("stn_schedules_final_val_perplexity", curves) == pytest.approx(120.0)
    schedules = pd.DataFrame({  # the last quarter: steps 300 and 400 of 0..400
        "seed": [0] * 10 + [1] * 10, "init": ([0.3] * 5 + [0.9] * 5) * 2,
        "step": [0, 100, 200, 300, 400] * 4,
        "value": [0.3, 0.9, 0.9, 0.4, 0.5, 0.9, 0.1, 0.1, 0.6, 0.8,
                  0.3, 0.5, 0.5, 0.5, 0.5, 0.9, 0.5, 0.05, 0.2, 0.2]}).sample(frac=1,
                                                                             random_state=1)
    assert compute("stn_schedules_band_low", schedules) == pytest.approx(0.45)
    assert compute("stn_schedules_band_high", schedules) == pytest.approx(0.5)
    assert compute("stn_schedules_highest_start_late_low", schedules) == pytest.approx(0.2)
    assert compute("stn_schedules_highest_start_late_high", schedules) == pytest.approx(0.7)
    assert compute("stn_schedules_highest_start_dip", schedules) == pytest.approx(0.05)


def test_stn_sensitivity_values_average_each_variant_over_seeds_and_read_the_reference():
    runs = pd.DataFrame({
        "seed": [0, 1, 0, 1, 0, 1],
        "study": ["ratios"] * 2 + ["scales"] * 2 + ["reference"] * 2,
        "variant": ["1/1", "1/1", "fixed 0.1", "fixed 0.1", "Bayesian optimization",
                    "Bayesian optimization"],
        "val_loss": [1.8, 1.6, 2.0, 1.9, 1.5, 1.4]})
    assert compute("stn_sensitivity_variant_val_loss_lowest", runs) == pytest.approx(1.7)
    assert compute("stn_sensitivity_variant_val_loss_highest", runs) == pytest.approx(1.95)
    assert compute("stn_sensitivity_bayes_val_loss", runs) == pytest.approx(1.45)


def test_rt_ho_faster_without_divergence_pairs_the_seeds_whose_rt_ho_run_stayed_finite():
    from scipy import stats

    methods = pd.DataFrame({  # seed 3's RT-HO run diverged: its difference (900) is left out
        "seed": [0, 1, 2, 3] * 2, "method": ["Baseline"] * 4 + ["RT-HO"] * 4,
        "best_step": [500, 700, 600, 1000, 300, 400, 500, 100],
        "diverged": [False] * 4 + [False, False, False, True]})
    differences = [200, 300, 100]
    half = stats.t.ppf(0.975, 2) * pd.Series(differences).std() / 3 ** 0.5
    assert compute("rt_ho_finite_runs", methods) == 3
    assert compute("rt_ho_faster_finite_low", methods) == pytest.approx(200 - half)
    assert compute("rt_ho_faster_finite_high", methods) == pytest.approx(200 + half)


def test_front_mlp_values_read_the_longest_horizon_and_the_last_meta_iteration():
    summary = pd.DataFrame({
        "T": [100, 100, 200, 200, 200, 200, 200, 200, 200],
        "method": ["truncated K=10", "exact", "exact", "reverse", "reverse (checkpointed)",
                   "truncated K=10", "DrMAD S=20", "implicit cg 5", "implicit cg 20"],
        "cosine": [0.99, 1.0, 1.0, float("nan"), 1.0, 0.4, 0.6, -0.1, 0.05],
        "x_plain": [1.0, 3.0, 3.5, float("nan"), 4.0, 1.0, 1.0, 1.0, 1.0],
        "MB": [1.0, 2.0, 2.5, float("nan"), 40.0, 1.0, 1.0, 1.0, 1.0]})
    assert compute("front_mlp_longest_T", summary) == 200
    assert compute("front_mlp_best_cosine", summary) == pytest.approx(0.6)  # not T = 100's
    assert compute("front_mlp_best_method", summary) == "DrMAD S=20"
    assert compute("front_mlp_cg_cosine_most", summary) == pytest.approx(0.05)
    assert compute("front_mlp_exact_x_plain", summary) == pytest.approx(3.5)
    assert compute("front_mlp_checkpointed_MB", summary) == pytest.approx(40.0)
    front = pd.DataFrame({"T": [100, 200, 200], "gradient_decades": [3.0, 0.5, 0.9]})
    assert compute("front_mlp_decades_most", front) == pytest.approx(0.9)
    outer = pd.DataFrame({  # each loop ends at meta-iteration 2 (rows shuffled)
        "method": ["initial"] * 2 + ["exact"] * 4 + ["DrMAD S=20"] * 4 + ["implicit cg 20"] * 2,
        "seed": [0, 1] + [0, 0, 1, 1] * 2 + [0, 1],
        "meta_iteration": [0, 0] + [1, 2, 1, 2] * 2 + [2, 2],
        "test_error": [0.08, 0.10, 0.5, 0.04, 0.5, 0.06, 0.5, 0.06, 0.5, 0.08, 0.09, 0.11]}
    ).sample(frac=1, random_state=1)
    assert compute("front_mlp_outer_initial", outer) == pytest.approx(0.09)
    assert compute("front_mlp_outer_exact", outer) == pytest.approx(0.05)
    assert compute("front_mlp_outer_approximations_best", outer) == pytest.approx(0.07)
    assert compute("front_mlp_outer_approximations_worst", outer) == pytest.approx(0.10)
    assert compute("front_mlp_outer_worst_method", outer) == "implicit cg 20"


def test_front_convex_values_read_each_solver_with_its_most_iterations():
    rows = []
    for problem, T, method, error in [
            ("ridge", 100, "implicit cg 100", 0.5),  # not the longest horizon
            ("ridge", 1000, "implicit cg 5", 0.3), ("ridge", 1000, "implicit cg 100", 1e-9),
            ("ridge", 1000, "implicit neumann 100", 0.002),
            ("ridge", 1000, "implicit fixed_point 100", 0.001),
            ("cleaning", 1000, "implicit cg 20", 0.3), ("cleaning", 1000, "implicit cg 100", 0.15),
            ("cleaning", 1000, "closed form", 0.2),
            ("cleaning", 10000, "implicit cg 100", 5e-4),
            ("cleaning", 10000, "implicit neumann 100", 0.46),
            ("cleaning", 10000, "implicit fixed_point 100", 0.5),
            ("cleaning", 10000, "closed form", 7e-4)]:
        rows.append({"problem": problem, "T": T, "method": method, "relative_error": error})
    summary = pd.DataFrame(rows)
    assert compute("front_convex_ridge_cg_error", summary) == pytest.approx(1e-9)  # not cg 5's
    assert compute("front_convex_ridge_implicit_worst", summary) == pytest.approx(0.002)
    assert compute("front_convex_cleaning_cg_error", summary) == pytest.approx(5e-4)
    assert compute("front_convex_cleaning_iterative_best", summary) == pytest.approx(0.46)
    assert compute("front_convex_cleaning_cg_error_1000", summary) == pytest.approx(0.15)
    assert compute("front_convex_cleaning_closed_1000", summary) == pytest.approx(0.2)
    assert compute("front_convex_cleaning_closed_longest", summary) == pytest.approx(7e-4)
    front = pd.DataFrame({"problem": ["ridge"] * 3 + ["cleaning"] * 3,
                          "T": [100, 1000, 1000, 1000, 10000, 10000],
                          "seed": [0, 0, 1, 0, 0, 1],
                          "gradient_decades": [2.0, 16.5, 16.7, 1.5, 4.0, 4.2]})
    assert compute("front_convex_ridge_decades_least", front) == pytest.approx(16.5)
    assert compute("front_convex_cleaning_decades_most", front) == pytest.approx(4.2)


def test_front_convex_outer_values_read_each_loops_last_meta_iteration():
    rows = []
    for problem, method, seed, it, val, test in [
            ("ridge", "initial", 0, 0, 0.45, 0.47), ("ridge", "exact", 0, 1, 0.9, 0.9),
            ("ridge", "exact", 0, 2, 0.30, 0.31), ("ridge", "truncated K=10", 0, 2, 0.32, 0.33),
            ("cleaning", "initial", 0, 0, 0.35, 0.34), ("cleaning", "initial", 1, 0, 0.35, 0.30),
            ("cleaning", "exact", 0, 2, 0.2, 0.22), ("cleaning", "exact", 1, 2, 0.2, 0.24),
            ("cleaning", "exact", 0, 1, 0.2, 0.90),  # not the last meta-iteration
            ("cleaning", "DrMAD S=200", 0, 2, 0.2, 0.25),
            ("cleaning", "truncated K=10", 0, 2, 0.3, 0.27)]:
        rows.append({"problem": problem, "method": method, "seed": seed,
                     "meta_iteration": it, "val_error": val, "test_error": test})
    outer = pd.DataFrame(rows).sample(frac=1, random_state=2)
    assert compute("front_convex_outer_ridge_spread", outer) == pytest.approx(0.02)
    assert compute("front_convex_outer_cleaning_initial", outer) == pytest.approx(0.32)
    assert compute("front_convex_outer_cleaning_best", outer) == pytest.approx(0.23)
    assert compute("front_convex_outer_cleaning_worst", outer) == pytest.approx(0.27)
    assert compute("front_convex_outer_cleaning_second_worst", outer) == pytest.approx(0.25)
    assert compute("front_convex_outer_cleaning_worst_method", outer) == "truncated K=10"
