"""Importable names: ``"package.module:attribute"`` strings that point at a user's model or
dataset builder, so that a notebook's parameters (plain literals) can name code."""
from __future__ import annotations

from importlib import import_module


def resolve(spec: str, what: str = "object"):
    """The object named by ``"package.module:attribute"`` (attribute may be dotted)."""
    if not isinstance(spec, str) or ":" not in spec:
        raise ValueError(f"{what} '{spec}' is not an importable name: write it as "
                         "'package.module:attribute'")
    module_name, attribute = spec.split(":", 1)
    try:
        obj = import_module(module_name)
    except ImportError as err:
        raise ValueError(f"{what} '{spec}': cannot import module '{module_name}' ({err}); is "
                         "its package installed, or its folder on PYTHONPATH?") from err
    for part in attribute.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ValueError(f"{what} '{spec}': module '{module_name}' has no "
                             f"'{attribute}'") from None
    if not callable(obj):
        raise ValueError(f"{what} '{spec}' is not callable")
    return obj
