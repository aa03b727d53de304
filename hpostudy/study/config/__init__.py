"""An experiment's configuration: the one place where a knob and its values per profile live.

A subclass of :class:`ExperimentConfig` declares each knob as a dataclass field (with a comment)
and gives ``PRESETS``, the values that differ per profile. Everything else reads the knobs from
there: the notebook's ``parameters`` cell is papermill's view of the same names, written
from them by ``hpostudy cells`` (:mod:`hpostudy.study.cells`; a test keeps the two in sync),
the CLI checks ``-p KEY=VALUE`` against them, and :meth:`for_profile` is the single validation
-- unknown names, wrong types, sizes that must be positive, values outside a knob's choices, a
check of several knobs -- raising :class:`ParameterError`, called alike by the CLI once before
any work and by the notebook itself (bare papermill included, through :meth:`from_notebook`).

Building a configuration has no side effects: no folders, no global torch switches, no disk
checks. Those belong to preparing a run (:func:`hpostudy.study.experiment_run.prepare`).

The checks of one knob's value are in :mod:`hpostudy.study.config.checks`, what a notebook's
setup needs in :mod:`hpostudy.study.config.notebook`.
"""
from __future__ import annotations

import ast
import dataclasses
import difflib
import inspect
import io
import textwrap
import tokenize
import types
import typing
from pathlib import Path
from typing import ClassVar

from ..profiles import get_profile
from .checks import ParameterError, _check, _range, _type_name
from .notebook import _KERNEL_NAMES, _one_line_in_kernel, readable_tables



@dataclasses.dataclass(frozen=True)
class ExperimentConfig:
    """The knobs every experiment has; subclasses add theirs (a comment each) and ``PRESETS``.

    Class attributes a subclass may set:

    * ``PRESETS`` -- ``{profile: {knob: value}}``, the values that differ from the defaults;
    * ``CHOICES`` -- ``{knob: (allowed values ...)}`` for string knobs (and their elements);
    * ``SIGNED`` -- numeric knobs that may be negative (e.g. log-scale initial values);
    * ``ZERO_OK`` -- integer knobs that may be 0 (sizes must otherwise be at least 1);
    * ``EMPTY_OK`` -- sequence knobs that may be empty;
    * ``NAME`` -- the experiment's name (default: its module's name), used for output folders.
    """

    profile: str = "smoke"  # smoke | cpu | paper
    device: str | None = None  # cpu | cuda (None: the profile's device, cuda for paper)
    seed: int = 0  # first seed; a run with n seeds uses seed, seed+1, ..., seed+n-1
    seeds: int = 1  # number of seeds (claims about outcomes need at least 3)
    output_dir: str | None = None  # tables, figures, checkpoints (None: build/<profile>/results/<name>)

    PRESETS: ClassVar[dict[str, dict]] = {}
    CHOICES: ClassVar[dict[str, tuple]] = {}
    SIGNED: ClassVar[tuple[str, ...]] = ()
    ZERO_OK: ClassVar[tuple[str, ...]] = ()
    EMPTY_OK: ClassVar[tuple[str, ...]] = ()
    NAME: ClassVar[str | None] = None
    _BASE_ZERO_OK: ClassVar[tuple[str, ...]] = ("seed",)

    # ------------------------------------------------------------------ construction
    @classmethod
    def name(cls) -> str:
        """The experiment's name: ``NAME``, else the last part of its module's name.

        Returns:
            str: e.g. ``rt_ho``.
        """
        return cls.NAME or cls.__module__.rsplit(".", 1)[-1]

    @classmethod
    def knobs(cls) -> dict[str, object]:
        """Every knob and its type hint."""
        hints = typing.get_type_hints(cls)
        return {f.name: hints[f.name] for f in dataclasses.fields(cls)}

    @classmethod
    def for_profile(cls, profile: str = "smoke", **overrides) -> "ExperimentConfig":
        """The configuration of ``profile`` with ``overrides`` (``None`` = the profile's value).

        Raises :class:`ParameterError` -- the one error type of a bad parameter: an unknown
        profile or name, a wrong type, a value out of range, or a check of several knobs
        (:meth:`validate`, whose ValueError it becomes) -- before any work starts; the messages
        name the knob and the fix.
        """
        try:
            get_profile(profile)
        except ValueError as err:
            raise ParameterError(str(err)) from None
        known = cls.knobs()
        unknown = sorted(set(overrides) - set(known) - {"profile"})
        if unknown:
            guesses = {u: difflib.get_close_matches(u, known, n=1, cutoff=0.6) for u in unknown}
            found = {u: g[0] for u, g in guesses.items() if g}
            hint = ("" if not found else f"did you mean '{found[unknown[0]]}'?"
                    if list(found) == unknown[:1] and len(unknown) == 1 else "did you mean "
                    + ", ".join(f"'{g}' for '{u}'" for u, g in found.items()) + "?")
            raise ParameterError(
                f"unknown parameter(s) {unknown} for '{cls.name()}'"
                + (f" ({hint})" if hint else "") + "; its parameters: "
                f"{sorted(k for k in known if k != 'profile')}")
        values = {f.name: f.default for f in dataclasses.fields(cls)}
        values.update(cls.PRESETS.get(profile, {}))
        values.update({k: v for k, v in overrides.items() if v is not None and k != "profile"})
        values["profile"] = profile
        for name, hint in known.items():
            values[name] = _check(cls, name, values[name], hint)
        if values["device"] is None:
            values["device"] = get_profile(profile).default_device
        if values["output_dir"] is None:
            values["output_dir"] = str(Path("build") / profile / "results" / cls.name())
        cfg = cls(**values)
        try:
            cfg.validate()
        except ParameterError:
            raise
        except ValueError as err:  # settings modules whose code is frozen raise ValueError
            raise ParameterError(str(err)) from err
        return cfg

    @classmethod
    def from_notebook(cls, namespace: dict) -> "ExperimentConfig":
        """The configuration from a notebook's variables (its ``parameters`` cell and whatever
        papermill injected): every public plain value in ``namespace`` is taken as a parameter,
        so a misspelt one (``-p epoch 3``) is refused with the message the CLI gives."""
        params = {k: v for k, v in namespace.items()
                  if not k.startswith("_") and k not in _KERNEL_NAMES
                  and not isinstance(v, (types.ModuleType, type, types.FunctionType,
                                         types.BuiltinFunctionType))}
        readable_tables()
        try:
            return cls.for_profile(params.pop("profile", "smoke"), **params)
        except ParameterError as err:
            if _one_line_in_kernel():  # papermill shows the message, not 40 lines above it
                raise err from None
            raise

    def validate(self) -> None:
        """Checks that involve several knobs (subclasses extend it; no side effects)."""

    @classmethod
    def knob_table(cls, profile: str = "smoke") -> list[dict]:
        """Every knob as ``hpostudy show`` prints it: name, type, range (choices or least
        value, where declared), the value ``profile`` gives it, and its comment."""
        cfg = cls.for_profile(profile)
        comments = cls.comments()
        rows = []
        for name, hint in cls.knobs().items():
            rows.append({"knob": name, "type": _type_name(hint), "range": _range(cls, name, hint),
                         "value": getattr(cfg, name), "comment": comments.get(name, "")})
        return rows

    @classmethod
    def comments(cls) -> dict[str, str]:
        """The comment of each knob's declaration, from the class and its bases' source: the
        last comment on the lines of its statement (a default written over several lines keeps
        its comment on the last), read with :mod:`ast` and :mod:`tokenize`."""
        out: dict[str, str] = {}
        for klass in reversed(cls.__mro__):
            if not dataclasses.is_dataclass(klass):
                continue
            try:
                source = textwrap.dedent(inspect.getsource(klass))
            except (OSError, TypeError):
                continue
            notes = {}
            for token in tokenize.generate_tokens(io.StringIO(source).readline):
                if token.type == tokenize.COMMENT:
                    notes[token.start[0]] = token.string.lstrip("#").strip()
            for node in ast.parse(source).body[0].body:
                if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                    found = [notes[line] for line in range(node.lineno, node.end_lineno + 1)
                             if line in notes]
                    if found:
                        out[node.target.id] = found[-1]
        return out

    # ------------------------------------------------------------------ use
    def settings(self) -> dict:
        """Everything that determines the results (all knobs but ``output_dir``)."""
        out = dataclasses.asdict(self)
        out.pop("output_dir")
        out["experiment"] = self.name()
        return out

    def replace(self, **changes) -> "ExperimentConfig":
        """This configuration with ``changes``, validated as a new one."""
        values = {**dataclasses.asdict(self), **changes}
        return type(self).for_profile(values.pop("profile"), **values)

    @property
    def seed_list(self) -> list[int]:
        """The seeds of this run: ``seed, seed+1, ..., seed+seeds-1``."""
        return list(range(self.seed, self.seed + self.seeds))

    @property
    def out(self) -> Path:
        """The run's output folder, ``output_dir`` as a path."""
        return Path(self.output_dir)

    def datasets(self) -> list[str]:
        """Datasets the run reads (checked on disk when a run is prepared)."""
        return [v for k, v in dataclasses.asdict(self).items() if k == "dataset"]
