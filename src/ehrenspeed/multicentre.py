"""Multi-centre SPEED: K groups of trajectories, each on its own quadratic surface.

SPEED expands the diabatic matrix once, at the ensemble mean; when the swarm
splits (retinal's cis and trans branches) one quadratic describes neither
branch. Multi-centre SPEED partitions the N trajectories into K groups and
gives group k the Taylor expansion at its own mean qbar_k,

    V_eff,k(q) = V(qbar_k) + G_k.d + d.H_k.d / 2,    d = q - qbar_k,

so a potential substep costs K evaluations of V, dV/dq (and, by the Hessian
policy, d2V/dq2) whatever N is. K = 1 is SPEED (that case never reaches this
module: :class:`ehrenspeed.potentials.TaylorSource` runs it, bit for bit the
same code); K = N, one group per trajectory, is Ehrenfest (d = 0).

Grouping. Deterministic k-means (:func:`kmeans`: k-means++ initialisation
from a fixed seed, then Lloyd iterations) in mass-weighted coordinates
x_a = sqrt(m_a) q_a; a periodic coordinate of period L is embedded as
sqrt(m_a) L / (2 pi) (cos theta, sin theta), theta = 2 pi q_a / L, so that
the wrap-around does not split a group and short distances are the
mass-weighted ones. The grouping is computed from the gathered rows of the
whole ensemble, in the global trajectory order, so it does not depend on
the chunk size or on the number of MPI ranks.

Periodic coordinates. A group's mean along a periodic coordinate is its
first member's position plus the mean minimum-image displacement of the
members from it, and each member's displacement d is taken as a minimum
image, in [-L/2, L/2]: the surface's seam lies opposite the group's centre,
not at the interval's edge. (One-centre SPEED keeps the plain arithmetic
mean of SPEC section 3.)

Regrouping (``regroup_every``) re-runs k-means with the current number of
centres every so many steps; then every centre's Hessian is recomputed. A
trajectory that changes group jumps to another surface, so its energy
jumps: docs/trajectories.md measures this; the default is to group once.

Adaptive centres (``centres="adaptive"``): start with one group; at the
first substep of every step, cut each group in two by 2-means and compare
the gradient at the two halves' means with the group's expansion,
max |G(qbar_half) - G_k - H_k (qbar_half - qbar_k)| -- the measure of
``SPEED(adaptive_tol=...)``, taken at the means the group would split into.
Above ``adaptive_tol`` the group is split (largest misprediction first)
until ``max_centres``; without ``adaptive_tol``, when the misprediction
exceeds :data:`DEFAULT_SPLIT_FRACTION` of max |G(qbar_half) - G_k|, the
gradient's change across the group. Two centres whose expansions each
predict the other's gradient within a quarter of that threshold are merged
(one pair per step). The check costs two gradients per group and step;
they become the new centres' gradients when the group splits. (The
one-substep lag measure at the group's own mean, which SPEED uses to
refresh its Hessian and which stays the Hessian policy here, cannot see a
swarm that splits around a mean at rest: retinal's stays below 1e-9
hartree over 800 a.u.)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .errors import InputError, ModelError
from .parallel import SerialComm, block, collective
from .potentials import (SPEED, TaylorData, _call_statistics, _check_at_point, _check_reference_geometry,
                         _single_point_calls, taylor_matrices)

#: Seed of the k-means++ initialisation: fixed, so the grouping is a
#: function of the positions alone (and a resumed run regroups identically).
GROUPING_SEED = 20250725

#: Lloyd iterations at most; k-means on a few thousand points converges in tens.
MAX_ITERATIONS = 300

#: Default bound on the number of centres of ``centres="adaptive"``.
DEFAULT_MAX_CENTRES = 8

#: Without ``adaptive_tol``, ``centres="adaptive"`` splits a group when its
#: expansion gets this fraction of the gradient's change from its mean to a
#: half's mean wrong (dimensionless, so it needs no energy scale).
DEFAULT_SPLIT_FRACTION = 0.1

#: Two centres merge when each predicts the other's gradient within this
#: fraction of the splitting threshold (hysteresis: see ``_merge_redundant``).
MERGE_FRACTION = 0.25


def kmeans(x: np.ndarray, k: int, seed: int = GROUPING_SEED) -> np.ndarray:
    """Deterministic k-means: k-means++ initialisation, Lloyd iterations.

    Parameters
    ----------
    x : ndarray, shape (n, m)
        Points (embedded coordinates).
    k : int
        Number of clusters; ``k >= n`` gives one cluster per point.
    seed : int
        Seed of the k-means++ draws (D. Arthur and S. Vassilvitskii, Proc.
        SODA 2007, 1027): the first centre is a uniformly drawn point, each
        next one a point drawn with probability proportional to its squared
        distance from the nearest centre so far.

    Returns
    -------
    labels : ndarray, shape (n,), int64
        Cluster of each point, numbered by first appearance (point 0 is in
        cluster 0). Fewer than k clusters when the points have fewer than k
        distinct positions.

    Notes
    -----
    Ties in the assignment go to the lowest-numbered centre; a cluster that
    empties is re-seeded with the point farthest from its centre. The
    iteration stops when no label changes.
    """
    n = x.shape[0]
    if k >= n:
        return np.arange(n, dtype=np.int64)
    rng = np.random.default_rng(seed)
    centres = [x[rng.integers(n)]]
    nearest = np.sum((x - centres[0]) ** 2, axis=1)
    while len(centres) < k:
        total = nearest.sum()
        if not total > 0:  # fewer distinct points than clusters
            break
        j = int(np.searchsorted(np.cumsum(nearest), rng.random() * total, side="right"))
        j = min(j, n - 1)
        centres.append(x[j])
        nearest = np.minimum(nearest, np.sum((x - x[j]) ** 2, axis=1))
    c = np.array(centres)
    labels = None
    for _ in range(MAX_ITERATIONS):
        dist = np.sum((x[:, None, :] - c[None, :, :]) ** 2, axis=2)   # (n, k)
        new = np.argmin(dist, axis=1)
        for j in range(len(c)):
            if not np.any(new == j):  # empty: take the worst-served point
                far = int(np.argmax(dist[np.arange(n), new]))
                new[far] = j
        if labels is not None and np.array_equal(new, labels):
            break
        labels = new
        c = np.array([x[labels == j].mean(axis=0) for j in range(len(c))])
    return _by_first_appearance(labels)


def _by_first_appearance(labels: np.ndarray) -> np.ndarray:
    """Renumber clusters in the order their first member appears."""
    present, first = np.unique(labels, return_index=True)
    order = np.argsort(first, kind="stable")          # present labels by their first member
    renumber = np.empty(int(present.max()) + 1, dtype=np.int64)
    renumber[present[order]] = np.arange(len(present))
    return renumber[labels]


class Periodicity:
    """The periodic coordinates of a model: mask and period widths.

    Parameters
    ----------
    model : Model
        Its ``periods`` (D, 2) ``[lower, upper)`` with NaN rows for ordinary
        coordinates, or None.
    """

    def __init__(self, model):
        periods = getattr(model, "periods", None)
        if periods is None or not np.any(np.isfinite(np.asarray(periods, float)[:, 0])):
            self.mask = None
            self.width = None
            self.lower = None
        else:
            periods = np.asarray(periods, float)
            self.mask = np.isfinite(periods[:, 0])
            self.lower = periods[self.mask, 0]
            self.width = periods[self.mask, 1] - periods[self.mask, 0]

    def displacement(self, q: np.ndarray, centre: np.ndarray) -> np.ndarray:
        """q - centre, minimum image along periodic coordinates; shape of q."""
        d = q - centre
        if self.mask is not None:
            dp = d[..., self.mask]
            d[..., self.mask] = dp - self.width * np.round(dp / self.width)
        return d

    def mean(self, q: np.ndarray) -> np.ndarray:
        """Group mean (D,) of rows q (n, D): plain, or about the first row along periodic coordinates."""
        mean = q.mean(axis=0)
        if self.mask is not None:
            ref = q[0]
            d = self.displacement(q, ref)[:, self.mask]
            mean[self.mask] = ref[self.mask] + d.mean(axis=0)
        return mean

    def relative(self, q: np.ndarray, centre: np.ndarray) -> np.ndarray:
        """Positions whose plain difference from ``centre`` is the minimum image (for the kernels)."""
        if self.mask is None:
            return q
        return centre + self.displacement(q, centre)

    def embed(self, q: np.ndarray, mass: np.ndarray) -> np.ndarray:
        """Mass-weighted coordinates, periodic ones on a circle: shape (n, D + number periodic)."""
        x = q * np.sqrt(mass)
        if self.mask is None:
            return x
        theta = 2 * np.pi * (q[:, self.mask] - self.lower) / self.width
        radius = np.sqrt(mass[self.mask]) * self.width / (2 * np.pi)
        return np.concatenate([x[:, ~self.mask], radius * np.cos(theta), radius * np.sin(theta)], axis=1)


@dataclass
class MultiTaylorData:
    """The substep context of multi-centre SPEED.

    Attributes
    ----------
    centres : list of TaylorData
        V, G, H at each group's mean.
    labels : ndarray, shape (n,)
        Group of each row this context serves (a process's trajectories, or
        a chunk of them: :meth:`take`).
    periodicity : Periodicity
    """

    centres: list
    labels: np.ndarray
    periodicity: Periodicity

    def take(self, rows: slice) -> "MultiTaylorData":
        """The context of a slice of the rows."""
        return replace(self, labels=self.labels[rows])

    def groups(self):
        """(k, row indices) for every group with rows here, in group order."""
        order = np.argsort(self.labels, kind="stable")
        present, starts = np.unique(self.labels[order], return_index=True)
        ends = np.append(starts[1:], len(order))
        for k, a, b in zip(present, starts, ends):
            yield int(k), order[a:b]

    def displacement(self, k: int, q: np.ndarray) -> np.ndarray:
        return self.periodicity.displacement(q, self.centres[k].qbar)

    def relative(self, k: int, q: np.ndarray) -> np.ndarray:
        return self.periodicity.relative(q, self.centres[k].qbar)


@dataclass
class _Centre:
    """One centre's Hessian cache and its previous expansion (for the adaptive measure)."""

    h: np.ndarray | None = None
    h_point: np.ndarray | None = None
    last: TaylorData | None = None


class MultiCentreSource:
    """The potential source of multi-centre SPEED (see the module docstring).

    Its state (grouping, every centre's Hessian and previous expansion,
    counters, the ``n_centres`` record) is part of a checkpoint
    (:meth:`get_state`), so a resumed run continues bit for bit.
    """

    comm = SerialComm()
    #: set by the driver: substeps per integrator step (regrouping counts steps)
    substeps_per_step = 1

    def __init__(self, model, method: SPEED):
        self.model = model
        self.method = method
        _check_reference_geometry(method.reference_geometry, model)
        self.mass = np.asarray(model.mass, dtype=float)
        self.periodicity = Periodicity(model)
        self.adaptive = method.centres == "adaptive"
        self.max_centres = (method.max_centres or DEFAULT_MAX_CENTRES) if self.adaptive else None
        self.labels: np.ndarray | None = None
        self.centres: list[_Centre] = []
        self.reference_h: np.ndarray | None = None
        self.reference_point: np.ndarray | None = None
        self.n_evaluations = 0
        self.n_hessians = 0
        self.n_expansions = 0
        self.max_gradient_error = 0.0
        self.max_split_error = 0.0
        self.n_splits = 0
        self.n_merges = 0
        self.n_regroupings = 0
        self.n_centres_record: list[int] = []
        self._calls0 = _single_point_calls(model)

    # -- the source contract -----------------------------------------------------
    def evaluate(self, q: np.ndarray, for_observables: bool = False) -> MultiTaylorData:
        """V, G (and H as the policy says) at every group's mean.

        Parameters
        ----------
        q : ndarray, shape (n, D)
            This process's positions (all N in a one-process run).
        for_observables : bool
            Build the surfaces for recording observables: no regrouping, no
            splitting, cached Hessians, counters untouched; appends the
            current number of centres to the ``n_centres`` record.

        Returns
        -------
        MultiTaylorData
            Serving this process's rows.
        """
        comm = self.comm
        q_all = comm.allgather_rows(q)
        mine = block(q_all.shape[0], comm.rank, comm.size)
        if comm.size == 1:
            return self._evaluate_all(q_all, for_observables).take(mine)
        context = error = None
        try:
            with collective(comm):
                context = self._evaluate_all(q_all, for_observables)
        except Exception as exc:  # every rank must reach the agreement
            error = exc
        comm.agree(error)
        # rank 0's grouping and expansions for all: one answer even if a rank's arithmetic differed
        context, state = comm.bcast((context, self.get_state()))
        self.set_state(state)
        return context.take(mine)

    def matrices(self, context: MultiTaylorData, q: np.ndarray, need_gradient: bool = True):
        """V_eff (n, S, S) and dV_eff/dq (n, D, S, S) of rows q served by ``context``."""
        first = context.centres[0]
        dtype = np.result_type(first.v, first.g, first.h, q)
        n, d_, s_ = q.shape[0], q.shape[1], first.v.shape[0]
        v = np.empty((n, s_, s_), dtype=dtype)
        dv = np.empty((n, d_, s_, s_), dtype=dtype) if need_gradient else None
        for k, rows in context.groups():
            vk, dvk = taylor_matrices(context.centres[k], context.displacement(k, q[rows]), need_gradient)
            v[rows] = vk
            if need_gradient:
                dv[rows] = dvk
        return v, dv

    # -- grouping ----------------------------------------------------------------
    def _group(self, q_all: np.ndarray, k: int) -> None:
        """k-means on the whole ensemble; every centre starts without a Hessian."""
        x = self.periodicity.embed(q_all, self.mass)
        self.labels = kmeans(x, k)
        self.centres = [_Centre() for _ in range(int(self.labels.max()) + 1)]

    def _regroup_due(self) -> bool:
        every = self.method.regroup_every
        if every is None or self.n_evaluations == 0:
            return False
        return self.n_evaluations % (every * self.substeps_per_step) == 0

    def _means(self, q_all: np.ndarray) -> np.ndarray:
        """Group means, shape (K, D), over the members in global order."""
        everyone = MultiTaylorData([], self.labels, self.periodicity)
        return np.array([self.periodicity.mean(q_all[rows]) for _, rows in everyone.groups()])

    # -- evaluation -----------------------------------------------------------------
    def _evaluate_all(self, q_all: np.ndarray, for_observables: bool) -> MultiTaylorData:
        if self.labels is None:
            self._group(q_all, 1 if self.adaptive else self.method.centres)
        elif not for_observables and self._regroup_due():
            self._group(q_all, len(self.centres))
            self.n_regroupings += 1
        means = self._means(q_all)
        v, g = self._potential_gradient(means)
        if self.method.reference_hessian and self.reference_h is None:
            self._reference_hessian(q_all)
        if for_observables:
            missing = [k for k, c in enumerate(self.centres) if self._hessian(c) is None]
            self._compute_hessians(missing, means)
            data = [TaylorData(means[k], v[k], g[k], self._hessian(c)) for k, c in enumerate(self.centres)]
            for k in missing:  # the adaptive measure predicts from here
                self.centres[k].last = data[k]
            self.n_centres_record.append(len(self.centres))
            return MultiTaylorData(data, self.labels, self.periodicity)
        refresh = self._policy(means, g)
        self._compute_hessians(refresh, means)
        data = [TaylorData(means[k], v[k], g[k], self._hessian(c)) for k, c in enumerate(self.centres)]
        if self.adaptive and self.n_evaluations % self.substeps_per_step == 0:
            self._merge_redundant(q_all, data)
            self._split_where_mispredicted(q_all, data)
        for c, d in zip(self.centres, data):
            c.last = d
        self.n_evaluations += 1
        self.n_expansions += len(data)
        return MultiTaylorData(data, self.labels, self.periodicity)

    def _policy(self, means: np.ndarray, g: np.ndarray) -> list[int]:
        """Centres whose Hessian is recomputed now (the SPEED policies, per centre)."""
        m = self.method
        refresh = []
        for k, c in enumerate(self.centres):
            if m.reference_hessian:
                continue
            if c.h is None:
                refresh.append(k)
            elif m.adaptive_tol is not None:
                if c.last is None:
                    continue
                predicted = c.last.g + np.einsum("b,abkl->akl", means[k] - c.last.qbar, c.h)
                error = float(np.max(np.abs(g[k] - predicted)))
                self.max_gradient_error = max(self.max_gradient_error, error)
                if error > m.adaptive_tol:
                    refresh.append(k)
            elif self.n_evaluations % m.hessian_every == 0:
                refresh.append(k)
        return refresh

    def _misprediction(self, centre: TaylorData, points: np.ndarray, actual: np.ndarray,
                       record: bool = True) -> float:
        """The splitting measure of ``centre``'s expansion at ``points`` (P, D) with gradients ``actual``.

        Absolute, max |G - G_k - H_k d| (hartree per coordinate unit), when
        ``adaptive_tol`` is given; else that divided by max |G - G_k|.
        """
        d = self.periodicity.displacement(points, centre.qbar)
        predicted = centre.g[None] + np.einsum("pb,abkl->pakl", d, centre.h)
        error = float(np.max(np.abs(actual - predicted)))
        if record:  # the splitting test's largest value, reported in the result
            self.max_split_error = max(self.max_split_error, error)
        if self.method.adaptive_tol is not None:
            return error
        change = float(np.max(np.abs(actual - centre.g[None])))
        return error / change if change > 0 else 0.0

    def _split_threshold(self) -> float:
        tol = self.method.adaptive_tol
        return DEFAULT_SPLIT_FRACTION if tol is None else tol

    def _merge_redundant(self, q_all: np.ndarray, data: list) -> None:
        """Merge the pair of centres whose expansions predict each other's gradient best, if well enough.

        Two centres are redundant when each one's expansion predicts the
        other's gradient (already computed: no new evaluation for the test)
        within a quarter of the splitting threshold; the quarter keeps the
        merged group from splitting again at once (its halves lie about half
        as far from its mean, and the misprediction grows with the square of
        the distance). At most one pair per step; the merged group gets a new
        expansion at its mean. Its members change surface, like at regrouping.
        """
        k = len(self.centres)
        best = None
        for i in range(k):
            for j in range(i + 1, k):
                error = max(self._misprediction(data[i], data[j].qbar[None], data[j].g[None], record=False),
                            self._misprediction(data[j], data[i].qbar[None], data[i].g[None], record=False))
                if error < MERGE_FRACTION * self._split_threshold() and (best is None or error < best[0]):
                    best = (error, i, j)
        if best is None:
            return
        _, i, j = best
        labels = self.labels.copy()
        labels[labels == j] = i
        labels[labels > j] -= 1          # labels stay 0..K-2
        self.labels = labels
        del self.centres[j], data[j]
        mean = self.periodicity.mean(q_all[labels == i])[None, :]
        v, g = self._potential_gradient(mean)
        h = self._hessians(mean)
        self.centres[i] = _Centre(h=h[0], h_point=mean[0])
        data[i] = TaylorData(mean[0], v[0], g[0], h[0])
        self.n_merges += 1

    def _split_where_mispredicted(self, q_all: np.ndarray, data: list) -> None:
        """Split groups whose expansion mispredicts the gradient at the means of their two halves.

        Each group's members are cut in two by 2-means; the gradient at the
        two halves' means (one batched call for all groups) is compared with
        the group's expansion, max |G(qbar_half) - G_k - H_k (qbar_half -
        qbar_k)|, the measure of ``SPEED(adaptive_tol=...)``. Groups above
        ``adaptive_tol`` are split, largest misprediction first, while there
        is room under ``max_centres``; the halves' gradients are reused as
        the new centres' G.
        """
        room = self.max_centres - len(self.centres)
        if room <= 0:
            return
        candidates = []
        for k in range(len(self.centres)):
            members = np.flatnonzero(self.labels == k)
            if len(members) < 2:
                continue
            halves = kmeans(self.periodicity.embed(q_all[members], self.mass), 2)
            if halves.max() == 0:  # every member at one point
                continue
            means = np.array([self.periodicity.mean(q_all[members[halves == i]]) for i in (0, 1)])
            candidates.append((k, members, halves, means))
        if not candidates:
            return
        probes = np.concatenate([c[3] for c in candidates])
        g_probe = self.model.gradient(probes)
        for point, gk in zip(probes, g_probe):
            _check_at_point(self.model, point, _CENTRE, gradient=gk)
        ranked = []
        for i, (k, members, halves, means) in enumerate(candidates):
            error = self._misprediction(data[k], means, g_probe[2 * i:2 * i + 2])
            if error > self._split_threshold():
                ranked.append((-error, k, i))
        for _, k, i in sorted(ranked)[:room]:
            self._split(k, candidates[i], g_probe[2 * i:2 * i + 2], data)

    def _split(self, k: int, candidate, g: np.ndarray, data: list) -> None:
        """Group k becomes its first half; its second half is a new group (labels appended)."""
        _, members, halves, means = candidate
        new = len(self.centres)
        self.labels = self.labels.copy()
        self.labels[members[halves == 1]] = new
        v = self.model.potential(means)
        h = self._hessians(means)
        for i, j in enumerate((k, new)):
            _check_at_point(self.model, means[i], _CENTRE, potential=v[i])
            centre = _Centre(h=h[i], h_point=means[i])
            item = TaylorData(means[i], v[i], g[i], h[i])
            if j == new:
                self.centres.append(centre)
                data.append(item)
            else:
                self.centres[j] = centre
                data[j] = item
        self.n_splits += 1

    def _potential_gradient(self, points: np.ndarray):
        """V (K, S, S) and G (K, D, S, S) at the centres: one batched call each (one executor map)."""
        # one call for both: an on-the-fly model that returns gradients computes each point once
        v, g = self.model.potential_and_gradient(points)
        if not (np.all(np.isfinite(v)) and np.all(np.isfinite(g))):  # name the first bad centre
            try:
                for point, vk, gk in zip(points, v, g):
                    _check_at_point(self.model, point, _CENTRE, potential=vk, gradient=gk)
            except ModelError as exc:
                raise ModelError(f"{exc}; {_RUNAWAY}") from None
        return v, g

    def _hessians(self, points: np.ndarray) -> np.ndarray:
        h = self.model.hessian(points)
        if not np.all(np.isfinite(h)):
            for point, hk in zip(points, h):
                _check_at_point(self.model, point, _CENTRE, hessian=hk)
        self.n_hessians += len(points)
        return h

    def _compute_hessians(self, which: list[int], means: np.ndarray) -> None:
        if not which or self.method.reference_hessian:
            return
        h = self._hessians(means[which])
        for i, k in enumerate(which):
            self.centres[k].h, self.centres[k].h_point = h[i], means[k]

    def _reference_hessian(self, q_all: np.ndarray) -> None:
        """One Hessian for every centre and the whole run (default: at the initial plain mean)."""
        ref = self.method.reference_geometry
        point = q_all.mean(axis=0) if ref is None else np.asarray(ref, dtype=float)
        self.reference_h = self._hessians(point[None, :])[0]
        self.reference_point = point

    def _hessian(self, centre: _Centre) -> np.ndarray | None:
        return self.reference_h if self.method.reference_hessian else centre.h

    # -- results and checkpoints ------------------------------------------------------
    def time_series(self) -> dict[str, np.ndarray]:
        """Variables on the result's time axis: ``n_centres`` at every output time."""
        return {"n_centres": np.array(self.n_centres_record, dtype=np.int64)}

    def statistics(self) -> dict[str, Any]:
        return {"hessian_policy": self.method.policy, "hessian_evaluations_speed": self.n_hessians,
                "taylor_expansions": self.n_expansions, "centres": str(self.method.centres),
                "max_n_centres": max(self.n_centres_record, default=len(self.centres)),
                "centre_splits": self.n_splits, "centre_merges": self.n_merges,
                "regroupings": self.n_regroupings,
                "max_gradient_prediction_error": self.max_gradient_error,
                "max_split_prediction_error": self.max_split_error,
                **_call_statistics(self.model, self._calls0)}

    def get_state(self) -> dict[str, Any]:
        """Grouping, every centre's cache and the counters (arrays and scalars)."""
        state: dict[str, Any] = {
            "n_evaluations": self.n_evaluations, "n_hessians": self.n_hessians,
            "n_expansions": self.n_expansions, "max_gradient_error": self.max_gradient_error,
            "max_split_error": self.max_split_error,
            "n_splits": self.n_splits, "n_merges": self.n_merges, "n_regroupings": self.n_regroupings,
            "n_centres_record": np.array(self.n_centres_record, dtype=np.int64)}
        if self.labels is None:
            return state
        state["labels"] = np.array(self.labels, dtype=np.int64)
        d, s = self.model.n_dof, self.model.n_states
        k = len(self.centres)
        cached = [x for c in self.centres
                  for x in (c.h, *(() if c.last is None else (c.last.v, c.last.g))) if x is not None]
        dtype = np.result_type(np.float64, *cached)
        flags = np.zeros((k, 2), dtype=np.int64)  # has H, has previous expansion
        h = np.zeros((k, d, d, s, s), dtype=dtype)
        h_point = np.zeros((k, d))
        last_q, last_v, last_g = np.zeros((k, d)), np.zeros((k, s, s), dtype=dtype), np.zeros((k, d, s, s), dtype)
        for i, c in enumerate(self.centres):
            flags[i] = (c.h is not None, c.last is not None)
            if c.h is not None:
                h[i], h_point[i] = c.h, c.h_point
            if c.last is not None:
                last_q[i], last_v[i], last_g[i] = c.last.qbar, c.last.v, c.last.g
        state.update(centre_flags=flags, centre_hessian=h, centre_hessian_point=h_point,
                     centre_last_qbar=last_q, centre_last_v=last_v, centre_last_g=last_g)
        if self.reference_h is not None:
            state.update(reference_hessian=self.reference_h, reference_point=self.reference_point)
        return state

    def check_state(self, state: dict[str, Any], n_traj: int, n_records: int, where: str) -> None:
        """Refuse a checkpoint whose grouping does not fit this run (InputError naming the array).

        Parameters
        ----------
        state : dict
            As :meth:`get_state` gives it (read back from a checkpoint).
        n_traj : int
            Trajectories of the run.
        n_records : int
            Output times recorded in the checkpoint (one ``n_centres`` each).
        where : str
            The checkpoint, for the message.
        """
        d, s = self.model.n_dof, self.model.n_states

        def need(name, shape):
            if name not in state:
                raise InputError(f"{where} is incomplete: no 'source/{name}'")
            if np.shape(state[name]) != shape:
                raise InputError(f"{where} holds 'source/{name}' of shape {np.shape(state[name])}, this run "
                                 f"needs {shape}")

        need("n_centres_record", (n_records,))
        need("labels", (n_traj,))
        k = int(np.shape(state.get("centre_flags", np.zeros((0, 2))))[0])
        labels = np.asarray(state["labels"])
        if k < 1 or labels.min() < 0 or labels.max() != k - 1 or len(np.unique(labels)) != k:
            raise InputError(f"{where} holds a grouping of {k} centres that does not fit its labels")
        for name, shape in (("centre_flags", (k, 2)), ("centre_hessian", (k, d, d, s, s)),
                            ("centre_hessian_point", (k, d)), ("centre_last_qbar", (k, d)),
                            ("centre_last_v", (k, s, s)), ("centre_last_g", (k, d, s, s))):
            need(name, shape)

    def set_state(self, state: dict[str, Any]) -> None:
        for key in ("n_evaluations", "n_hessians", "n_expansions", "n_splits", "n_merges", "n_regroupings"):
            setattr(self, key, int(state[key]))
        self.max_gradient_error = float(state["max_gradient_error"])
        self.max_split_error = float(state["max_split_error"])
        self.n_centres_record = [int(x) for x in np.asarray(state["n_centres_record"])]
        if "labels" not in state:
            self.labels, self.centres = None, []
            return
        self.labels = np.array(state["labels"], dtype=np.int64)
        flags = np.asarray(state["centre_flags"])
        if flags.shape[0] != int(self.labels.max()) + 1 or self.labels.min() < 0:
            raise InputError("the multi-centre grouping in the checkpoint is inconsistent")
        self.centres = []
        for i, (has_h, has_last) in enumerate(flags):
            c = _Centre()
            if has_h:
                c.h = np.array(state["centre_hessian"][i])
                c.h_point = np.array(state["centre_hessian_point"][i])
            if has_last:
                c.last = TaylorData(np.array(state["centre_last_qbar"][i]), np.array(state["centre_last_v"][i]),
                                    np.array(state["centre_last_g"][i]), c.h)
            self.centres.append(c)
        if "reference_hessian" in state:
            self.reference_h = np.array(state["reference_hessian"])
            self.reference_point = np.array(state["reference_point"])


#: Where multi-centre SPEED evaluates the model, in messages.
_CENTRE = "a group mean (a multi-centre SPEED expansion point)"

#: Why a group mean goes where the model is not finite, and what to do.
_RUNAWAY = ("a group's quadratic surface need not hold its members where the model would (no repulsive "
            "wall, or negative curvature), so they can run away and a later group mean can land where the "
            "model overflows (furan with regrouping does this): use fewer centres, no regroup_every, or Ehrenfest")
