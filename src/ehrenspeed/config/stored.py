"""The configuration stored in a result: the configuration-file layout, for every method.

Every result's ``config`` attribute is a JSON object with the tables of a
configuration file (docs/configuration.md, "The configuration stored in a
result"): ``model``, ``initial``, ``method``, ``run``, ``grid`` (exact
method only) and, when ``ehrenspeed run`` wrote it, ``output``. The library
calls (:func:`ehrenspeed.run`, :func:`ehrenspeed.grid.run_exact`) describe
their arguments with :func:`trajectory_layout` and :func:`exact_layout`;
``ehrenspeed run`` stores :meth:`Config.to_json`. So a reader never
special-cases the method, and ``ehrenspeed run RESULT.nc`` re-runs any of
them.

:func:`upgrade` turns the layouts that earlier versions stored (the
trajectory driver's flat dict, ``run_exact``'s ``"model": name`` plus
``"model_parameters"``) into the current one.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

import numpy as np

from ..errors import InputError

#: The ``[initial]`` table of a run started from explicit arrays (an
#: ``es.State``), which no configuration file can hold: such a result
#: describes itself but cannot be re-run.
EXPLICIT_STATE_KEY = "explicit_state"


# -- writing: library arguments -> layout -------------------------------------
def trajectory_layout(model, initial, method: Mapping[str, Any], *, n_traj: int, dt: float,
                      t_final: float, times, output_every, integrator: str, seed,
                      save_trajectories: bool) -> dict[str, Any]:
    """The stored configuration of an :func:`ehrenspeed.run` call.

    Parameters
    ----------
    model : Model
        Its ``name`` and ``parameters()`` make the ``[model]`` table.
    initial : Wavepacket or State
        A wavepacket becomes an explicit ``[initial]`` Gaussian; a State
        becomes ``{explicit_state = true}``.
    method : mapping
        ``method.describe()``; None values are left out (TOML has no null).
    n_traj, dt, t_final, integrator, seed, save_trajectories
        The run's settings (dt and t_final in a.u.).
    times : ndarray, shape (T,)
        The run's output times, a.u.
    output_every : int or None
        As passed to the run; kept when it reproduces ``times``, else the
        times are stored as ``output_times``.

    Returns
    -------
    dict
        JSON-ready; settings that never change the numbers (``chunk_size``,
        ``backend``, ``energy_drift_warning``, checkpointing) are left out.
    """
    run = {"dt": float(dt), "t_final": float(t_final), "integrator": str(integrator), "n_traj": int(n_traj)}
    run.update(_time_axis(times, dt, t_final, output_every))
    seed_value = _seed(seed)
    if seed_value is not None:
        run["seed"] = seed_value
    if dict(method).get("name") != "tged":  # one Gaussian stores no trajectories
        run["save_trajectories"] = bool(save_trajectories)
    return {"model": model_table(model), "initial": initial_table(initial, n_traj),
            "method": {k: v for k, v in jsonable(dict(method)).items() if v is not None}, "run": run}


def exact_layout(model, wavepacket, grid, *, dt: float, t_final: float, output_every, output_times,
                 integrator: str) -> dict[str, Any]:
    """The stored configuration of a :func:`ehrenspeed.grid.run_exact` call.

    Parameters
    ----------
    model : Model
    wavepacket : Wavepacket
    grid : Grid
        Its ``lower``, ``upper`` and ``points`` make ``[grid]``; periodic
        axes follow from the model's periods when the run is repeated.
    dt, t_final : float
        a.u.
    output_every : int
    output_times : array_like or None
        When given, stored instead of ``output_every`` (the run ignores
        ``output_every`` then).
    integrator : str

    Returns
    -------
    dict
        JSON-ready; options that never change the numbers (``workers``,
        ``edge_threshold``, ``memory_limit_bytes``, ``use_numba``) are left out.
    """
    run: dict[str, Any] = {"dt": float(dt), "t_final": float(t_final), "integrator": str(integrator)}
    if output_times is not None:
        run["output_times"] = np.asarray(output_times, dtype=float).ravel().tolist()
    else:
        run["output_every"] = int(output_every)
    return {"model": model_table(model), "initial": initial_table(wavepacket), "method": {"name": "exact"},
            "run": run, "grid": {"lower": np.asarray(grid.lower, float).tolist(),
                                 "upper": np.asarray(grid.upper, float).tolist(),
                                 "points": [int(n) for n in grid.points]}}


def model_table(model) -> dict[str, Any]:
    """``[model]``: the model's registry name and constructor parameters."""
    try:
        params = model.parameters()
    except (AttributeError, TypeError):  # a user's model object without a record
        params = {}
    return {"name": getattr(model, "name", "user"), "parameters": jsonable(params)}


def initial_table(initial, n_traj: int | None = None) -> dict[str, Any]:
    """``[initial]``: an explicit Gaussian, or the explicit-State marker."""
    to_dict = getattr(initial, "to_dict", None)
    if to_dict is None:  # an es.State: its arrays are not part of a configuration
        table: dict[str, Any] = {EXPLICIT_STATE_KEY: True}
        if n_traj is not None:
            table["n_traj"] = int(n_traj)
        return table
    return {"from_model": False, **jsonable(to_dict())}


def _time_axis(times, dt: float, t_final: float, output_every) -> dict[str, Any]:
    """``output_every`` when it gives ``times`` again, else ``output_times``."""
    from ..schedule import output_times

    times = np.asarray(times, dtype=float)
    if output_every is not None and times.size and times[0] == 0.0:
        try:
            regular = output_times(dt, t_final, output_every)
        except InputError:
            regular = None
        if regular is not None and regular.shape == times.shape and np.array_equal(regular, times):
            return {"output_every": int(output_every)}
    return {"output_times": times.tolist()}


def _seed(seed) -> int | str | None:
    """The seed as ``[run] seed`` holds it.

    An integer is stored as is; a SeedSequence made from one integer (no
    spawn key) draws the same numbers as that integer, so it is stored as
    it. Any other SeedSequence is stored as text: the result describes
    itself, and a re-run refuses it (the run cannot be repeated from a
    file). None (an unseeded run) is left out.
    """
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return int(seed)
    if isinstance(seed, np.random.SeedSequence):
        if not seed.spawn_key and isinstance(seed.entropy, (int, np.integer)):
            return int(seed.entropy)
        return str(seed)
    if seed is None:
        return None
    return str(seed)


def jsonable(value: Any) -> Any:
    """A deep copy of ``value`` that JSON can hold (numpy values, tuples, complex numbers)."""
    def default(obj):
        if isinstance(obj, np.ndarray):
            if np.iscomplexobj(obj):
                return {"real": obj.real.tolist(), "imag": obj.imag.tolist()}
            return obj.tolist()
        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, complex):
            return {"real": obj.real, "imag": obj.imag}
        return repr(obj)
    return json.loads(json.dumps(value, default=default))


# -- reading: older layouts -> layout -----------------------------------------
def upgrade(stored: Mapping[str, Any], source: str = "<result>") -> dict[str, Any]:
    """The current layout of a stored configuration, whichever version wrote it.

    Parameters
    ----------
    stored : mapping
        The parsed ``config`` attribute of a result.
    source : str
        Named in error messages.

    Returns
    -------
    dict
        The configuration-file layout (unchanged if already current).

    Raises
    ------
    InputError
        When ``stored`` is none of the known layouts.
    """
    stored = dict(stored)
    if "run" in stored:  # the current layout (every writer since the layout was unified)
        return stored
    try:
        if stored.get("method") == "exact":
            return _upgrade_exact(stored)
        return _upgrade_trajectory(stored)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise InputError(f"{source}: not a stored configuration ehrenspeed can read "
                         f"(missing or bad {exc})") from None


def _upgrade_exact(stored: dict[str, Any]) -> dict[str, Any]:
    """``run_exact``'s old layout: ``"model": name``, ``"model_parameters"``, ``"wavepacket"``."""
    run = {"dt": stored["dt"], "t_final": stored["t_final"], "integrator": stored.get("integrator", "strang")}
    if stored.get("output_times") is not None:
        run["output_times"] = stored["output_times"]
    else:
        run["output_every"] = stored.get("output_every") or 1
    return {"model": {"name": stored["model"], "parameters": stored.get("model_parameters") or {}},
            "initial": upgrade_initial(stored["wavepacket"]), "method": {"name": "exact"}, "run": run,
            "grid": {k: stored["grid"][k] for k in ("lower", "upper", "points")}}


def _upgrade_trajectory(stored: dict[str, Any]) -> dict[str, Any]:
    """The trajectory driver's old flat layout (``"integrator"``, ``"n_traj"`` ... at the top)."""
    method = {k: v for k, v in dict(stored["method"]).items() if v is not None}
    run = {"dt": stored["dt"], "t_final": stored["t_final"], "integrator": stored["integrator"],
           "n_traj": stored["n_traj"]}
    times = stored.get("output_times")
    if times is not None:
        run.update(_time_axis(times, stored["dt"], stored["t_final"], stored.get("output_every")))
    else:
        run["output_every"] = stored.get("output_every") or 1
    if stored.get("seed") is not None:
        run["seed"] = stored["seed"]
    if stored.get("chunk_size") is not None:
        run["chunk_size"] = stored["chunk_size"]
    model = stored["model"]
    return {"model": {"name": model["name"], "parameters": model.get("parameters") or {}},
            "initial": upgrade_initial(stored["initial"], stored["n_traj"]), "method": method, "run": run}


def upgrade_initial(wp: Mapping[str, Any], n_traj: int | None = None) -> dict[str, Any]:
    """``[initial]`` from an old stored wavepacket dict (or the explicit-State record)."""
    if wp.get(EXPLICIT_STATE_KEY):
        table: dict[str, Any] = {EXPLICIT_STATE_KEY: True}
        if n_traj is not None:
            table["n_traj"] = n_traj
        return table
    return {"from_model": False, "q0": wp["q0"], "p0": wp["p0"], "width": wp["width"], "state": wp["state"]}


def check_rerunnable(layout: Mapping[str, Any], source: str) -> None:
    """Refuse, with a message, a stored layout no configuration file can repeat.

    Raises
    ------
    InputError
        The run started from explicit arrays (an ``es.State``).
    """
    initial = layout.get("initial")
    if isinstance(initial, Mapping) and initial.get(EXPLICIT_STATE_KEY):
        raise InputError(f"{source}: the run started from an explicit es.State (initial.explicit_state), "
                         "which a configuration cannot describe; it cannot be re-run")
