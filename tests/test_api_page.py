"""The API reference page (book/api.md): it documents the six library modules through Sphinx
autodoc, renders with no warning in nitpicky mode, and the public functions and classes of
the modules it documents have docstrings a reader can use (Args and Returns)."""
from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "book" / "api.md"
MODULES = ["hpostudy.hypergrad", "hpostudy.dynamics", "hpostudy.hyper", "hpostudy.problems",
           "hpostudy.metaopt", "hpostudy.verdicts"]
CHECKED = ["hpostudy.hypergrad", "hpostudy.dynamics", "hpostudy.verdicts", "hpostudy.hyper",
           "hpostudy.problems", "hpostudy.metaopt"]


def test_the_page_documents_each_module_and_is_in_the_reference_part():
    documented = re.findall(r"\.\. automodule:: (\S+)", PAGE.read_text())
    assert documented == MODULES
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    reference = next(p for p in toc["parts"] if p["caption"] == "Reference")
    assert {"file": "book/api"} in reference["chapters"]
    config = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]
    assert {"sphinx.ext.autodoc", "sphinx.ext.napoleon"} <= set(config["extra_extensions"])


def _public(module):
    """``(name, function, skips_self)`` for every public function and method of ``module``'s
    public functions and classes, and ``(name, class)`` for its classes."""
    names = getattr(module, "__all__", None) or [
        n for n, o in vars(module).items() if not n.startswith("_")
        and getattr(o, "__module__", None) == module.__name__
        and (inspect.isfunction(o) or inspect.isclass(o))]
    functions, classes = [], []
    for name in names:
        obj = getattr(module, name)
        if inspect.isfunction(obj):
            functions.append((name, obj, False))
        elif inspect.isclass(obj):
            classes.append((name, obj))
            for member, value in vars(obj).items():
                if member.startswith("_"):
                    continue
                if isinstance(value, property):
                    functions.append((f"{name}.{member}", value.fget, True))
                elif isinstance(value, (staticmethod, classmethod)):
                    functions.append((f"{name}.{member}", value.__func__,
                                      isinstance(value, classmethod)))
                elif inspect.isfunction(value):
                    functions.append((f"{name}.{member}", value, True))
    return functions, classes


def _returns_a_value(fn) -> bool:
    """Whether the body of ``fn`` (not of functions nested in it) returns or yields a value."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn))).body[0]

    def visit(node) -> bool:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda,
                                  ast.ClassDef)):
                continue
            if isinstance(child, (ast.Yield, ast.YieldFrom)):
                return True
            if (isinstance(child, ast.Return) and child.value is not None
                    and not (isinstance(child.value, ast.Constant) and child.value.value is None)):
                return True
            if visit(child):
                return True
        return False

    return visit(tree)


def _lacks(name: str, fn, skips_self: bool) -> list[str]:
    doc = fn.__doc__
    if not doc or not doc.strip():
        return [f"{name}: no docstring"]
    missing = []
    params = list(inspect.signature(fn).parameters)[1 if skips_self else 0:]
    if params and "Args:" not in doc:
        missing.append(f"{name}: no Args section")
    if _returns_a_value(fn) and "Returns:" not in doc and "Yields:" not in doc:
        missing.append(f"{name}: no Returns section")
    return missing


@pytest.mark.parametrize("module_name", CHECKED)
def test_every_public_function_and_class_has_args_and_returns(module_name):
    module = importlib.import_module(module_name)
    functions, classes = _public(module)
    assert functions and classes
    missing = []
    for name, cls in classes:
        doc = cls.__doc__ or ""
        if not doc.strip() or doc.startswith(f"{cls.__name__}("):  # dataclass's generated one
            missing.append(f"{name}: no docstring")
        elif dataclasses.is_dataclass(cls) and dataclasses.fields(cls):
            if "Attributes:" not in doc and "Args:" not in doc:
                missing.append(f"{name}: no Attributes section")
        elif "__init__" in vars(cls) and len(inspect.signature(cls.__init__).parameters) > 1:
            if "Args:" not in doc:
                missing.append(f"{name}: no Args section")
    for name, fn, skips_self in functions:
        missing += _lacks(name, fn, skips_self)
    assert not missing, "\n".join(missing)


def test_the_page_renders_with_no_warning(tmp_path):
    """A book of the API page alone, built as `hpostudy book` builds (-W -n --keep-going)."""
    exe = Path(sys.executable).parent / "jupyter-book"
    if not exe.exists():
        pytest.skip("jupyter-book is not installed in this environment")
    shutil.copytree(ROOT / "book", tmp_path / "book",
                    ignore=shutil.ignore_patterns("generated", "recorded"))
    shutil.copy(ROOT / "_config.yml", tmp_path)
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/api\n")
    done = subprocess.run([str(exe), "build", str(tmp_path), "--path-output", str(tmp_path),
                           "--toc", str(tmp_path / "_toc.yml"), "-W", "-n", "--keep-going"],
                          capture_output=True, text=True, cwd=tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "WARNING" not in output, output[-4000:]
    html = (tmp_path / "_build" / "html" / "book" / "api.html").read_text()
    for name in ("hpostudy.hypergrad.reverse", "hpostudy.verdicts.t_interval",
                 "hpostudy.hyper.HyperSpace", "hpostudy.problems.ClassificationTask",
                 "hpostudy.dynamics.SGDMomentum", "hpostudy.metaopt.ProjectedAdam"):
        assert f'id="{name}"' in html, name


def test_no_docstring_holds_a_control_character():
    """Math in a docstring that is not a raw string loses its backslashes to Python's escapes
    (``\\theta`` becomes a tab and 'heta'), and the page then shows 'Math input error'."""
    import ast

    spoilt = []
    for path in sorted((ROOT / "hpostudy").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node, clean=False) or ""
                if any(c in doc for c in "\x07\x08\t\x0b\x0c\r"):
                    spoilt.append(f"{path.relative_to(ROOT)}: {getattr(node, 'name', 'module')}")
    assert not spoilt, "docstrings with math need r\"\"\"...\"\"\":\n" + "\n".join(spoilt)
