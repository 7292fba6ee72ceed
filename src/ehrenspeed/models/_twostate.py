"""Assemble batched real symmetric 2 x 2 matrices from their three elements.

Two-state models write each matrix element (and its derivatives) once, as
an array over the batch (and coordinate) axes; this helper stacks them into
the trailing ``(2, 2)`` axes the model contract asks for.
"""

from __future__ import annotations

import numpy as np


def two_state(v11, v22, v12) -> np.ndarray:
    """Stack elements into symmetric matrices ``[[v11, v12], [v12, v22]]``.

    Parameters
    ----------
    v11, v22, v12 : array_like, broadcastable to a common shape ``shape``
        Diagonal and off-diagonal elements (scalars are broadcast, so a
        constant coupling needs no array of its own).

    Returns
    -------
    ndarray, shape ``shape + (2, 2)``
    """
    v11, v22, v12 = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (v11, v22, v12)))
    out = np.empty(v11.shape + (2, 2))
    out[..., 0, 0] = v11
    out[..., 1, 1] = v22
    out[..., 0, 1] = v12
    out[..., 1, 0] = v12
    return out
