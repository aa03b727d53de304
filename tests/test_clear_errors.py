"""Every bad input a user can give the study layer, the template and the book gets an error that
names the knob (or the file) and the fix, before any work; one test per class of bad input."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from torch import nn

from hpostudy import data
from hpostudy.experiments import hypergradients
from hpostudy.study import book_values, cli, provenance, record
from hpostudy.study.project import project_root
from hpostudy.study.executors import env_threads, unit_threads


# ------------------------------------------------------------------ the command line
def test_profile_given_as_a_parameter_names_the_option(capsys):
    assert cli.main(["run", "your_own_model", "-p", "profile=paper"]) == 2
    assert ("-p profile=paper: the profile is not a notebook parameter here (it sets every "
            "knob's default and the output folder); give it as --profile paper"
            in capsys.readouterr().err)


@pytest.mark.parametrize("value", ["0", "-1", "abc", "1.5"])
def test_bad_thread_counts_name_the_variable(monkeypatch, capsys, tmp_path, value):
    monkeypatch.setenv("HPOSTUDY_THREADS", value)
    message = (f"HPOSTUDY_THREADS='{value}' is not a positive whole number of PyTorch threads per "
               "run: set it to 1, 2, ...")
    with pytest.raises(ValueError, match=message.replace(".", r"\.").replace("(", r"\(")):
        unit_threads()
    assert cli.main(["run", "parameter_paths", "--no-notebook", "-p", "epochs=1", "-p",
                     f"output_dir={tmp_path}"]) == 2
    assert message in capsys.readouterr().err


def test_unset_or_good_thread_counts(monkeypatch):
    monkeypatch.setenv("HPOSTUDY_THREADS", "")
    assert env_threads() is None and env_threads(3) == 3 and unit_threads() == 1
    monkeypatch.setenv("HPOSTUDY_THREADS", " 2 ")
    assert env_threads(3) == 2


def test_recording_a_notebook_that_has_no_results_names_it(tmp_path):
    (tmp_path / "smoke" / "results" / "parameter_paths").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r"--only nosuchnotebook: no results in .*results "
                                                r"\(results there: parameter_paths\); run "
                                                r"`hpostudy run NAME --profile smoke`"):
        record.record_results("smoke", ["nosuchnotebook"], build=tmp_path,
                              target=tmp_path / "recorded")
    assert not (tmp_path / "recorded").exists()


# ------------------------------------------------------------------ the template's knobs
@pytest.mark.parametrize("dataset", ["mnist", "nosuch"])
def test_the_template_lists_its_datasets_and_the_loader_form(dataset):
    with pytest.raises(ValueError, match=rf"dataset '{dataset}' is not a table of features: choose "
                                         r"one of digits, wine, breast_cancer, iris, or your own "
                                         r"loader as 'module:function' returning \(X, y\)"):
        hypergradients.Config.for_profile("smoke", dataset=dataset)


def test_an_unknown_dataset_lists_every_name_and_the_loader_form():
    with pytest.raises(ValueError, match=r"unknown dataset 'nosuch': choose one of digits, "
                                         r"generated, mnist, cifar10, ptb, a table of features "
                                         r"\(wine, breast_cancer, iris\), or your own loader as "
                                         r"'module:function'"):
        data.require("nosuch")


def test_a_zero_learning_rate_is_refused_before_any_work():
    with pytest.raises(ValueError, match=r"lr=0 leaves the weights where they start, .* every "
                                         r"hypergradient is 0: give a positive lr"):
        hypergradients.Config.for_profile("smoke", lr=0.0)


@pytest.mark.parametrize("knobs,message", [
    ({"n_val": 1.5}, r"n_val must be a share in \[0, 1\) or a whole count of examples, got 1.5"),
    ({"n_val": 0}, r"n_val=0 leaves no validation examples"),
    ({"momentum": 0.0}, r"momentum must be in \(0, 1\), got 0.0: exact reversal divides by it"),
    ({"methods": "reverse"}, r"parameter 'methods' of 'hypergradients' must be a list of str, got "
                             r"str 'reverse'; write a list, e.g. -p \"methods=\['reverse'\]\""),
])
def test_template_knobs_are_checked_before_any_work(knobs, message):
    with pytest.raises(ValueError, match=message):
        hypergradients.Config.for_profile("smoke", **knobs)


def test_rejudging_an_unknown_recording_lists_the_recorded_ones(capsys):
    assert cli.main(["rejudge", "--profile", "nosuch"]) == 2
    assert "--profile names a folder of book/recorded/ (cpu" in capsys.readouterr().err


# ------------------------------------------------------------------ a dataset loader's (X, y)
RNG = np.random.default_rng(0)
X = RNG.normal(size=(60, 4))
Y = np.arange(60) % 3


def lengths():
    return X, Y[:50]


def string_labels():
    return X, np.array(["cat", "dog", "eel"])[Y]


def float_labels():
    return X, Y + 0.5


def labels_with_gaps():
    return X, Y * 2


def one_class():
    return X, np.zeros(60, dtype=int)


def nan_features():
    x = X.copy()
    x[3, 1] = np.nan
    return x, Y


def column_labels():
    return X, Y[:, None]


def no_examples():
    return X[:0], Y[:0]


def raises():
    raise OSError("the share is not mounted")


def needs_an_argument(path):
    return X, Y


def string_features():
    return np.full((60, 4), "a"), Y


def ragged_features():
    return [[1.0, 2.0], [3.0]] * 30, Y


def three_values():
    return X, Y, Y


def whole_float_labels():
    return X, Y.astype(float)


def tensors():
    return torch.tensor(X), torch.tensor(Y)


@pytest.mark.parametrize("loader,message", [
    ("lengths", r"X has 60 rows but y has 50 labels; return one label per row"),
    ("string_labels", r"labels must be whole numbers 0..K-1, got <U3 \(e.g. 'cat'\); encode "
                      r"them, e.g. y = numpy.unique\(y, return_inverse=True\)\[1\]"),
    ("float_labels", r"labels must be whole numbers 0..K-1 \(classes\), got 0.5: these datasets "
                     r"are for classification"),
    ("labels_with_gaps", r"labels must be 0..K-1 with every class present; of 0..4, 1, 3 never "
                         r"occur. Renumber them: y = numpy.unique"),
    ("one_class", r"all labels are 0; a classifier needs at least 2 classes"),
    ("nan_features", r"X has 1 NaN or infinite entries \(the first at row 3, column 1\); drop "
                     r"or impute them"),
    ("column_labels", r"y be a vector of labels; got X of shape \(60, 4\) and y of shape "
                      r"\(60, 1\) \(use y.ravel\(\)\)"),
    ("no_examples", r"the loader returned no examples"),
    ("raises", r"calling it raised OSError: the share is not mounted \(a dataset loader is "
               r"called without arguments and returns \(X, y\)\)"),
    ("needs_an_argument", r"calling it raised TypeError: .*missing 1 required positional "
                          r"argument: 'path'"),
    ("string_features", r"X must be an array of numbers, one row of features per example"),
    ("ragged_features", r"X must be an array of numbers, one row of features per example"),
    ("three_values", r"must return \(X, y\), got tuple of 3"),
])
def test_a_bad_dataset_loader_is_named_with_the_fix(loader, message):
    with pytest.raises((ValueError, TypeError), match=rf"dataset 'tests.test_clear_errors:"
                                                      rf"{loader}'.*{message}"):
        data.load_table(f"tests.test_clear_errors:{loader}")


@pytest.mark.parametrize("loader", ["whole_float_labels", "tensors"])
def test_good_loaders_still_load(loader):
    splits = data.load_table(f"tests.test_clear_errors:{loader}")
    assert splits.num_classes == 3 and splits.sizes() == {"train": 30, "val": 15, "test": 15}


@pytest.mark.parametrize("kwargs,message", [
    ({"n_val": 0}, r"n_val=0 leaves no validation examples"),
    ({"n_val": -0.1}, r"n_val must be a share in \[0, 1\) or a whole count of examples, got -0.1"),
    ({"n_test": 2.5}, r"n_test must be a share in \[0, 1\) or a whole count of examples, got 2.5"),
    ({"n_val": 0.9, "n_test": 0.5}, r"wine: asked for 251 validation\+test \(\+2 training\) "
                                    r"examples but only 178 exist"),
])
def test_bad_split_sizes(kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.load_table("wine", **kwargs)


# ------------------------------------------------------------------ a model for the template
class Good(nn.Module):
    def __init__(self, n_inputs, n_classes):
        super().__init__()
        self.layer = nn.Linear(n_inputs, n_classes)

    def forward(self, x):
        return self.layer(x)


class NeedsWidth(Good):
    def __init__(self, n_inputs, n_classes, width):
        super().__init__(n_inputs, n_classes)


class TwoMoreOutputs(Good):
    def __init__(self, n_inputs, n_classes):
        super().__init__(n_inputs, n_classes + 2)


class Float32Tensor(nn.Module):
    """A weight kept as a plain attribute: ``.double()`` leaves it in float32."""

    def __init__(self, n_inputs, n_classes):
        super().__init__()
        self.weight = torch.zeros(n_inputs, n_classes, requires_grad=True)

    def forward(self, x):
        return x @ self.weight


class Float32Scores(Good):
    def forward(self, x):
        return self.layer(x).float()


class ReturnsPair(Good):
    def forward(self, x):
        return self.layer(x), x


@pytest.mark.parametrize("builder,error,message", [
    (NeedsWidth, TypeError, r"model NeedsWidth: building it as NeedsWidth\(n_inputs=4, "
                            r"n_classes=3\) raised TypeError: .*'width'. The template builds every "
                            r"model from these two numbers: give other arguments defaults"),
    (lambda n_inputs, n_classes: "net", TypeError, r"must return a torch.nn.Module, got str"),
    (TwoMoreOutputs, ValueError, r"model TwoMoreOutputs gives outputs of shape \(2, 5\) for 2 "
                                 r"examples; it must give one score per class, shape \(2, 3\): "
                                 r"build its last layer with n_classes outputs"),
    (Float32Tensor, ValueError, r"model Float32Tensor fails on a float64 batch of shape \(2, 4\): "
                                r".*register its tensors as nn.Parameter or buffers"),
    (Float32Scores, TypeError, r"model Float32Scores returns torch.float32 scores from float64 "
                               r"inputs"),
    (ReturnsPair, TypeError, r"model ReturnsPair must return a tensor of class scores, got tuple"),
])
def test_a_bad_model_is_named_with_the_fix_before_any_work(builder, error, message):
    with pytest.raises(error, match=message):
        hypergradients.fingerprint(builder, 4, 3)
    assert len(hypergradients.fingerprint(Good, 4, 3)) == 16


# ------------------------------------------------------------------ recorded files of the book
def a_recorded_value():
    """A book value whose recorded file (in book/recorded) exists in the project, and that file."""
    for name, value in book_values.values().items():
        if value.file.startswith("recorded/") and (project_root() / "book" /
                                                   value.file).exists():
            return name, value
    pytest.skip("no recorded file of a book value in book/")


@pytest.mark.parametrize("spoil", ["rename", "non_number"])
def test_a_spoilt_recorded_table_names_its_file_and_the_fix(tmp_path, spoil):
    name, value = a_recorded_value()
    copy = tmp_path / value.file
    copy.parent.mkdir(parents=True)
    shutil.copy(project_root() / "book" / value.file, copy)
    lines = copy.read_text().splitlines()
    if spoil == "rename":
        lines[0] = ",".join(f"renamed_{c}" for c in lines[0].split(","))
    else:
        lines[1:] = [",".join("not a number" for _ in line.split(",")) for line in lines[1:]]
    copy.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=rf"{copy}: the book value '{name}' cannot be computed "
                                         r"from it .* record the run again"):
        value.render(tmp_path)


def test_a_truncated_recorded_meta_json_names_its_file(tmp_path):
    meta = tmp_path / "recorded" / "cpu" / "parameter_paths" / "meta.json"
    meta.parent.mkdir(parents=True)
    meta.write_text(json.dumps({"settings": {"profile": "cpu"}, "device": "cpu"})[:20])
    with pytest.raises(ValueError, match=rf"{meta} is not a finished run's metadata \("
                                         r"JSONDecodeError: .*record the run again"):
        provenance.runs(tmp_path, ["parameter_paths"])
    meta.write_text(json.dumps({"settings": {"profile": "cpu"}, "device": "cpu"}))
    with pytest.raises(ValueError, match=r"is not a finished run's metadata \(KeyError: 'torch'"):
        provenance.runs(tmp_path, ["parameter_paths"])


# ------------------------------------------------------------------ library building blocks
def test_bad_model_sizes_batch_sizes_and_wrapped_objects():
    from hpostudy.models import MLP, FlatModel

    for sizes in [(0, (4,), 10), (64, (0,), 10), (64, (4,), 2.5)]:
        with pytest.raises(ValueError, match="an MLP needs positive integer layer sizes"):
            MLP(*sizes)
    with pytest.raises(TypeError, match="FlatModel wraps a torch.nn.Module, got str"):
        FlatModel("mlp")
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 2.5"):
        data.BatchStream(100, 2.5)
    assert data.BatchStream(100, np.int64(10)).indices(0).numel() == 10
