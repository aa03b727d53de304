"""The scale gates of :mod:`hpostudy.experiments.densenet_drmad` (``FIG_3_8`` ... ``FIG_3_14``):
what each of the thesis' DrMAD claims on the DenseNet (section 3.2.1) needs of a run before it
is judged, one policy for the chapter (:mod:`hpostudy.settings.densenet`).
"""
from __future__ import annotations

from ..settings.densenet import DIRECTION_EPOCHS, WHY_DIRECTION
from ..verdicts import Scale


# The scale gates (one policy for the chapter, hpostudy.settings.densenet): a claim about
# what DrMAD's updates do needs meta-iterations of at least the thesis' shortest length; a
# claim about an outcome of the thesis' long runs (an error level, a NaN in meta-iteration k)
# needs the thesis' epochs up to that meta-iteration.
FIG_3_8 = Scale({"meta-iterations of equal epochs": 4,
                 "epochs per meta-iteration": DIRECTION_EPOCHS},
                "a change of the error after the updates is DrMAD's only when the "
                "meta-iterations train equally long (otherwise longer training alone lowers it) "
                "and it takes several updates (the thesis saw none help in 8); " + WHY_DIRECTION)


FIG_3_9 = Scale({"meta-iterations": 9, "epochs of meta-iteration 0": 100},
                "the thesis' NaN came in meta-iteration 8 of a run that began at 100 epochs and "
                "grew by 1.4 to 300: it is an outcome of that much training")


FIG_3_11 = Scale({"epochs of meta-iteration 0": 10},
                 "the pull of an L2 of 1e-2 on the weights accumulates with the steps; the "
                 "thesis' error of random guessing and its zero hypergradient came after a "
                 "first meta-iteration of 10 epochs")


FIG_3_13 = Scale({"meta-iterations": 4, "epochs of meta-iteration 3": 27},
                 "the thesis' NaN came in the last epochs of meta-iteration 3, which trained 27 "
                 "epochs (10 growing by 1.4)")


FIG_3_14 = Scale({"meta-iterations": 2, "epochs per meta-iteration": DIRECTION_EPOCHS},
                 "the share is read after at least one update; " + WHY_DIRECTION)
