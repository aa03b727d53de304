"""The DenseNet chapter's per-epoch evaluation (hpostudy.settings.densenet.evaluate): one forward
pass per split gives the task's full-set errors and losses, and the cycling batches' errors are
those of a forward pass over each batch alone, on CPU (chunks, channels-last) as elsewhere."""
from __future__ import annotations

import pytest
import torch

from hpostudy.experiments import densenet_benchmark
from hpostudy.hyper import Group
from hpostudy.problems import evaluation
from hpostudy.settings import densenet as setting


def tiny_task(eval_batch: int):
    cfg = densenet_benchmark.Config.for_profile("smoke", n_train=200, n_val=90, growth=2,
                                                first=2, batch_size=16, eval_batch=eval_batch)
    splits = setting.load_splits(cfg, 0, cfg.n_val)
    task, w0, space = setting.build(cfg, lambda m: [Group(
        "l2", "log10_l2", "scalar", -4.0, params=setting.weight_names(m))], splits, 0)
    w = w0 + 0.05 * torch.randn(w0.shape, generator=torch.Generator().manual_seed(1))
    return task, w, space.init()


def batch_error(task, w, theta, x, y, k):
    """The k-th cycling batch's error from a forward pass over that batch alone."""
    n = min(task.eval_batch, len(y))
    start = (k * n) % max(len(y) - n + 1, 1)
    with torch.no_grad(), evaluation(task.model.module):
        logits = task.model(task.weights(w, theta), x[start:start + n])
    return float((logits.argmax(1) != y[start:start + n]).float().mean())


@pytest.mark.parametrize("chunk_values", [setting.CPU_CHUNK_VALUES, 64 * 7])
def test_evaluate_agrees_with_the_task_errors_and_the_batches_alone(monkeypatch, chunk_values):
    # 64 * 7 values: chunks of 7 digits, which split every set unevenly
    monkeypatch.setattr(setting, "CPU_CHUNK_VALUES", chunk_values)
    task, w, theta = tiny_task(eval_batch=40)
    s = task.splits
    for k in (0, 1, 5):
        got = setting.evaluate(task, w, theta, k)
        full = task.errors(w, theta)  # the same batch-norm statistics, chunks of eval_batch
        assert list(got) == list(full) + [f"{n}_error_batch" for n in ("train", "val", "test")]
        for key, value in full.items():
            if key.endswith("_error"):
                assert got[key] == value, key
            else:
                assert got[key] == pytest.approx(value, rel=1e-6), key
        for name, x, y in (("train", s.x_train, s.y_train), ("val", s.x_val, s.y_val),
                           ("test", s.x_test, s.y_test)):
            assert got[f"{name}_error_batch"] == batch_error(task, w, theta, x, y, k), (name, k)


def test_a_training_sample_is_evaluated_on_its_images_only():
    # the benchmark's train_sample: the training error of the first n images, the other splits
    # as before; a wrong slice (or none) gives a different error on these weights
    task, w, theta = tiny_task(eval_batch=40)
    s, n = task.splits, 50
    got = setting.evaluate(task, w, theta, 1, train_sample=n)
    full = setting.evaluate(task, w, theta, 1)
    with torch.no_grad(), evaluation(task.model.module):
        setting.evaluate(task, w, theta, 1)  # the same batch-norm statistics
        logits = task.model(task.weights(w, theta), s.x_train[:n])
    assert got["train_error"] == float((logits.argmax(1) != s.y_train[:n]).float().mean())
    assert got["train_error_batch"] == batch_error(task, w, theta, s.x_train[:n],
                                                   s.y_train[:n], 1)
    for key in ("val_error", "val_loss", "test_error", "test_loss", "val_error_batch"):
        assert got[key] == full[key], key
