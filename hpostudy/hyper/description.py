"""What each kind and granularity of hyperparameter means, in words, for
:meth:`~hpostudy.hyper.HyperSpace.describe`."""
from __future__ import annotations

MEANING = {
    "log10_l2": "penalty sum_j 10**theta_j * w_j**2: theta is log10 of the L2 coefficient "
                "(PyTorch's weight_decay would be 2 * 10**theta)",
    "log_lr": "learning rate of these parameters: base * exp(theta)",
    "log_scale": "reparametrization w = exp(theta) * z, z trained (thesis section 3.1)",
    "log_l2_z": "penalty sum_j exp(theta_j) * z_j**2 on the reparametrized z",
}
PER = {"parameter": "one per element", "unit": "one per output unit", "layer": "",
       "scalar": ""}
