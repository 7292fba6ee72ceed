"""Several whole Strang steps of Ehrenfest dynamics in one compiled pass, and the records' observables.

The step-by-step path (:meth:`.splitting.Splitting.step`) moves every
trajectory's data through memory several times per step: the half drift
writes q, the model writes V (n, S, S) and dV/dq (n, D, S, S), the
substep kernel (:mod:`.kernels`) reads them back with p and c and writes
new p and c, the second half drift writes q again -- for Tully's models
about 376 bytes per trajectory-step (benchmarks/baseline.py counts them),
plus a Python call per stage. Here each trajectory's q, p and c stay in a
block (Tully: :data:`.kernels.BLOCK` trajectories, in the L1 cache) or a
chunk (vibronic models: a few dozen, with their V, dV/dq and eigensystems,
in the L2 cache) for K steps,

    q <- q + (tau/2) p / m                          half drift
    V(q), dV/dq(q)                                  the model, inline
    c <- exp(-i V tau) c,  p <- p - tau <F>         the exact potential substep
    q <- q + (tau/2) p / m                          half drift

and are read and written once per K steps (Tully: 96/K bytes per
trajectory-step).

* :func:`tully_steps`: Tully's three models, two states in closed form,
  the model's formulas (:func:`ehrenspeed.models._compiled.tully_elements`)
  with the vectorised exponential of :mod:`.vexp` (which the model's
  compiled potential also uses);
* :func:`vibronic_steps`: vibronic coupling models with three or more
  states, V and dV/dq from the model's nonzero terms
  (:func:`ehrenspeed.models._compiled.vibronic_block`, the compiled
  potential's own code), the general S-state substep's helpers.

The arithmetic is that of the step-by-step path: the same drifts (bit for
bit), the model's compiled code and the substep's helpers (shared, not
copied), so the two paths agree to round-off (tests/test_fused.py; the
vibronic one is bit-identical). A trajectory's arithmetic does not depend
on K, on its block or on the thread count, so results do not either.

:func:`tully_observables` and :func:`vibronic_observables` give a
record's per-trajectory observables for the same models with V evaluated
inline, block by block (no (n, S, S) array), with the helpers of
:mod:`ehrenspeed._compiled_observables`: the numbers of the reference
path, bit for bit.

Used by :meth:`ehrenspeed.driver.TrajectoryRun.advance` and ``record``
where it is the same computation
(:func:`ehrenspeed.fused_steps.fused_parameters`): mean-field Ehrenfest
on a model with ``two_state_step_parameters`` (Tully's three) or
``vibronic_step_parameters`` (three or more states), Strang, numba, no
periodic coordinates. ``EHRENSPEED_FUSED=0`` in the environment turns it
off (the tests compare the two paths that way).
"""

# Note for editors: numba's on-disk cache of this module's kernel is keyed
# on this file alone; delete src/ehrenspeed/propagators/__pycache__ after
# changing kernels.py, vexp.py, trig.py or models/_compiled.py.

from __future__ import annotations

import os

import numpy as np

from ..backend import HAVE_NUMBA
from .kernels import BLOCK, _outputs, _states_token

if HAVE_NUMBA:  # pragma: no branch
    import numba

    from ..models._compiled import VIBRONIC_BLOCK, tully_arguments, tully_elements, vibronic_block
    from .kernels import (
        _C1I,
        _C1R,
        _C2I,
        _C2R,
        _R00,
        _R01,
        _R11,
        _ROWS,
        _V11,
        _V12,
        _V22,
        _block_bounds,
        _chunk_arrays,
        _chunk_length,
        _diagonalise,
        _general_scratch,
        _load_coefficients,
        _redo_large_phase,
        _rotate_chunk,
        _two_state_block,
    )
    from .._compiled_observables import (energies, general, general_scratch, store_two_state, two_state,
                                         two_state_parts)
    from .vexp import exp_rows

#: Environment variable: "0" turns the fused path off (the step-by-step reference runs).
ENVIRONMENT = "EHRENSPEED_FUSED"

# rows of a fused block beyond the substep's (kernels._ROWS): position,
# momentum, dV/dx, the coefficients before the substep (for the libm redo
# of large phases), the exponentials' arguments and values
_Q, _P, _D11, _D22, _D12, _B1R, _B1I, _B2R, _B2I, _A0, _A1, _E0, _E1 = range(_ROWS, _ROWS + 13)
_FUSED_ROWS = _ROWS + 13


def enabled() -> bool:
    """False when the environment turns the fused path off (``EHRENSPEED_FUSED=0``)."""
    return HAVE_NUMBA and os.environ.get(ENVIRONMENT, "1").strip() != "0"


def tully_steps(kind: int, parameters: np.ndarray, inv_mass: float, q: np.ndarray, p: np.ndarray,
                c: np.ndarray, taus, parts: dict | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Strang steps of lengths ``taus`` for every trajectory on Tully model ``kind``.

    Parameters
    ----------
    kind : int
        0 simple, 1 dual, 2 extended coupling (models/_compiled.py).
    parameters : ndarray, shape (3,) to (5,)
        The model's parameters in the order of ``_kernel_parameters``
        (hartree, 1/bohr or 1/bohr^2).
    inv_mass : float
        1 / mass, 1 / electron masses.
    q, p : ndarray, shape (n, 1)
        Positions (bohr) and momenta (a.u.).
    c : ndarray, shape (n, 2), complex
        Diabatic coefficients.
    taus : sequence of float
        The step lengths, a.u., in order (one Strang step each).
    parts : dict, optional
        Arrays of :func:`ehrenspeed.observables.allocate_parts` (n, 2):
        filled with the per-trajectory observables at the final state (as
        :func:`tully_observables` computes them), while each block is still
        in the cache -- for the record that follows the last block of an
        output interval.

    Returns
    -------
    q_new, p_new : ndarray, shape (n, 1)
    c_new : ndarray, shape (n, 2), complex
        New arrays; the inputs are not changed.
    """
    p, c, p_new, c_new, n_blocks = _outputs(p, c)
    q = np.ascontiguousarray(q, dtype=np.float64)
    q_new = np.empty_like(q)
    taus = np.asarray(taus, dtype=np.float64)
    # the drift's factor exactly as splitting.drift forms it: (tau / 2) * (1 / m)
    halves = (0.5 * taus) * np.float64(inv_mass)
    if n_blocks:
        _kernel_tully(int(kind), np.ascontiguousarray(parameters, dtype=np.float64), taus, halves,
                      q, p, c, q_new, p_new, c_new, n_blocks, *_part_arrays(parts, q.shape[0], 2),
                      np.array([inv_mass], dtype=np.float64))
    return q_new, p_new, c_new



def vibronic_steps(terms: tuple, inv_mass: np.ndarray, q: np.ndarray, p: np.ndarray, c: np.ndarray,
                   taus, parts: dict | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Strang steps of lengths ``taus`` for every trajectory on a vibronic coupling model.

    Each chunk of trajectories (a few dozen; their q, p, c, V, dV/dq and
    eigensystems fit in the L2 cache) takes all the steps before the next
    chunk is read: half drift, V and dV/dq from the model's nonzero terms
    (:func:`ehrenspeed.models._compiled.vibronic_block`, the code of the
    model's compiled ``potential_and_gradient``), the general S-state
    substep of :mod:`.kernels` (its helpers, not a copy), half drift. The
    arithmetic is that of the step-by-step path, operation for operation.

    Parameters
    ----------
    terms : tuple
        The model's ``vibronic_step_parameters()``: its polynomial as lists
        of nonzero terms (:func:`ehrenspeed.models.vibronic.sparse_vibronic_terms`), hartree.
    inv_mass : ndarray, shape (D,)
        1 / mass of each coordinate (a.u.).
    q, p : ndarray, shape (n, D)
        Positions and momenta (a.u.).
    c : ndarray, shape (n, S), complex
        Diabatic coefficients.
    taus : sequence of float
        The step lengths, a.u., in order (one Strang step each).
    parts : dict, optional
        As in :func:`tully_steps` (arrays for n trajectories and S states,
        filled as :func:`vibronic_observables` computes them).

    Returns
    -------
    q_new, p_new : ndarray, shape (n, D)
    c_new : ndarray, shape (n, S), complex
        New arrays; the inputs are not changed.
    """
    p, c, p_new, c_new, n_blocks = _outputs(p, c)
    q = np.ascontiguousarray(q, dtype=np.float64)
    q_new = np.empty_like(q)
    taus = np.asarray(taus, dtype=np.float64)
    inv_mass = np.ascontiguousarray(inv_mass, dtype=np.float64)
    # the drift's factor exactly as splitting.drift forms it: (tau / 2) * (1 / m)
    halves = np.ascontiguousarray((0.5 * taus)[:, None] * inv_mass[None, :])
    if n_blocks:
        _kernel_vibronic(*terms, taus, halves, q, p, c, q_new, p_new, c_new, n_blocks,
                         *_part_arrays(parts, q.shape[0], c.shape[1]), inv_mass, _states_token(c.shape[1]))
    return q_new, p_new, c_new


def _part_arrays(parts: dict | None, n: int, s: int) -> tuple:
    """(observe, the five per-trajectory arrays) for a kernel; empty arrays when not observing."""
    if parts is None:
        return (False, np.empty((0, s)), np.empty((0, s)), np.empty(0), np.empty(0), np.empty(0))
    arrays = tuple(parts[key] for key in PART_ORDER)
    if any(a.shape[0] != n or not a.flags.c_contiguous for a in arrays):
        raise ValueError("parts must hold contiguous arrays for every trajectory (observables.allocate_parts)")
    return (True, *arrays)


#: The kernels' order of the per-trajectory arrays of :func:`ehrenspeed.observables.allocate_parts`.
PART_ORDER = ("adiabatic_population", "population", "potential_energy", "total_energy", "norm")



# -- the observables of a record, for the same models -----------------------

def tully_observables(kind: int, parameters: np.ndarray, inv_mass: float, q: np.ndarray, p: np.ndarray,
                      c: np.ndarray) -> dict[str, np.ndarray]:
    """Per-trajectory observables of a Tully model run at (q, p, c), V evaluated inline.

    What a record computes (:func:`ehrenspeed.observables.per_trajectory` on
    the model's compiled V) in one threaded pass over blocks of
    trajectories, with no (n, 2, 2) array: V from the compiled potential's
    own code (:func:`ehrenspeed.models._compiled.tully_matrices`), the
    observables from :mod:`ehrenspeed._compiled_observables`'s helpers, so
    the numbers are those of the reference path bit for bit. Arguments as
    in :func:`tully_steps`; returns the dict of ``per_trajectory``.
    """
    return _observables(_kernel_tully_observables, (int(kind), np.ascontiguousarray(parameters, dtype=np.float64)),
                        np.array([inv_mass], dtype=np.float64), q, p, c, ())


def vibronic_observables(terms: tuple, inv_mass: np.ndarray, q: np.ndarray, p: np.ndarray,
                         c: np.ndarray) -> dict[str, np.ndarray]:
    """Per-trajectory observables of a vibronic coupling model run at (q, p, c), V evaluated inline.

    As :func:`tully_observables`, with V from the model's nonzero terms
    (:func:`ehrenspeed.models._compiled.vibronic_block`, the compiled
    ``potential``'s code); arguments as in :func:`vibronic_steps`.
    """
    return _observables(_kernel_vibronic_observables, terms, np.asarray(inv_mass, dtype=np.float64), q, p, c,
                        (_states_token(c.shape[1]),))


def _observables(kernel, model_arguments, inv_mass, q, p, c, extra) -> dict[str, np.ndarray]:
    from ..backend import use_threads_for
    from ..observables import allocate_parts
    from .kernels import _BLOCKS_PER_THREAD

    q = np.ascontiguousarray(q, dtype=np.float64)
    p = np.ascontiguousarray(p, dtype=np.float64)
    c = np.ascontiguousarray(c, dtype=np.complex128)
    n_blocks = min(c.shape[0], _BLOCKS_PER_THREAD * use_threads_for(c.shape[0], c.shape[1]))
    out = allocate_parts(c.shape[0], c.shape[1])
    if n_blocks:
        kernel(*model_arguments, q, p, c, inv_mass, *(out[key] for key in PART_ORDER), n_blocks, *extra)
    return out


if HAVE_NUMBA:  # pragma: no branch

    _jit = numba.njit(cache=True, nogil=True, error_model="numpy")
    _inline = numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
    _parallel = numba.njit(parallel=True, cache=True, error_model="numpy")

    @_jit
    def _model_rows(kind, prm, m, rows, scratch):  # pragma: no cover - compiled
        """V and dV/dx of the block's m positions into its rows; keep the coefficients."""
        x = rows[_Q]
        for k in range(m):
            rows[_A0, k], rows[_A1, k] = tully_arguments(kind, prm, x[k])
        exp_rows(rows[_A0], rows[_E0], scratch, m)
        exp_rows(rows[_A1], rows[_E1], scratch, m)
        for k in range(m):
            v11, v22, v12, d11, d22, d12 = tully_elements(kind, prm, x[k], rows[_E0, k], rows[_E1, k])
            rows[_V11, k] = v11
            rows[_V22, k] = v22
            rows[_V12, k] = v12
            rows[_D11, k] = d11
            rows[_D22, k] = d22
            rows[_D12, k] = d12
            rows[_B1R, k] = rows[_C1R, k]
            rows[_B1I, k] = rows[_C1I, k]
            rows[_B2R, k] = rows[_C2R, k]
            rows[_B2I, k] = rows[_C2I, k]

    @_inline
    def _load_block(rows, start, m, q, p, c):  # pragma: no cover - compiled
        """x, p and c of trajectories start .. start + m - 1 into a block's rows."""
        for k in range(m):
            j = start + k
            rows[_Q, k] = q[j, 0]
            rows[_P, k] = p[j, 0]
            _load_coefficients(rows, k, c, j)

    @_jit
    def _block_steps(kind, prm, taus, halves, m, rows, scratch):  # pragma: no cover - compiled
        """All the steps of one block held in rows (positions, momenta, coefficients)."""
        x = rows[_Q]
        mom = rows[_P]
        for s in range(taus.size):
            tau = taus[s]
            half = halves[s]
            for k in range(m):
                x[k] = x[k] + mom[k] * half
            _model_rows(kind, prm, m, rows, scratch)
            _two_state_block(m, tau, rows)
            for k in range(m):
                _redo_large_phase(rows, k, tau, rows[_B1R, k], rows[_B1I, k], rows[_B2R, k], rows[_B2I, k])
            for k in range(m):
                # the kick as kernels._kick2 forms it (dV/dx symmetric: dV_12 = dV_21)
                force = (rows[_R00, k] * rows[_D11, k] + rows[_R11, k] * rows[_D22, k]
                         + rows[_R01, k] * (rows[_D12, k] + rows[_D12, k]))
                mom[k] = mom[k] - tau * force
                x[k] = x[k] + mom[k] * half

    @_parallel
    def _kernel_tully(kind, prm, taus, halves, q, p, c, q_new, p_new, c_new, n_blocks, observe, adiabatic,
                      population, potential, total, norm, inv_mass):  # pragma: no cover - compiled
        n = c.shape[0]
        for blk in numba.prange(n_blocks):
            rows = np.empty((_FUSED_ROWS, BLOCK))
            work = np.empty((7, BLOCK))
            scratch = np.empty(BLOCK, dtype=np.int64)
            lo, hi = _block_bounds(blk, n, n_blocks)
            for start in range(lo, hi, BLOCK):
                m = min(BLOCK, hi - start)
                _load_block(rows, start, m, q, p, c)
                _block_steps(kind, prm, taus, halves, m, rows, scratch)
                for k in range(m):
                    j = start + k
                    q_new[j, 0] = rows[_Q, k]
                    p_new[j, 0] = rows[_P, k]
                    c_new[j, 0] = complex(rows[_C1R, k], rows[_C1I, k])
                    c_new[j, 1] = complex(rows[_C2R, k], rows[_C2I, k])
                if observe:
                    end = start + m
                    _tully_block_observables(kind, prm, m, rows, work, scratch, inv_mass, adiabatic[start:end],
                                             population[start:end], potential[start:end], total[start:end],
                                             norm[start:end])

    @_jit
    def _vibronic_chunk_steps(constant, linear, lin_terms, lin_values, quad_terms, quad_values, hess_terms,
                              hess_values, taus, halves, m, qc, pc, cc, qt, vt, gt, vc, grads, scratch, lam, zt,
                              lt, sin_lt, cos_lt, states):  # pragma: no cover - compiled
        """All the steps of one chunk: m trajectories' q, p (m, D) and c (m, S), in place."""
        d = qc.shape[1]
        s = len(states)
        ss = s * s
        vflat = vc.reshape(vc.shape[0], ss)
        gflat = grads.reshape(grads.shape[0], d * ss)
        for step in range(taus.size):
            tau = taus[step]
            half = halves[step]
            for k in range(m):
                for a in range(d):
                    qc[k, a] = qc[k, a] + pc[k, a] * half[a]
                    qt[a, k] = qc[k, a]
            vibronic_block(qt, m, constant, linear, lin_terms, lin_values, quad_terms, quad_values,
                           hess_terms, hess_values, vt, gt)
            for k in range(m):
                for kl in range(ss):
                    vflat[k, kl] = vt[kl, k]
                for x in range(d * ss):
                    gflat[k, x] = gt[x, k]
                _diagonalise(vc[k], k, tau, scratch, lam, zt, lt, states)
            # p and c are read before they are written, trajectory by trajectory: in place is safe
            _rotate_chunk(0, m, grads, pc, cc, tau, pc, cc, scratch, lam, zt, lt, sin_lt, cos_lt, states)
            for k in range(m):
                for a in range(d):
                    qc[k, a] = qc[k, a] + pc[k, a] * half[a]

    @_parallel
    def _kernel_vibronic(constant, linear, lin_terms, lin_values, quad_terms, quad_values, hess_terms,
                         hess_values, taus, halves, q, p, c, q_new, p_new, c_new, n_blocks, observe, adiabatic,
                         population, potential, total, norm, inv_mass, states):  # pragma: no cover - compiled
        n, d = q.shape
        s = len(states)
        chunk = min(_chunk_length(s, d), VIBRONIC_BLOCK)
        for blk in numba.prange(n_blocks):
            scratch = _general_scratch(s)
            lam, zt, lt, sin_lt, cos_lt = _chunk_arrays(chunk, s)
            qc = np.empty((chunk, d))
            pc = np.empty((chunk, d))
            cc = np.empty((chunk, s), dtype=np.complex128)
            qt = np.empty((d, chunk))
            vt = np.empty((s * s, chunk))
            gt = np.empty((d * s * s, chunk))
            vc = np.empty((chunk, s, s))
            grads = np.empty((chunk, d, s, s))
            levels = general_scratch(states)
            lo, hi = _block_bounds(blk, n, n_blocks)
            for start in range(lo, hi, chunk):
                m = min(chunk, hi - start)
                end = start + m
                qc[:m] = q[start:end]
                pc[:m] = p[start:end]
                cc[:m] = c[start:end]
                _vibronic_chunk_steps(constant, linear, lin_terms, lin_values, quad_terms, quad_values,
                                      hess_terms, hess_values, taus, halves, m, qc, pc, cc, qt, vt, gt, vc,
                                      grads, scratch, lam, zt, lt, sin_lt, cos_lt, states)
                q_new[start:end] = qc[:m]
                p_new[start:end] = pc[:m]
                c_new[start:end] = cc[:m]
                if observe:
                    _vibronic_chunk_observables(constant, linear, lin_terms, lin_values, quad_terms, quad_values,
                                                hess_terms, hess_values, m, qc, pc, cc, qt, vt, vc, levels,
                                                inv_mass, adiabatic[start:end], population[start:end],
                                                potential[start:end], total[start:end], norm[start:end], states)

    @_jit
    def _tully_block_observables(kind, prm, m, rows, work, scratch, inv_mass, adiabatic, population, potential,
                                 total, norm):  # pragma: no cover - compiled
        """The per-trajectory observables of a block's m trajectories, whose x, p and c are in
        rows (_Q, _P, _C1R ...), into the outputs' first m rows; work is (7, BLOCK) scratch:
        the exponents' arguments and values, then w1, w2 and Re(conj(c1) c2)."""
        x = rows[_Q]
        mom = rows[_P]
        half_inv_mass = 0.5 * inv_mass[0]
        for k in range(m):
            work[0, k], work[1, k] = tully_arguments(kind, prm, x[k])
        exp_rows(work[0], work[2], scratch, m)
        exp_rows(work[1], work[3], scratch, m)
        for k in range(m):
            c0r, c0i, c1r, c1i = rows[_C1R, k], rows[_C1I, k], rows[_C2R, k], rows[_C2I, k]
            work[4, k] = c0r * c0r + c0i * c0i
            work[5, k] = c1r * c1r + c1i * c1i
            work[6, k] = c0r * c1r + c0i * c1i
        for k in range(m):
            v11, v22, v12, _, _, _ = tully_elements(kind, prm, x[k], work[2, k], work[3, k])
            w1 = work[4, k]
            w2 = work[5, k]
            lower, upper, e_el = two_state_parts(w1, w2, work[6, k], v11, v22, v12)
            # the kinetic energy as observables_real sums it (one coordinate)
            kinetic = 0.0 + half_inv_mass * mom[k] * mom[k]
            store_two_state(k, w1, w2, lower, upper, e_el, kinetic, adiabatic, population, potential, total, norm)

    @_parallel
    def _kernel_tully_observables(kind, prm, q, p, c, inv_mass, adiabatic, population, potential, total, norm,
                                  n_blocks):  # pragma: no cover - compiled
        n = c.shape[0]
        for blk in numba.prange(n_blocks):
            rows = np.empty((_FUSED_ROWS, BLOCK))
            work = np.empty((7, BLOCK))
            scratch = np.empty(BLOCK, dtype=np.int64)
            lo, hi = _block_bounds(blk, n, n_blocks)
            for start in range(lo, hi, BLOCK):
                m = min(BLOCK, hi - start)
                _load_block(rows, start, m, q, p, c)
                end = start + m
                _tully_block_observables(kind, prm, m, rows, work, scratch, inv_mass, adiabatic[start:end],
                                         population[start:end], potential[start:end], total[start:end],
                                         norm[start:end])

    @_jit
    def _vibronic_chunk_observables(constant, linear, lin_terms, lin_values, quad_terms, quad_values, hess_terms,
                                    hess_values, m, q, p, c, qt, vt, vj, levels, inv_mass, adiabatic, population,
                                    potential, total, norm, states):  # pragma: no cover - compiled
        """The per-trajectory observables of m trajectories (the first m rows of q, p, c) into
        the outputs' first m rows; qt (D, >= m), vt (S^2, >= m), vj (>= m, S, S) and levels
        (``general_scratch``) are scratch."""
        d = q.shape[1]
        s = len(states)
        for k in range(m):
            for a in range(d):
                qt[a, k] = q[k, a]
        vibronic_block(qt, m, constant, linear, lin_terms, lin_values, quad_terms, quad_values,
                       hess_terms, hess_values, vt, vt[:0], False)
        vflat = vj.reshape(vj.shape[0], s * s)
        for k in range(m):
            for kl in range(s * s):
                vflat[k, kl] = vt[kl, k]
        for k in range(m):
            if s == 2:
                two_state(k, vj[k], c, p, inv_mass, adiabatic, population, potential, total, norm)
            else:
                energies(k, vj[k], c, p, inv_mass, population, potential, total, norm, states)
                general(k, vj[k], c, adiabatic, levels, states)

    @_parallel
    def _kernel_vibronic_observables(constant, linear, lin_terms, lin_values, quad_terms, quad_values, hess_terms,
                                     hess_values, q, p, c, inv_mass, adiabatic, population, potential, total, norm,
                                     n_blocks, states):  # pragma: no cover - compiled
        n, d = q.shape
        s = len(states)
        width = VIBRONIC_BLOCK
        for blk in numba.prange(n_blocks):
            qt = np.empty((d, width))
            vt = np.empty((s * s, width))
            vj = np.empty((width, s, s))
            levels = general_scratch(states)
            lo, hi = _block_bounds(blk, n, n_blocks)
            for start in range(lo, hi, width):
                end = min(start + width, hi)
                _vibronic_chunk_observables(constant, linear, lin_terms, lin_values, quad_terms, quad_values,
                                            hess_terms, hess_values, end - start, q[start:end], p[start:end],
                                            c[start:end], qt, vt, vj, levels, inv_mass, adiabatic[start:end],
                                            population[start:end], potential[start:end], total[start:end],
                                            norm[start:end], states)
