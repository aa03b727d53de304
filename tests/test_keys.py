"""Keys of results: an experiment's results depend on its settings and on the code it imports
(:func:`hpostudy.store.dependency_digest`), so an edit elsewhere in the library keeps a long
run's key and an edit of what it computes with starts it afresh."""
from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

from hpostudy import store
from hpostudy.experiments import drmad_quality
from hpostudy.store import keys
from hpostudy.study.experiment_run import Run

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = sorted(p.stem for p in (store.PACKAGE_DIR / "experiments").glob("*.py")
                     if p.stem != "__init__")


@pytest.fixture
def fresh_digests():
    """The digests are cached per process: computed afresh before and after the test."""
    caches = (store.dependencies, store.dependency_digest, store.code_digest)
    for cached in caches:
        cached.cache_clear()
    yield
    for cached in caches:
        cached.cache_clear()


def edited(monkeypatch, relative: str) -> None:
    """Make the package read ``relative`` (a path below the package) with one more statement."""
    real = keys._read_source

    def read(path: str) -> bytes:
        source = real(path)
        return source + b"\n_AN_EDIT = 1\n" if path == relative else source

    monkeypatch.setattr(keys, "_read_source", read)  # where dependencies() reads it
    for cached in (store.dependencies, store.dependency_digest):
        cached.cache_clear()


def run_key(tmp_path) -> str:
    cfg = drmad_quality.Config.for_profile("smoke", output_dir=str(tmp_path / "out"))
    return Run(cfg).key


@pytest.mark.parametrize("relative", ["figures/helpers.py", "figures/__init__.py",
                                      "verdicts/rules.py", "study/experiment_run.py",
                                      "store/keys.py", "store/__init__.py",
                                      "experiments/stn_cnn.py", "experiments/rt_ho.py",
                                      "stn/train.py", "multitask.py", "progress.py"])
def test_editing_presentation_or_another_chapter_keeps_a_runs_key(relative, tmp_path,
                                                                   monkeypatch, fresh_digests):
    assert (store.PACKAGE_DIR / relative).is_file()
    before = run_key(tmp_path)
    edited(monkeypatch, relative)
    assert run_key(tmp_path) == before


@pytest.mark.parametrize("relative", ["hypergrad/drmad.py", "hypergrad/__init__.py",
                                      "hypergrad/reverse.py", "settings/mnist_mlp.py",
                                      "experiments/drmad_quality.py", "dynamics/sgd.py",
                                      "models/mlp.py", "metaopt/loop.py", "__init__.py"])
def test_editing_code_the_experiment_imports_changes_its_key(relative, tmp_path, monkeypatch,
                                                             fresh_digests):
    before = run_key(tmp_path)
    edited(monkeypatch, relative)
    assert run_key(tmp_path) != before


def test_a_configuration_outside_the_package_is_keyed_by_what_its_file_imports(monkeypatch,
                                                                               fresh_digests):
    """This test module imports drmad_quality: its digest follows hypergrad, not figures; a
    module without a file (a Jupyter kernel's) is keyed by the whole library."""
    before = store.experiment_digest(__name__)
    edited(monkeypatch, "figures/helpers.py")
    assert store.experiment_digest(__name__) == before
    edited(monkeypatch, "hypergrad/drmad.py")
    assert store.experiment_digest(__name__) != before
    monkeypatch.setitem(sys.modules, "kernel_main", types.ModuleType("kernel_main"))
    assert store.experiment_digest("kernel_main") == store.code_digest()


def test_imports_are_resolved_relative_absolute_nested_and_through_packages(tmp_path,
                                                                            monkeypatch):
    """A made-up package: every form of import is followed, presentation modules are not, and
    a module nobody imports is not a dependency."""
    package = tmp_path / store.PACKAGE_DIR.name
    files = {
        "__init__.py": "",
        "experiments/__init__.py": "",
        "experiments/exp.py": "from __future__ import annotations\n"
                              "from .. import engine as e\nfrom ..settings.base import Setting\n"
                              "from ..figures import plot\nfrom .. import verdicts\n"
                              "def later():\n    import hpostudy.lazy\n",
        "engine/__init__.py": "from . import method\n",
        "engine/method.py": "from .. import numerics\n",
        "engine/unused.py": "",
        "numerics.py": "import torch\n",
        "settings/__init__.py": "",
        "settings/base.py": "from ..study.config import Base\nclass Setting(Base): pass\n",
        "lazy.py": "",
        "figures/__init__.py": "from .. import unused_but_by_figures\n",
        "unused_but_by_figures.py": "",
        "verdicts/__init__.py": "",
        "study/config.py": "from .. import only_by_study\nclass Base: pass\n",
        "only_by_study.py": "",
    }
    for relative, text in files.items():
        (package / relative).parent.mkdir(parents=True, exist_ok=True)
        (package / relative).write_text(text)
    monkeypatch.setattr(keys, "PACKAGE_DIR", package)
    store.dependencies.cache_clear()
    try:
        found = store.dependencies(f"{package.name}.experiments.exp")
    finally:
        store.dependencies.cache_clear()
    assert found == ("__init__.py", "engine/__init__.py", "engine/method.py",
                     "experiments/__init__.py", "experiments/exp.py", "lazy.py", "numerics.py",
                     "settings/__init__.py", "settings/base.py")
    with pytest.raises(ValueError, match="not a module of the"):
        store.dependencies("numpy.linalg")


# Every module an experiment loads when imported, in a fresh interpreter (what Python itself
# resolves), package-relative paths: the static dependencies must hold all of them.
LOADED = """
import importlib, json, sys
from hpostudy.store import keys
loaded = {}
for name in sys.argv[1:]:
    for module in [m for m in sys.modules if m.split(".")[0] == "hpostudy"]:
        del sys.modules[module]
    importlib.import_module("hpostudy.experiments." + name)
    loaded[name] = sorted(filter(None, (keys._module_file(m) for m in sys.modules
                                        if m.split(".")[0] == "hpostudy")))
print(json.dumps(loaded))
"""


def test_every_experiment_depends_on_what_it_loads_and_never_on_figures():
    done = subprocess.run([sys.executable, "-c", LOADED, *EXPERIMENTS], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    loaded = json.loads(done.stdout)
    for name in EXPERIMENTS:
        found = set(store.dependencies(f"hpostudy.experiments.{name}"))
        numeric = {f for f in loaded[name] if not keys._is_presentation(f)}
        assert numeric <= found, f"{name} loads {sorted(numeric - found)} unseen by the digest"
        uses_hypergrad = "hypergrad/__init__.py" in loaded[name]
        assert uses_hypergrad == ("hypergrad/__init__.py" in found), name
        assert not any(f.startswith(("figures/", "study/", "verdicts/")) for f in found), name
    assert "hypergrad/__init__.py" in store.dependencies("hpostudy.experiments.drmad_quality")


def test_docstrings_comments_layout_and_imports_keep_the_code_and_a_token_changes_it():
    code = (b'"""Module."""\nimport math\n__all__ = ["f"]\n\n\ndef f(x):\n'
            b'    r"""Sum :math:`\\theta`\n    over two lines."""\n    return x + 1  # one\n')
    edited = (code.replace(b"Sum :math:", b"The sum :math:").replace(b"Module.", b"Mod.")
              .replace(b"# one", b"# the first").replace(b"x + 1", b"x+1")
              .replace(b"import math", b"import math, os").replace(b'["f"]', b'["f", "g"]'))
    assert store.code_statements(edited) == store.code_statements(code)
    assert store.code_statements(code) == ["def f ( x ) : \n INDENT return x + 1 \n DEDENT"]
    assert store.code_statements(code.replace(b"x + 1", b"x + 2")) != \
        store.code_statements(code)
    assert store.code_statements(b"def broken(:\n") == ["def broken(:\n"]


def test_moving_a_definition_to_another_module_keeps_the_digest(tmp_path, monkeypatch):
    """A module split into two (a package's refactoring) computes the same: same digest."""
    (tmp_path / "whole.py").write_text("A = 2\n\n\ndef f(x):\n    return A * x\n")
    (tmp_path / "one.py").write_text("A = 2\n")
    (tmp_path / "two.py").write_text("from .one import A\n\n\ndef f(x):\n    return A * x\n")
    (tmp_path / "other.py").write_text("A = 3\n\n\ndef f(x):\n    return A * x\n")
    monkeypatch.setattr(keys, "PACKAGE_DIR", tmp_path)
    assert keys._sources_digest(["whole.py"]) == keys._sources_digest(["one.py", "two.py"])
    assert keys._sources_digest(["whole.py"]) != keys._sources_digest(["other.py"])
