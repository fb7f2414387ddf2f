"""One call that seeds every random number generator the course uses."""
from __future__ import annotations

import os
import random

import numpy as np

#: Environment variable that overrides the default seed (used by the seed-spread check).
SEED_ENV = "COURSE_SEED"
DEFAULT_SEED = 42


def current_seed() -> int:
    """The seed in force: ``$COURSE_SEED`` if set, else :data:`DEFAULT_SEED`."""
    return int(os.environ.get(SEED_ENV, DEFAULT_SEED))


def set_seed(seed: int | None = None) -> int:
    """Seed Python, NumPy and (when imported) torch and Keras; return the seed used.

    torch and Keras are seeded only if already imported, so calling this never
    pulls in a heavy library (nor initialises CUDA) as a side effect.
    """
    import sys

    seed = current_seed() if seed is None else int(seed)
    random.seed(seed)
    np.random.seed(seed)
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        torch.manual_seed(seed)
    if "keras" in sys.modules:
        sys.modules["keras"].utils.set_random_seed(seed)
    return seed
