"""The notebooks of the study: for each, its experiment configuration, the figures it draws and
the chapter it belongs to. ``hpostudy list`` prints this; the CLI validates parameters against
the configuration before running anything; a test keeps it in sync with ``notebooks/``."""
from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module


@dataclass(frozen=True)
class Notebook:
    name: str  # file notebooks/<name>.py
    experiment: str  # module in hpostudy.experiments holding Config and run
    figures: tuple[str, ...]  # PNG files it writes (without .png)
    tables: tuple[str, ...]  # CSV files it writes (without .csv)
    chapter: str
    title: str
    draw: str  # function of hpostudy.figures drawing its figures from run()'s results

    @property
    def module(self):
        return import_module(f"hpostudy.experiments.{self.experiment}")

    @property
    def config(self):
        return self.module.Config

    def run_directly(self, cfg) -> dict:
        """Run the experiment and draw its figures without Jupyter (what the notebook does)."""
        from . import figures

        results = self.module.run(cfg)
        getattr(figures, self.draw)(results, cfg.output_dir)
        return results


NOTEBOOKS = {
    nb.name: nb for nb in [
        Notebook("parameter_paths", "paths", ("fig2_1", "fig2_2"), ("paths", "comparison"),
                 "parameter_paths", "Parameter paths of a small CNN (thesis Figs 2.1, 2.2)",
                 "parameter_paths"),
        Notebook("dropout_seed", "dropout_seed", ("fig2_3",), ("distances", "comparison"),
                 "drmad_quality", "Symmetry and the dropout seed (thesis Fig 2.3)", "dropout_seed"),
        Notebook("drmad_quality", "drmad_quality", ("fig3_1", "fig3_2", "fig3_3"),
                 ("metaruns", "comparison"), "drmad_quality",
                 "DrMAD vs exact hypergradients (thesis Figs 3.1-3.3)", "drmad_quality"),
        Notebook("accumulated_norms", "accumulated", ("fig3_4", "fig3_5"),
                 ("accumulated", "runs", "comparison"), "drmad_quality",
                 "Accumulated exact hypergradient norms (thesis Figs 3.4, 3.5)",
                 "accumulated_norms"),
        Notebook("reversal_precision", "reversal", ("fig3_6",), ("reverse_path", "comparison"),
                 "drmad_quality", "Reversal with and without exact arithmetic (thesis Fig 3.6)",
                 "reversal"),
        Notebook("densenet_benchmark", "densenet_benchmark", ("fig3_7",),
                 ("benchmark", "comparison"), "densenet",
                 "DenseNet benchmark (thesis Fig 3.7)", "densenet_benchmark"),
        Notebook("densenet_drmad", "densenet_drmad",
                 ("fig3_8", "fig3_9", "fig3_10", "fig3_11", "fig3_12", "fig3_13", "fig3_14"),
                 ("meta_iterations", "during_training", "layer_l2", "status", "comparison"),
                 "densenet", "DrMAD on the DenseNet (thesis Figs 3.8-3.14)", "densenet_drmad"),
        Notebook("densenet_adaptive", "densenet_adaptive",
                 ("fig3_15", "fig3_16", "fig3_17", "fig3_18", "fig3_19", "fig3_20"),
                 ("errors", "layer_hyperparameters", "comparison"), "densenet",
                 "The adaptive method on the DenseNet (thesis Figs 3.15-3.20)", "densenet_adaptive"),
        Notebook("densenet_exact", "densenet_exact", ("fig_densenet_exact",),
                 ("exact_vs_drmad", "comparison"), "densenet",
                 "Exact vs DrMAD hypergradients for the DenseNet (beyond the thesis)",
                 "densenet_exact"),
        Notebook("stn_schedules", "stn_schedules", ("fig_stn_dropout_schedules",),
                 ("schedules", "curves", "methods", "comparison"), "stn",
                 "STN dropout schedules from several starts", "stn_schedules"),
        Notebook("stn_lstm", "stn_lstm", ("fig_stn_lstm_schedules", "fig_stn_lstm_time"),
                 ("methods", "progress", "schedule", "curve", "comparison"), "stn",
                 "STN vs black-box search: LSTM, seven hyperparameters", "stn_lstm"),
        Notebook("stn_cnn", "stn_cnn", ("fig_stn_cnn_schedules", "fig_stn_cnn_time"),
                 ("methods", "progress", "schedule", "curve", "comparison"), "stn",
                 "STN vs black-box search: CNN, dropout and augmentation", "stn_cnn"),
        Notebook("stn_sensitivity", "stn_sensitivity", ("fig_stn_sensitivity",),
                 ("curves", "finals", "comparison"), "stn",
                 "STN sensitivity: step ratio and perturbation scale", "stn_sensitivity"),
    ]
}


def get(name: str) -> Notebook:
    if name not in NOTEBOOKS:
        raise ValueError(f"unknown notebook '{name}': choose from {', '.join(NOTEBOOKS)} "
                         "(see `hpostudy list`)")
    return NOTEBOOKS[name]
