# %% [markdown]
# # The numbers the engine page quotes from the benchmark
#
# The engine page (`book/engine.md`) quotes these numbers from the tables `hypergrad.py` wrote
# into `results/`; the book computes them at every build (`hpostudy.study.book_values`), each
# named like its function. Nothing here runs a measurement.

# %% tags=["book-values"]
import pandas as pd

from hpostudy.study import book_values


@book_values.project_file("bench/results/hypergrad_cpu.csv")
def bench_cpu_exact_x_plain(table: pd.DataFrame) -> float:
    """hypergrad_cpu.csv (T = 1,000): exact reversal's CPU time over plain PyTorch's
    (``x_plain``)."""
    return book_values.cell(table, "x_plain", method="exact")


@book_values.project_file("bench/results/hypergrad_cpu_T10000.csv")
def bench_cpu_exact_x_plain_long(table: pd.DataFrame) -> float:
    """hypergrad_cpu_T10000.csv (T = 10,000): exact reversal's CPU time over plain PyTorch's
    (``x_plain``)."""
    return book_values.cell(table, "x_plain", method="exact")


@book_values.project_file("bench/results/hypergrad_cpu_T10000.csv")
def bench_cpu_reverse_stored_gb_long(table: pd.DataFrame) -> float:
    """hypergrad_cpu_T10000.csv (T = 10,000): what stored-trajectory reverse mode keeps
    (``stored_MB``), in GB."""
    return book_values.cell(table, "stored_MB", method="reverse") / 1000


@book_values.project_file("bench/results/hypergrad_cuda_h100.csv")
def bench_h100_reverse_x_autograd(table: pd.DataFrame) -> float:
    """hypergrad_cuda_h100.csv (T = 1,000): reverse mode's CPU time over autograd's through
    the unrolled loop (``x_autograd``)."""
    return book_values.cell(table, "x_autograd", method="reverse", T=1000)


@book_values.project_file("bench/results/hypergrad_cuda_h100.csv")
def bench_h100_reverse_mb_per_step(table: pd.DataFrame) -> float:
    """hypergrad_cuda_h100.csv (T = 1,000): reverse mode's peak memory per step
    (``MB_per_step``)."""
    return book_values.cell(table, "MB_per_step", method="reverse", T=1000)


@book_values.project_file("bench/results/hypergrad_cuda_h100.csv")
def bench_h100_autograd_mb_per_step(table: pd.DataFrame) -> float:
    """hypergrad_cuda_h100.csv (T = 1,000): autograd's peak memory per step through the
    unrolled loop (``MB_per_step``)."""
    return book_values.cell(table, "MB_per_step", method="autograd", T=1000)
