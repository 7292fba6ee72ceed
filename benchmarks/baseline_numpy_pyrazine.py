"""The best NumPy Ehrenfest we could write for the three-state pyrazine model (Pyrazine3).

The Pyrazine3 counterpart of baseline_numpy_careful.py (issue 18, goal 2:
"state the ratio for Pyrazine3"). It exploits the model's structure as a
hand-written code would: the ground state S0 is coupled to nothing, so V
is a 1 x 1 block and a 2 x 2 block, and every matrix element is a
quadratic polynomial with mode-diagonal second-order terms,

    V_kk = E_k + sum_a L_kk,a q_a + sum_a G_k,a q_a^2,   V_12 = sum_a L_12,a q_a,

whose coefficients it takes from the model's dense arrays (and checks that
the structure holds). As in the Tully baseline:

* structure of arrays, real arithmetic: q, p are (D, N), the real and
  imaginary parts of c_0, c_1, c_2 separate (N,) arrays;
* every buffer allocated once; ufuncs write into them (``out=``);
* the electronic propagator in closed form: exp(-i V00 t) on S0 and
  exp(-i m t) (cos(r t) - i sin(r t) (V - m) / r) on the S1/S2 block, with
  m the block's mean and r the half gap -- no ``eigh``.

One step is drift(dt/2), potential(dt), drift(dt/2), with one evaluation
of V and dV/dq per step; c is rotated exactly and p kicked by the mean of
the Ehrenfest forces -c^H dV/dq c before and after the rotation (second
order). benchmarks/baseline.py times it against ehrenspeed.
"""

from __future__ import annotations

import numpy as np


class CarefulPyrazine3:
    """N trajectories of Pyrazine3, propagated in place.

    Parameters
    ----------
    model : ehrenspeed.models.Pyrazine3
        Read for its coefficients (hartree) and masses only.
    q, p : ndarray, shape (N, D)
        Dimensionless normal coordinates and their momenta.
    c : ndarray, shape (N, 3), complex
        Diabatic coefficients.
    """

    def __init__(self, model, q: np.ndarray, p: np.ndarray, c: np.ndarray):
        const, lin, quad = model._constant, model._linear, model._quadratic   # (S,S), (D,S,S), (D,D,S,S)
        d = lin.shape[0]
        off_mode = quad.copy()
        for a in range(d):
            off_mode[a, a] = 0.0
        assert not off_mode.any(), "second-order terms must be mode-diagonal"
        assert not (const[0, 1:].any() or lin[:, 0, 1:].any() or quad[:, :, 0, 1:].any()), "S0 must be uncoupled"
        assert not quad[:, :, 1, 2].any() and not const[1, 2], "V_12 must be linear"
        self.energy = np.array([const[k, k] for k in range(3)])
        self.lin = np.array([lin[:, k, k] for k in range(3)])              # (3, D)
        self.sq = np.array([np.diagonal(quad[:, :, k, k]) for k in range(3)])  # (3, D)
        self.l12 = lin[:, 1, 2].copy()                                     # (D,)
        self.inv_mass = 1.0 / np.asarray(model.mass, dtype=float)          # (D,)
        n = q.shape[0]
        self.q, self.p = q.T.copy(), p.T.copy()                            # (D, N)
        self.cr = [c[:, k].real.copy() for k in range(3)]
        self.ci = [c[:, k].imag.copy() for k in range(3)]
        self.v = [np.empty(n) for _ in range(3)]                           # V00, V11, V22
        self.v12 = np.empty(n)
        self.dv = np.empty((3, d, n))                                      # dV_kk/dq_a
        self.force, self.before = np.empty((d, n)), np.empty((d, n))
        self.t = [np.empty(n) for _ in range(8)]
        self.qq = np.empty((d, n))

    def _potential(self) -> None:
        """V_kk, V_12 and dV_kk/dq at q (dV_12/dq = l12 is constant)."""
        q, qq = self.q, self.qq
        np.multiply(q, q, out=qq)
        for k in range(3):
            v = self.v[k]
            v.fill(self.energy[k])
            for a in range(q.shape[0]):
                if self.lin[k, a]:
                    v += np.multiply(q[a], self.lin[k, a], out=self.t[0])
                if self.sq[k, a]:
                    v += np.multiply(qq[a], self.sq[k, a], out=self.t[0])
                np.multiply(q[a], 2.0 * self.sq[k, a], out=self.dv[k, a])
                self.dv[k, a] += self.lin[k, a]
        self.v12.fill(0.0)
        for a in range(q.shape[0]):
            if self.l12[a]:
                self.v12 += np.multiply(q[a], self.l12[a], out=self.t[0])

    def _force(self, out: np.ndarray) -> None:
        """-c^H dV/dq_a c for every mode a, into out (D, N)."""
        t0, t1, t2 = self.t[0], self.t[1], self.t[2]
        pops = []
        for k in range(3):
            pk = self.t[3 + k]
            np.multiply(self.cr[k], self.cr[k], out=pk)
            pk += np.multiply(self.ci[k], self.ci[k], out=t0)
            pops.append(pk)
        np.multiply(self.cr[1], self.cr[2], out=t1)
        t1 += np.multiply(self.ci[1], self.ci[2], out=t0)       # Re(c1* c2)
        t1 *= 2.0
        for a in range(out.shape[0]):
            np.multiply(pops[0], self.dv[0, a], out=out[a])
            out[a] += np.multiply(pops[1], self.dv[1, a], out=t2)
            out[a] += np.multiply(pops[2], self.dv[2, a], out=t2)
            if self.l12[a]:
                out[a] += np.multiply(t1, self.l12[a], out=t2)
            np.negative(out[a], out=out[a])

    @staticmethod
    def _phase(cr, ci, angle, cos_t, sin_t) -> None:
        """(cr + i ci) *= exp(-i angle), in place."""
        np.cos(angle, out=cos_t)
        np.sin(angle, out=sin_t)
        re = cr * cos_t + ci * sin_t
        np.multiply(ci, cos_t, out=ci)
        ci -= np.multiply(cr, sin_t, out=cos_t)
        cr[...] = re

    def _rotate(self, dt: float) -> None:
        """c <- exp(-i V dt) c: a phase on S0, the closed-form 2 x 2 propagator on S1/S2."""
        t = self.t
        angle, cos_t, sin_t = t[0], t[1], t[2]
        np.multiply(self.v[0], dt, out=angle)
        self._phase(self.cr[0], self.ci[0], angle, cos_t, sin_t)
        mean, half, r = t[3], t[4], t[5]
        np.add(self.v[1], self.v[2], out=mean)
        mean *= 0.5
        np.subtract(self.v[1], self.v[2], out=half)
        half *= 0.5
        np.hypot(half, self.v12, out=r)
        np.maximum(r, 1e-300, out=r)
        cr_, sr_ = t[6], t[7]
        np.multiply(r, dt, out=angle)
        np.cos(angle, out=cr_)
        np.sin(angle, out=sr_)
        sr_ /= r
        c1r, c1i, c2r, c2i = self.cr[1], self.ci[1], self.cr[2], self.ci[2]
        # w = sin(r dt)/r (V - m) c:  w1 = (half c1 + v12 c2) s, w2 = (v12 c1 - half c2) s
        w1r = (half * c1r + self.v12 * c2r) * sr_
        w1i = (half * c1i + self.v12 * c2i) * sr_
        w2r = (self.v12 * c1r - half * c2r) * sr_
        w2i = (self.v12 * c1i - half * c2i) * sr_
        for cr, ci, wr, wi in ((c1r, c1i, w1r, w1i), (c2r, c2i, w2r, w2i)):
            cr *= cr_
            cr += wi
            ci *= cr_
            ci -= wr
        np.multiply(mean, dt, out=angle)
        self._phase(c1r, c1i, angle, cos_t, sin_t)
        self._phase(c2r, c2i, angle, cos_t, sin_t)

    def propagate(self, dt: float, n_steps: int) -> None:
        """Advance every trajectory by ``n_steps`` steps of ``dt`` (in place)."""
        half = (0.5 * dt * self.inv_mass)[:, None]
        drift = self.qq
        for _ in range(n_steps):
            self.q += np.multiply(self.p, half, out=drift)
            self._potential()
            self._force(self.before)
            self._rotate(dt)
            self._force(self.force)
            self.force += self.before
            self.force *= 0.5 * dt
            self.p += self.force
            self.q += np.multiply(self.p, half, out=drift)

    def coefficients(self) -> np.ndarray:
        """c (N, 3), complex."""
        return np.stack([self.cr[k] + 1j * self.ci[k] for k in range(3)], axis=1)
