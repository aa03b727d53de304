"""Settings shared by several experiments of a chapter: the model, data, hyperparameter space
and training dynamics of one section of a source, with its knobs and values per profile.

* :mod:`.small_cnn` -- the small CNN of thesis sections 2.1-2.3 (parameter paths, dropout seed);
* :mod:`.mnist_mlp` -- the MLP of thesis section 3.1 (DrMAD vs exact hypergradients);
* :mod:`.densenet` -- the DenseNet of thesis section 3.2;
* :mod:`.stn` -- the Self-Tuning-Network problems and the comparison with black-box searches.
"""
