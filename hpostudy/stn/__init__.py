"""Self-Tuning Networks (MacKay et al. 2019): the compact best-response layers
(:mod:`.layers`), tuned hyperparameters with their perturbation and entropy
(:mod:`.hyperparameters`), per-example augmentation (:mod:`.augment`), the CNN and LSTM built
from the layers (:mod:`.models`), data feeds (:mod:`.tasks`) and the training algorithm
(:mod:`.train`)."""
