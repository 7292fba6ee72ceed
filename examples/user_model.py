"""A user's own model for examples/user_model.toml: two shifted parabolas.

V11 = k (x - a)^2 / 2,  V22 = k (x + a)^2 / 2 + e,  V12 = coupling,  hartree,
x in bohr. ``make_model`` is what ``python_model = "user_model:make_model"``
names; the keys of [model.parameters] are its arguments.
"""

import numpy as np

import ehrenspeed as es


def make_model(k=0.02, a=1.0, e=0.01, coupling=0.005, mass=2000.0):
    def potential(q):
        x = q[:, 0]
        v = np.empty((len(x), 2, 2))
        v[:, 0, 0] = 0.5 * k * (x - a) ** 2
        v[:, 1, 1] = 0.5 * k * (x + a) ** 2 + e
        v[:, 0, 1] = v[:, 1, 0] = coupling
        return v

    # derivatives come from finite differences of the potential
    return es.models.from_function(potential, n_states=2, n_dof=1, mass=mass, name="two_parabolas")
