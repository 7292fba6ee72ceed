"""A user model whose 'electronic structure' fails on MPI rank 1 only, once the run is under way.

Used by tests/test_mpi.py through a config file (``python_model``): the
command line must end the whole MPI job with the message, not hang.
"""

import numpy as np

import ehrenspeed as es

_calls = [0]


def make_model():
    base = es.models.TullySimple()

    def potential(q):
        _calls[0] += 1
        if _calls[0] > 3:   # past construction, validation and the first record
            from mpi4py import MPI
            if MPI.COMM_WORLD.Get_rank() == 1:
                raise RuntimeError("electronic structure failed to converge")
        return base.potential(q)

    return es.models.from_function(potential, 2, 1, 2000.0, gradient=base.gradient, hessian=base.hessian)
