"""Linear and quadratic vibronic coupling (LVC/QVC) models, and pyrazine.

In dimensionless (frequency-weighted) normal coordinates q_a the diabatic
matrix is a polynomial of degree two,

    V_kl(q) = delta_kl (E_k + sum_a w_a q_a^2 / 2)
              + sum_a L_kla q_a + sum_ab Q_klab q_a q_b,

with L_kka = kappa_ka (intrastate, tuning) and L_kla = lambda_kla for k != l
(interstate, coupling), Q holding the quadratic terms gamma (Adv.
Chem. Phys. 57, 59 (1984)). The kinetic energy is
sum_a w_a p_a^2 / 2, so the mass of coordinate a is 1 / w_a (w in hartree).
Because V is at most quadratic, SPEED is exact for these models
(docs/trajectories.md), which the tests check to round-off.
"""

from __future__ import annotations

import numpy as np

from ..backend import compiled
from ..errors import InputError
from ..sampling import Wavepacket
from ..units import EV
from .base import Model, methods_unchanged

_UNIT_FACTORS = {"hartree": 1.0, "ev": EV}


class VibronicCoupling(Model):
    """Generic linear/quadratic vibronic coupling model from arrays.

    Parameters
    ----------
    omega : array_like, shape (D,)
        Harmonic frequencies w_a of the reference (ground) state, in ``unit``.
    energies : array_like, shape (S,)
        Vertical energies E_k at q = 0, in ``unit``.
    kappa : array_like, shape (S, D)
        Linear intrastate couplings (gradients of the diagonal), in ``unit``.
    lam : array_like, shape (S, S, D)
        Linear interstate couplings; symmetric in the two state indices.
        Its diagonal, if nonzero, is added to ``kappa``.
    gamma : array_like, shape (S, D, D), optional
        Quadratic intrastate terms: V_kk += sum_ab gamma_kab q_a q_b.
    mu : array_like, shape (S, S, D, D), optional
        Quadratic interstate terms: V_kl += sum_ab mu_klab q_a q_b (k != l).
    eta : array_like, shape (S, S), optional
        Constant interstate couplings: V_kl += eta_kl (k != l); symmetric,
        its diagonal must be zero (use ``energies``).
    unit : {"hartree", "eV"}
        Energy unit of all arrays; converted to hartree once, here.
    name : str
        Name reported in results.
    modes : sequence of str, optional
        Labels of the D coordinates (e.g. ``"v10a"``), used by the file
        writers; [default] ``"q1"``, ``"q2"``, ...

    Notes
    -----
    Coordinates are dimensionless normal coordinates; masses are 1/w_a.
    """

    max_degree = 2

    coordinate_unit = "dimensionless"
    parameter_units = {"omega": "as set by unit", "energies": "as set by unit", "kappa": "as set by unit",
                       "lam": "as set by unit", "gamma": "as set by unit", "mu": "as set by unit",
                       "unit": "one of: hartree, eV", "name": "text"}

    def __init__(self, omega, energies, kappa, lam, gamma=None, mu=None, unit="hartree",
                 name="vibronic", eta=None, modes=None):
        self._record_parameters(locals())
        factor = _UNIT_FACTORS.get(str(unit).lower())
        if factor is None:
            raise InputError(f"unknown energy unit {unit!r}; use 'hartree' or 'eV'")
        omega = np.atleast_1d(np.asarray(omega, dtype=float)) * factor
        energies = np.atleast_1d(np.asarray(energies, dtype=float)) * factor
        d, s = omega.size, energies.size
        kappa = np.asarray(kappa, dtype=float).reshape(s, d) * factor
        lam = np.asarray(lam, dtype=float).reshape(s, s, d) * factor
        if not np.allclose(lam, lam.transpose(1, 0, 2)):
            raise InputError("lam must be symmetric in its two state indices")
        if np.any(omega <= 0):
            raise InputError(f"frequencies must be positive, got {omega / factor}")
        linear = lam.copy()
        linear[np.arange(s), np.arange(s)] += kappa
        quad = np.zeros((s, s, d, d))
        quad[np.arange(s), np.arange(s)] += 0.5 * np.diag(omega)
        if gamma is not None:
            quad[np.arange(s), np.arange(s)] += np.asarray(gamma, dtype=float).reshape(s, d, d) * factor
        if mu is not None:
            mu = np.asarray(mu, dtype=float).reshape(s, s, d, d) * factor
            if not np.allclose(mu, mu.transpose(1, 0, 2, 3)):
                raise InputError("mu must be symmetric in its two state indices")
            off = ~np.eye(s, dtype=bool)
            quad[off] += mu[off]
        constant = np.diag(energies)
        if eta is not None:
            eta = np.asarray(eta, dtype=float).reshape(s, s) * factor
            if not np.allclose(eta, eta.T) or np.any(np.diag(eta) != 0):
                raise InputError("eta must be symmetric with a zero diagonal (diagonal constants are 'energies')")
            constant = constant + eta
        labels = [f"q{a + 1}" for a in range(d)] if modes is None else [str(m) for m in modes]
        if len(labels) != d or len(set(labels)) != d:
            raise InputError(f"modes must be {d} distinct labels, got {labels!r}")
        self.mode_labels = tuple(labels)
        self.name = name
        self.n_states, self.n_dof = s, d
        self.omega = omega
        self.mass = 1.0 / omega
        self.energies = energies
        # V(q) = E + sum_a L_a q_a + sum_ab Q_ab q_a q_b, stored coordinate-first
        self._constant = constant
        self._linear = np.moveaxis(linear, 2, 0)                    # (D, S, S)
        self._quadratic = np.moveaxis(quad, (2, 3), (0, 1))         # (D, D, S, S)
        self._hess = self._quadratic + np.swapaxes(self._quadratic, 0, 1)
        # the same polynomial as lists of its nonzero terms, for the compiled evaluation
        self._compiled_terms = sparse_vibronic_terms(self._constant, self._linear, self._quadratic, self._hess)

    def potential(self, q):
        if compiled():   # the compiled sums without the gradient (a record needs V alone)
            return self._compiled(q, gradient=False)[0]
        q = np.asarray(q, dtype=float)
        return (self._constant
                + np.einsum("na,akl->nkl", q, self._linear)
                # one fixed contraction order (no einsum path optimisation, which picks
                # its order by batch size): each row's value must not depend on N,
                # so chunked runs are bit-identical to unchunked ones
                + np.einsum("nab,abkl->nkl", q[:, :, None] * q[:, None, :], self._quadratic))

    def gradient(self, q):
        q = np.asarray(q, dtype=float)
        return self._linear[None] + np.einsum("nb,abkl->nakl", q, self._hess)

    def potential_and_gradient(self, q):
        if not compiled():
            return self.potential(q), self.gradient(q)
        return self._compiled(q, gradient=True)

    def _compiled(self, q, gradient: bool):
        """V and (with ``gradient``) dV/dq in one compiled pass per geometry: the same
        sums as the NumPy :meth:`potential` and :meth:`gradient` (tests/test_fastpath.py:
        equal to round-off)."""
        from ..backend import use_threads_for
        from ._compiled import vibronic_matrices  # imports numba on first use

        threads = use_threads_for(len(q), self.n_states)
        q = np.ascontiguousarray(q, dtype=float)
        s, d = self.n_states, self.n_dof
        v = np.empty((q.shape[0], s, s))
        dv = np.empty((q.shape[0] if gradient else 0, d, s, s))
        vibronic_matrices(q, *self._compiled_terms, v, dv, 4 * threads, gradient)
        return v, (dv if gradient else None)

    def vibronic_step_parameters(self) -> tuple | None:
        """The polynomial's nonzero terms for the fused compiled Strang step (propagators/fused.py).

        The fused step computes V and dV/dq inline from these, with the code
        of the compiled :meth:`potential_and_gradient`; a model whose
        :meth:`potential`, :meth:`gradient` or :meth:`potential_and_gradient`
        was replaced (by a subclass or on the instance) gets None (the
        step-by-step path, which calls its methods).
        """
        if not methods_unchanged(self, VibronicCoupling, ("potential", "gradient", "potential_and_gradient")):
            return None
        return self._compiled_terms

    def hessian(self, q):
        q = np.asarray(q, dtype=float)
        return np.broadcast_to(self._hess, (q.shape[0],) + self._hess.shape).copy()

    def coefficients(self) -> dict:
        """The model's polynomial coefficients, in hartree, as the file writers need them.

        Returns
        -------
        dict
            ``omega`` (D,), ``energies`` (S,), ``eta`` (S, S) constant
            couplings, ``linear`` (S, S, D) with kappa on the diagonal and
            lambda off it, and ``quadratic`` (S, S, D, D): the coefficient
            of q_a q_b (a <= b, each unordered pair once; zero for a > b) in
            V_kl beyond the reference oscillator's w_a q_a^2 / 2.
        """
        s, d = self.n_states, self.n_dof
        quad = np.moveaxis(self._quadratic, (0, 1), (2, 3)).copy()   # (S, S, D, D)
        quad[np.arange(s), np.arange(s)] -= 0.5 * np.diag(self.omega)
        # q_a q_b and q_b q_a are one monomial: fold the lower triangle onto the upper
        upper = np.triu(quad + np.swapaxes(quad, 2, 3), k=1) + quad * np.eye(d)
        eta = self._constant - np.diag(np.diag(self._constant))
        return {"omega": self.omega.copy(), "energies": np.diag(self._constant).copy(), "eta": eta,
                "linear": np.moveaxis(self._linear, 0, 2).copy(), "quadratic": upper}

    @classmethod
    def from_mctdh(cls, path, n_states=None) -> "VibronicCoupling":
        """Read an MCTDH / Quantics operator file (``.op``); see :mod:`.mctdh_operator`."""
        from .mctdh_operator import read_mctdh

        return cls(**read_mctdh(path, n_states=n_states))

    def to_mctdh(self, path) -> None:
        """Write this model as an MCTDH / Quantics operator file; see :mod:`.mctdh_operator`."""
        from .mctdh_operator import write_mctdh

        write_mctdh(self, path)

    @classmethod
    def from_sharc(cls, path) -> "VibronicCoupling":
        """Read a SHARC ``LVC.template`` (and its V0 file); see :mod:`.sharc_lvc`."""
        from .sharc_lvc import read_sharc

        return cls(**read_sharc(path))

    def to_sharc(self, path) -> None:
        """Write this model as a SHARC ``LVC.template`` plus a synthetic ``V0.txt``; see :mod:`.sharc_lvc`."""
        from .sharc_lvc import write_sharc

        write_sharc(self, path)

    @classmethod
    def from_file(cls, path) -> "VibronicCoupling":
        """Read a model from a TOML parameter file (the numbers of an MCTDH operator file).

        Layout (every term optional except ``omega`` and ``energies``)::

            name = "pyrazine3"
            unit = "eV"                            # or "hartree"
            modes = ["v6a", "v1", "v10a"]          # optional labels; else 0-based indices
            omega = [0.0740, 0.1273, 0.09357]
            energies = [0.0, 3.94, 4.8633]
            [[kappa]]                              # V_kk += value * q_mode
            state = 1
            mode = "v6a"
            value = -0.0964
            [[lambda]]                             # V_kl = V_lk += value * q_mode
            states = [1, 2]
            mode = "v10a"
            value = 0.1825
            [[gamma]]                              # V_kk += value * q_a q_b
            state = 1
            modes = ["v10a", "v10a"]
            value = -0.018
            [[mu]]                                 # V_kl = V_lk += value * q_a q_b
            states = [1, 2]
            modes = ["v6a", "v10a"]
            value = 0.01

        States are 0-based indices. Unknown keys are errors.
        """
        import tomllib
        from pathlib import Path

        path = Path(path)
        try:
            data = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise InputError(f"vibronic model file {str(path)!r} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{path}: not valid TOML: {exc}") from None
        known = {"name", "unit", "modes", "omega", "energies", "kappa", "lambda", "gamma", "mu"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"{path}: unknown key {unknown[0]!r}; known keys: {', '.join(sorted(known))}")
        for key in ("omega", "energies"):
            if key not in data:
                raise InputError(f"{path}: missing key {key!r}")
        omega = np.asarray(data["omega"], dtype=float)
        energies = np.asarray(data["energies"], dtype=float)
        d, s = omega.size, energies.size
        labels = list(data.get("modes", range(d)))
        if len(labels) != d:
            raise InputError(f"{path}: 'modes' has {len(labels)} labels for {d} frequencies")

        def mode(term, value):
            if value in labels:
                return labels.index(value)
            raise InputError(f"{path}: {term}: unknown mode {value!r}")

        def state(term, value):
            if isinstance(value, int) and 0 <= value < s:
                return value
            raise InputError(f"{path}: {term}: state {value!r} out of range 0..{s - 1}")

        kappa = np.zeros((s, d))
        lam = np.zeros((s, s, d))
        gamma = np.zeros((s, d, d))
        mu = np.zeros((s, s, d, d))
        for t in data.get("kappa", []):
            kappa[state("kappa", t["state"]), mode("kappa", t["mode"])] += t["value"]
        for t in data.get("lambda", []):
            k, l = (state("lambda", x) for x in t["states"])
            lam[k, l, mode("lambda", t["mode"])] += t["value"]
            lam[l, k, mode("lambda", t["mode"])] = lam[k, l, mode("lambda", t["mode"])]
        for t in data.get("gamma", []):
            a, b = (mode("gamma", x) for x in t["modes"])
            # symmetric split so that sum_ab gamma_ab q_a q_b adds value * q_a q_b once
            gamma[state("gamma", t["state"]), a, b] += t["value"] / (1 if a == b else 2)
            if a != b:
                gamma[state("gamma", t["state"]), b, a] += t["value"] / 2
        for t in data.get("mu", []):
            k, l = (state("mu", x) for x in t["states"])
            a, b = (mode("mu", x) for x in t["modes"])
            for i, j in {(k, l), (l, k)}:
                mu[i, j, a, b] += t["value"] / (1 if a == b else 2)
                if a != b:
                    mu[i, j, b, a] += t["value"] / 2
        return cls(omega, energies, kappa, lam, gamma=gamma, mu=mu, unit=data.get("unit", "hartree"),
                   name=data.get("name", path.stem))

    def ground_state_wavepacket(self, state=0) -> Wavepacket:
        """Vibrational ground state of the reference oscillator (q = p = 0, A = 1)."""
        zeros = np.zeros(self.n_dof)
        return Wavepacket(zeros, zeros, np.ones(self.n_dof), state)

    def initial_wavepacket(self, state=0) -> Wavepacket:
        """The reference oscillator's ground state put vertically on diabatic ``state`` (0-based).

        This is the Franck-Condon excitation of the usual vibronic-coupling
        study; ``[initial] from_model = true, state = 1`` in a configuration.
        """
        if not isinstance(state, (int, np.integer)) or not 0 <= state < self.n_states:
            raise InputError(f"state must be an index 0..{self.n_states - 1}, got {state!r}")
        return self.ground_state_wavepacket(state=int(state))


def _coupled_pair(n_states: int, k: int, l: int, kappa_k, kappa_l, lam: float):
    """Pyrazine's couplings in modes (nu6a, nu1, nu10a): tuning of states k and l
    on (nu6a, nu1), their interstate coupling on nu10a. Returns kappa (S, 3), lam (S, S, 3)."""
    kappa = np.zeros((n_states, 3))
    kappa[k, :2] = kappa_k
    kappa[l, :2] = kappa_l
    lam_arr = np.zeros((n_states, n_states, 3))
    lam_arr[k, l, 2] = lam_arr[l, k, 2] = lam
    return kappa, lam_arr


class Pyrazine3(VibronicCoupling):
    """Pyrazine S0/S1/S2 in three modes (nu6a, nu1, nu10a), linear vibronic coupling.

    V = sum_k (w_k/2) q_k^2 1 + W(q), in eV, with

        W_11 = E1 + kappa1_6a q6a + kappa1_1 q1 + gamma1 q10a^2
        W_22 = E2 + kappa2_6a q6a + kappa2_1 q1 + gamma2 q10a^2
        W_12 = lam q10a,  W_00 = W_01 = W_02 = 0.

    Coordinates (q6a, q1, q10a) are dimensionless normal coordinates
    (mass 1/w). States are (S0, S1, S2); the default initial state is the
    S0 vibrational ground state placed on S2.

    Parameters
    ----------
    omega : (3,) eV
        [lit] 0.0740, 0.1273, 0.09357 (nu6a, nu1, nu10a).
    kappa1, kappa2 : (2,) eV
        Tuning constants on (nu6a, nu1) in S1 and S2: [lit] (-0.0964, 0.0470)
        and (0.1194, 0.2012).
    lam : float, eV
        S1-S2 coupling on nu10a, [lit] 0.1825.
    e1 : float, eV
        [default] 3.94; only the gap matters (S0 is uncoupled).
    gap : float, eV
        E2 - E1, [lit] 0.9233.
    gamma1, gamma2 : float, eV
        [default] 0 (the quadratic nu10a terms of the three-state model are
        not public). Enter as gamma q10a^2, no factor 1/2.
    gamma : float, eV, optional
        Both gamma1 and gamma2 at once; [default] unset (gamma1 and gamma2
        apply). The documented alternative is ``gamma=Pyrazine3.RAAB_GAMMA``
        = -0.01159 eV, the only published quadratic nu10a term of this model
        family, on both S1 and S2 (Raab et al. 1999, as in the MCTDH pyr4+
        operator and ``models/data/pyrazine4.op``: ``g10a_s1 |1 S1&1 |2 q^2``,
        i.e. gamma q^2 without 1/2, the convention used here). Grid note:
        with gamma = -0.018 eV (another value in use) the nu10a well softens
        and the exact density reaches the box: that case needs a 64^3 grid on
        [-10, 10]^3 (on 48^3 over [-8, 8]^3 the edge density reaches 1e-2).

    References
    ----------
    Woywod, Domcke, Sobolewski and Werner, J. Chem. Phys. 100, 1400 (1994);
    Stock et al., J. Chem. Phys. 103, 6851 (1995); Raab, Worth, Meyer and
    Cederbaum, J. Chem. Phys. 110, 936 (1999) (gamma).
    """

    #: q10a^2 coefficient of S1 and S2 in Raab et al. (1999), eV
    RAAB_GAMMA = -0.01159

    parameter_units = {"omega": "eV", "kappa1": "eV", "kappa2": "eV", "lam": "eV", "e1": "eV", "gap": "eV",
                       "gamma1": "eV", "gamma2": "eV", "gamma": "eV"}

    def __init__(self, omega=(0.0740, 0.1273, 0.09357), kappa1=(-0.0964, 0.0470),
                 kappa2=(0.1194, 0.2012), lam=0.1825, e1=3.94, gap=0.9233,
                 gamma1=0.0, gamma2=0.0, gamma=None):
        self._record_parameters(locals())
        if gamma is not None:
            if gamma1 != 0.0 or gamma2 != 0.0:
                raise InputError("Pyrazine3: set either gamma (both states) or gamma1/gamma2, not both")
            gamma1 = gamma2 = float(gamma)
        kappa, lam_arr = _coupled_pair(3, 1, 2, kappa1, kappa2, lam)
        gamma = np.zeros((3, 3, 3))
        gamma[1, 2, 2], gamma[2, 2, 2] = gamma1, gamma2
        super().__init__(omega, [0.0, e1, e1 + gap], kappa, lam_arr, gamma=gamma, unit="eV",
                         name="pyrazine3", modes=("v6a", "v1", "v10a"))

    def initial_wavepacket(self) -> Wavepacket:
        """S0 vibrational ground state, vertically excited to S2."""
        return self.ground_state_wavepacket(state=2)


class PyrazineSchneiderDomcke(VibronicCoupling):
    """The classic 2-state (S1, S2) x 3-mode pyrazine model, in eV.

    V_kk = E_k + sum_a w_a q_a^2 / 2 + sum_a kappa_ka q_a,  V_12 = lam q10a.
    Coordinates (q6a, q1, q10a), dimensionless (mass 1/w).

    Parameters (all [lit], R. Schneider and W. Domcke, Chem. Phys. Lett. 150,
    235 (1988))
    ----------
    omega : (3,) eV
        0.074, 0.126, 0.118 (nu6a, nu1, nu10a).
    kappa1, kappa2 : (2,) eV
        On (nu6a, nu1): S1 (-0.105, 0.037), S2 (0.149, -0.254).
    lam : float, eV
        0.262 on nu10a.
    e1, e2 : float, eV
        3.94, 4.84.
    """

    parameter_units = {"omega": "eV", "kappa1": "eV", "kappa2": "eV", "lam": "eV", "e1": "eV", "e2": "eV"}

    def __init__(self, omega=(0.074, 0.126, 0.118), kappa1=(-0.105, 0.037),
                 kappa2=(0.149, -0.254), lam=0.262, e1=3.94, e2=4.84):
        self._record_parameters(locals())
        kappa, lam_arr = _coupled_pair(2, 0, 1, kappa1, kappa2, lam)
        super().__init__(omega, [e1, e2], kappa, lam_arr, unit="eV", name="pyrazine_sd",
                         modes=("v6a", "v1", "v10a"))

    def initial_wavepacket(self) -> Wavepacket:
        """Ground vibrational state placed on S2."""
        return self.ground_state_wavepacket(state=1)


def sparse_vibronic_terms(constant: np.ndarray, linear: np.ndarray, quadratic: np.ndarray,
                          hess: np.ndarray) -> tuple:
    """The nonzero terms of V(q) = E + sum_a L_a q_a + sum_ab Q_ab q_a q_b and of its gradient.

    Parameters
    ----------
    constant : ndarray, shape (S, S)
    linear : ndarray, shape (D, S, S)
    quadratic : ndarray, shape (D, D, S, S)
    hess : ndarray, shape (D, D, S, S)
        Q_ab + Q_ba, the second derivatives (the model's own array).

    Returns
    -------
    tuple
        The arguments of ``models._compiled.vibronic_matrices`` after ``q``:
        E (S^2,) and L (D, S^2) flat; the linear terms ((a, kl) pairs and
        values); the quadratic terms ((a, b, kl) with a <= b, the
        coefficient Q_ab + Q_ba of q_a q_b, or Q_aa); the Hessian terms
        ((a, b, kl) and Q_ab + Q_ba). Index arrays int64, all C-contiguous.
    """
    d, s = linear.shape[0], constant.shape[0]
    flat_linear = np.ascontiguousarray(linear.reshape(d, s * s))
    hess = hess.reshape(d, d, s * s)
    folded = np.triu(np.moveaxis(hess, 2, 0), k=1) + np.moveaxis(quadratic.reshape(d, d, s * s), 2, 0) * np.eye(d)

    def nonzero(array: np.ndarray):
        index = np.argwhere(array != 0.0)
        return np.ascontiguousarray(index, dtype=np.int64), np.ascontiguousarray(array[tuple(index.T)])

    lin_terms, lin_values = nonzero(flat_linear)
    quad_terms, quad_values = nonzero(np.moveaxis(folded, 0, 2))      # (a, b, kl)
    hess_terms, hess_values = nonzero(hess)
    return (np.ascontiguousarray(constant.reshape(s * s)), flat_linear, lin_terms, lin_values,
            quad_terms, quad_values, hess_terms, hess_values)
