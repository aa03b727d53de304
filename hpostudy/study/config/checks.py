"""The checks of a knob's value: its type (``int``, ``float | None``, ``tuple[str, ...]``, ...),
its range (sizes at least 1, or 0 where declared; numbers non-negative unless signed) and its
choices, each refusal a :class:`ParameterError` naming the knob and the fix; and the type and
range as ``hpostudy show`` prints them.
"""
from __future__ import annotations

import ast
import math
import types
import typing

from ..profiles import DEVICES


class ParameterError(ValueError):
    """A parameter is unknown, of the wrong type or out of range."""


def _type_name(hint) -> str:
    """``int``, ``float | None``, ``tuple[str, ...]``: a type hint as written."""
    if isinstance(hint, type) and not typing.get_args(hint):
        return hint.__name__
    return str(hint).replace("typing.", "")


def _range(cls, name: str, hint) -> str:
    """What :func:`_check` accepts beyond the type: the choices, or the least value."""
    choices = DEVICES if name == "device" else cls.CHOICES.get(name)
    if name == "profile":
        from ..profiles import PROFILES
        choices = tuple(PROFILES)
    if choices is not None:
        return " | ".join(map(str, choices))
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    kind = args[0] if typing.get_origin(hint) in (typing.Union, types.UnionType) else hint
    if typing.get_origin(kind) in (tuple, list):
        kind = (typing.get_args(kind) or (object,))[0]
    if kind in (int, float) and name not in cls.SIGNED:
        least = 0 if (kind is float or name in cls.ZERO_OK + cls._BASE_ZERO_OK) else 1
        return f">= {least}"
    return ""


def _check(cls, name: str, value, hint):
    """``value`` coerced to the knob's type and checked against its range and choices."""
    allow_none = False
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        allow_none = len(args) < len(typing.get_args(hint))
        hint = args[0]
        origin = typing.get_origin(hint)
    if value is None:
        if allow_none:
            return None
        raise ParameterError(f"parameter '{name}' of '{cls.name()}' needs a value")
    if origin in (tuple, list):
        element = (typing.get_args(hint) or (object,))[0]
        if isinstance(value, str):
            try:
                value = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                pass
        if not isinstance(value, (list, tuple)):
            raise ParameterError(f"parameter '{name}' of '{cls.name()}' must be a list of "
                                 f"{getattr(element, '__name__', element)}, got "
                                 f"{type(value).__name__} {value!r}; write a list, e.g. "
                                 f"-p \"{name}=[{value!r}]\"")
        if not value and name not in cls.EMPTY_OK:
            raise ParameterError(f"parameter '{name}' of '{cls.name()}' must not be empty")
        return tuple(_scalar(cls, name, v, element) for v in value)
    return _scalar(cls, name, value, hint)


def _scalar(cls, name: str, value, kind):
    where = f"parameter '{name}' of '{cls.name()}'"
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if kind in (int, float, str, bool):
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise ParameterError(f"{where} must be {kind.__name__}, got "
                                 f"{type(value).__name__} {value!r}")
    if kind is float and not math.isfinite(value):
        raise ParameterError(f"{where} must be a finite number, got {value!r}")
    if kind in (int, float) and name not in cls.SIGNED:
        least = 0 if (kind is float or name in cls.ZERO_OK + cls._BASE_ZERO_OK) else 1
        if value < least:
            raise ParameterError(f"{where} must be at least {least}, got {value!r}")
    choices = DEVICES if name == "device" else cls.CHOICES.get(name)
    if choices is not None and value not in choices:
        raise ParameterError(f"{where} must be one of {', '.join(map(str, choices))}; "
                             f"got {value!r}")
    return value
