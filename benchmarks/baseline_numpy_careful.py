"""The best NumPy Ehrenfest we could write for Tully's simple model: the baseline.

Independent of ehrenspeed (its own potential and integrator), and written
for speed with NumPy alone:

* structure of arrays, real arithmetic: x, p and the real and imaginary
  parts of c_1, c_2 are separate (N,) float arrays;
* every buffer allocated once; every ufunc writes into one (``out=``);
* the electronic propagator in closed form: Tully's V is traceless,
  V = [[a, b], [b, -a]], so exp(-i V t) = cos(r t) - i sin(r t) V / r with
  r = sqrt(a^2 + b^2) -- no ``eigh``, no complex temporaries.

One step is the symmetric splitting drift(dt/2), potential(dt), drift(dt/2)
with one evaluation of V and dV/dx per step; in the potential part c is
rotated exactly and p is kicked by the mean of the Ehrenfest forces
-c^H dV/dx c before and after the rotation (second order, like the rest of
the step). benchmarks/baseline.py times it against ehrenspeed's kernel;
the plain version a user writes first is baseline_numpy.py (the naive one).
"""

from __future__ import annotations

import numpy as np

A, B, C, D, MASS = 0.01, 1.6, 0.005, 1.0, 2000.0


class CarefulTully:
    """N trajectories of Tully's simple avoided crossing, propagated in place.

    Parameters
    ----------
    x, p : ndarray, shape (N,)
        Positions and momenta, atomic units.
    c : ndarray, shape (N, 2), complex
        Diabatic coefficients.
    """

    def __init__(self, x: np.ndarray, p: np.ndarray, c: np.ndarray):
        n = x.size
        self.x, self.p = x.astype(float).copy(), p.astype(float).copy()
        self.c1r, self.c1i = c[:, 0].real.copy(), c[:, 0].imag.copy()
        self.c2r, self.c2i = c[:, 1].real.copy(), c[:, 1].imag.copy()
        # V = [[a, b], [b, -a]], dV/dx = [[da, db], [db, -da]]; scratch t1..t4
        self.a, self.b, self.da, self.db = (np.empty(n) for _ in range(4))
        self.t1, self.t2, self.t3, self.t4, self.t5 = (np.empty(n) for _ in range(5))
        self.force, self.before = np.empty(n), np.empty(n)
        self.cr, self.sr = np.empty(n), np.empty(n)

    def _potential(self) -> None:
        """a, b, da, db at x: a = sign(x) A (1 - e^{-B|x|}), b = C e^{-D x^2}."""
        x, a, b, da, db, t1 = self.x, self.a, self.b, self.da, self.db, self.t1
        np.abs(x, out=t1)
        np.multiply(t1, -B, out=t1)
        np.exp(t1, out=t1)                       # e^{-B|x|}
        np.multiply(t1, A * B, out=da)           # d a/dx = A B e^{-B|x|} (both sides)
        np.subtract(1.0, t1, out=a)
        np.copysign(a, x, out=a)
        np.multiply(a, A, out=a)
        np.multiply(x, x, out=t1)
        np.multiply(t1, -D, out=t1)
        np.exp(t1, out=b)
        np.multiply(b, C, out=b)
        np.multiply(x, -2.0 * D, out=db)
        np.multiply(db, b, out=db)

    def _force(self, out: np.ndarray) -> None:
        """-c^H dV/dx c = -(da (|c1|^2 - |c2|^2) + 2 db Re(c1* c2))."""
        c1r, c1i, c2r, c2i, t1, t2 = self.c1r, self.c1i, self.c2r, self.c2i, self.t1, self.t2
        np.multiply(c1r, c1r, out=t1)
        t1 += np.multiply(c1i, c1i, out=t2)
        t1 -= np.multiply(c2r, c2r, out=t2)
        t1 -= np.multiply(c2i, c2i, out=t2)       # |c1|^2 - |c2|^2
        np.multiply(t1, self.da, out=out)
        np.multiply(c1r, c2r, out=t1)
        t1 += np.multiply(c1i, c2i, out=t2)       # Re(c1* c2)
        t1 *= self.db
        t1 *= 2.0
        out += t1
        np.negative(out, out=out)

    def _rotate(self, dt: float) -> None:
        """c <- (cos(r dt) - i sin(r dt) V / r) c, in real arithmetic."""
        a, b, cr, sr = self.a, self.b, self.cr, self.sr
        t1, t2, t3, t4, t5 = self.t1, self.t2, self.t3, self.t4, self.t5
        np.hypot(a, b, out=t1)                    # r (> 0 for Tully: b never vanishes)
        np.maximum(t1, 1e-300, out=t1)            # r = 0 would give w = 0 anyway
        np.multiply(t1, dt, out=t2)
        np.cos(t2, out=cr)
        np.sin(t2, out=sr)
        sr /= t1                                  # sin(r dt) / r
        # w = sin(r dt) V c / r: w1 = (a c1 + b c2) sr, w2 = (b c1 - a c2) sr
        c1r, c1i, c2r, c2i = self.c1r, self.c1i, self.c2r, self.c2i
        np.multiply(a, c1r, out=t1)
        t1 += np.multiply(b, c2r, out=t5)
        t1 *= sr                                  # Re w1
        np.multiply(a, c1i, out=t2)
        t2 += np.multiply(b, c2i, out=t5)
        t2 *= sr                                  # Im w1
        np.multiply(b, c1r, out=t3)
        t3 -= np.multiply(a, c2r, out=t5)
        t3 *= sr                                  # Re w2
        np.multiply(b, c1i, out=t4)
        t4 -= np.multiply(a, c2i, out=t5)
        t4 *= sr                                  # Im w2
        # c <- cos(r dt) c - i w:  Re c += Im w, Im c -= Re w
        c1r *= cr
        c1r += t2
        c1i *= cr
        c1i -= t1
        c2r *= cr
        c2r += t4
        c2i *= cr
        c2i -= t3

    def propagate(self, dt: float, n_steps: int) -> None:
        """Advance every trajectory by ``n_steps`` steps of ``dt`` (in place)."""
        half = 0.5 * dt / MASS
        before, drift = self.before, self.t5
        for _ in range(n_steps):
            self.x += np.multiply(self.p, half, out=drift)
            self._potential()
            self._force(before)
            self._rotate(dt)
            self._force(self.force)
            self.force += before
            self.force *= 0.5 * dt
            self.p += self.force
            self.x += np.multiply(self.p, half, out=drift)

    def coefficients(self) -> np.ndarray:
        """c (N, 2), complex."""
        return np.stack([self.c1r + 1j * self.c1i, self.c2r + 1j * self.c2i], axis=1)
