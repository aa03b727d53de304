"""Hyperparameter spaces: named groups of hyperparameters and their expansion to parameters.

A :class:`HyperSpace` holds the hyperparameters of a run as one flat vector ``theta``. Each
:class:`Group` covers some parameter tensors of a :class:`~hpostudy.models.FlatModel` with a
*granularity*:

* ``"parameter"`` -- one hyperparameter per parameter element;
* ``"unit"``      -- one per output unit of a layer (dim 0 of a weight, each bias element);
* ``"layer"``     -- one per parameter tensor;
* ``"scalar"``    -- one for all covered tensors.

and a *kind*, the scale on which it lives:

* ``"log10_l2"`` -- L2 coefficients ``10**theta`` (thesis section 3.2), penalty
  :math:`\\sum_j 10^{\\theta_j} w_j^2`;
* ``"log_lr"``   -- learning rates ``exp(theta)`` (per-layer learning rates);
* ``"log_scale"`` and ``"log_l2_z"`` -- the reparametrization of thesis section 3.1,
  :math:`w = e^{s} \\odot z` trained in :math:`z` with penalty :math:`e^{\\lambda}\\|z\\|^2`.

``expand(name, theta)`` returns a vector of the parameters' size (differentiable in ``theta``),
with ``fill`` where the group does not cover a parameter. Biases are left out of L2 groups unless
``include_bias=True``. ``bounds`` are box constraints applied by :meth:`HyperSpace.clip`.

Penalties and expansions work tensor by tensor: a group's values for one parameter tensor are
broadcast along its unit dimension (dim 0) or over the whole tensor, never gathered element by
element, so the penalty of a layer costs one pass over its weights.

The package holds one idea per module, and re-exports every public name from here:

* ``groups`` -- :class:`Group` (a named block of hyperparameters, its kind and granularity)
  and :class:`Block` (where its values for one parameter tensor lie);
* ``space`` -- :class:`HyperSpace`: the layout of ``theta``, its expansion to parameters, the
  box constraints, the penalties, learning rates and scales, and its description;
* ``description`` -- what each kind and granularity means, in words (``MEANING``, ``PER``);
* ``checks`` -- :func:`check_vector`, the check of a hyperparameter vector.
"""
from __future__ import annotations

from .checks import check_vector
from .description import MEANING, PER
from .groups import GRANULARITIES, KINDS, Block, Group
from .space import HyperSpace

__all__ = ["Group", "Block", "HyperSpace", "check_vector", "KINDS", "GRANULARITIES", "MEANING",
           "PER"]
