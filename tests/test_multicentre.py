"""Multi-centre SPEED (issue 15, section 1): the limits that are tests.

* K = 1 is today's SPEED bit for bit; one group per trajectory is Ehrenfest
  to round-off; on a quadratic model every K (fixed, regrouped, adaptive)
  is Ehrenfest to round-off;
* the grouping is a function of the whole ensemble: results do not depend
  on the chunk size (here) or the number of MPI ranks (test_mpi.py);
* a run interrupted and resumed from its checkpoint is the uninterrupted run;
* k-means in the embedded coordinates does not split a group at a periodic
  coordinate's seam;
* evaluations per substep are K, and ``n_centres`` is a time series.
"""

from __future__ import annotations

import numpy as np
import pytest

import ehrenspeed as es
from ehrenspeed.cli.main import main
from ehrenspeed.driver import TrajectoryRun
from ehrenspeed.multicentre import MultiCentreSource, Periodicity, kmeans

TRAJECTORY = ("trajectory_position", "trajectory_momentum", "trajectory_coefficients_real",
              "trajectory_coefficients_imag")


def assert_identical(a, b):
    assert set(a.variables) == set(b.variables)
    for name in a.variables:
        assert np.array_equal(a[name].values, b[name].values), name


def max_difference(a, b):
    return max(float(np.abs(a[name].values - b[name].values).max()) for name in TRAJECTORY)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_one_centre_is_speed_bit_for_bit(backend):
    model = es.models.Retinal()
    kwargs = dict(n_traj=12, dt=4.0, t_final=120.0, output_every=10, seed=2, save_trajectories=True,
                  backend=backend)
    speed = es.run(model, model.initial_wavepacket(), es.SPEED(), **kwargs)
    one = es.run(model, model.initial_wavepacket(), es.SPEED(centres=1), **kwargs)
    assert_identical(speed, one)
    assert one.attrs["config"] == speed.attrs["config"]   # the same stored configuration, too
    assert "n_centres" not in one


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("name", ["retinal", "tully_dual"])
def test_one_group_per_trajectory_is_ehrenfest(name, backend):
    """K = N: every trajectory is its own centre, d = 0, so V_eff = V and dV_eff/dq = dV/dq."""
    model = es.models.get(name)
    n = 10
    kwargs = dict(n_traj=n, dt=4.0, t_final=200.0, output_every=10, seed=4, save_trajectories=True,
                  backend=backend)
    ehrenfest = es.run(model, model.initial_wavepacket(), "ehrenfest", **kwargs)
    many = es.run(model, model.initial_wavepacket(), es.SPEED(centres=n), **kwargs)
    assert max_difference(ehrenfest, many) < 1e-10
    assert np.all(many.n_centres.values == n)


@pytest.mark.parametrize("method", [es.SPEED(centres=3), es.SPEED(centres=4, regroup_every=5),
                                    es.SPEED(centres=2, hessian_every=3),
                                    es.SPEED(centres=3, reference_hessian=True),
                                    es.SPEED(centres="adaptive", max_centres=4, adaptive_tol=1e-12)],
                         ids=["K3", "K4-regroup", "K2-every3", "K3-reference", "adaptive"])
def test_quadratic_model_is_ehrenfest_for_any_centres(pyrazine, method):
    kwargs = dict(n_traj=16, dt=4.0, t_final=200.0, output_every=10, seed=5, save_trajectories=True)
    ehrenfest = es.run(pyrazine, pyrazine.initial_wavepacket(), "ehrenfest", **kwargs)
    multi = es.run(pyrazine, pyrazine.initial_wavepacket(), method, **kwargs)
    assert max_difference(ehrenfest, multi) < 1e-10
    np.testing.assert_allclose(multi.population.values, ehrenfest.population.values, atol=1e-12)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("method", [es.SPEED(centres=3, regroup_every=4),
                                    es.SPEED(centres="adaptive", max_centres=5, adaptive_tol=1e-7)],
                         ids=["K3-regroup", "adaptive"])
def test_chunk_size_changes_nothing(method, backend):
    model = es.models.Retinal()
    kwargs = dict(method=method, n_traj=23, dt=4.0, t_final=160.0, output_every=8, seed=6,
                  save_trajectories=True, backend=backend)
    whole = es.run(model, model.initial_wavepacket(), **kwargs)
    for chunk in (1, 5):
        assert_identical(whole, es.run(model, model.initial_wavepacket(), chunk_size=chunk, **kwargs))


class Stop(Exception):
    pass


@pytest.mark.parametrize("method", [es.SPEED(centres=3), es.SPEED(centres=3, regroup_every=4),
                                    es.SPEED(centres=2, adaptive_tol=1e-6),
                                    es.SPEED(centres=2, reference_hessian=True),
                                    es.SPEED(centres="adaptive", max_centres=6, adaptive_tol=2.2e-5)],
                         ids=["K3", "K3-regroup", "K2-adaptive-hessian", "K2-reference", "adaptive"])
def test_resume_is_bit_identical(tmp_path, method):
    model = es.models.Retinal()
    wp = model.initial_wavepacket()
    kwargs = dict(method=method, n_traj=14, dt=4.0, t_final=160.0, output_every=6, seed=7,
                  save_trajectories=True)
    reference = es.run(model, wp, **kwargs)
    path = tmp_path / "run.npz"

    def crash(run):  # a checkpoint at step 17 (mid-interval), then death
        if run.n_steps == 17:
            run.save_checkpoint(path)
            raise Stop

    sim = TrajectoryRun(model, wp, **kwargs)
    with pytest.raises(Stop):
        while not sim.done:
            sim.advance(None, crash)
    resumed = es.run(model, wp, checkpoint_every=5, checkpoint_path=path, resume=True, **kwargs)
    assert_identical(reference, resumed)
    for key in ("potential_evaluations", "gradient_evaluations", "hessian_evaluations", "centre_splits",
                "regroupings", "taylor_expansions", "hessian_evaluations_speed"):
        assert reference.attrs[key] == resumed.attrs[key], key


def test_evaluations_per_substep_and_n_centres_series():
    model = es.models.TullySimple()
    k, n_steps, n_out = 3, 40, 5
    res = es.run(model, model.initial_wavepacket(), es.SPEED(centres=k), n_traj=30, dt=10.0,
                 t_final=10.0 * n_steps, output_every=n_steps // (n_out - 1), seed=1, integrator="yoshida4")
    substeps = 3 * n_steps
    # K potentials and gradients per substep and per output time, whatever N
    assert res.attrs["potential_evaluations"] == k * (substeps + n_out)
    assert res.attrs["gradient_evaluations"] == k * (substeps + n_out)
    assert res.attrs["hessian_evaluations"] == k * (substeps + 1)   # every substep, plus the first record
    assert res.attrs["taylor_expansions"] == k * substeps
    assert res.n_centres.dims == ("time",)
    assert res.n_centres.values.tolist() == [k] * n_out


def test_adaptive_centres_split_up_to_the_maximum():
    model = es.models.Retinal()
    res = es.run(model, model.initial_wavepacket(), es.SPEED(centres="adaptive", max_centres=4, adaptive_tol=1e-5),
                 n_traj=40, dt=4.0, t_final=800.0, output_every=20, seed=1)
    series = res.n_centres.values
    assert series[0] == 1 and series[5] == 1 and series[-1] == 4   # the swarm splits late, not at once
    assert np.all(np.diff(series) >= 0)
    assert res.attrs["centre_splits"] == 3
    assert res.attrs["max_split_prediction_error"] > 1e-5
    # the one-substep measure at a group's own mean stays tiny: it cannot see the branching
    assert res.attrs["max_gradient_prediction_error"] < 1e-6


def test_adaptive_centres_as_api_md_writes_them():
    """``es.SPEED(centres="adaptive", max_centres=K)``, no tolerance: split by the relative misprediction."""
    model = es.models.Retinal()
    res = es.run(model, model.initial_wavepacket(), es.SPEED(centres="adaptive", max_centres=3),
                 n_traj=24, dt=4.0, t_final=4000.0, output_every=50, seed=1)
    series = res.n_centres.values
    assert series[0] == 1 and series[10] == 1 and series[-1] == 3   # splits when the swarm branches
    assert res.attrs["hessian_policy"] == "every_step"


def test_redundant_centres_merge(pyrazine):
    """On a quadratic model any two expansions predict each other exactly: adaptive centres merge them."""
    from ehrenspeed.counting import CountingModel

    q = es.sample_wigner(pyrazine.initial_wavepacket(), 20, 1, n_states=3).q
    source = MultiCentreSource(CountingModel(pyrazine), es.SPEED(centres="adaptive", max_centres=4))
    source._group(q, 3)
    context = source.evaluate(q)
    assert len(source.centres) == 2 and source.n_merges == 1 and source.n_splits == 0
    assert sorted(set(source.labels.tolist())) == [0, 1]
    assert len(context.centres) == 2
    source.evaluate(q)
    assert len(source.centres) == 1 and source.n_merges == 2


def test_kmeans_is_deterministic_and_numbered_by_first_appearance():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(5, 0.1, (20, 2)), rng.normal(-5, 0.1, (20, 2)), rng.normal(0, 0.1, (20, 2))])
    labels = kmeans(x, 3)
    assert np.array_equal(labels, kmeans(x.copy(), 3))
    assert labels[0] == 0 and labels[20] == 1 and labels[40] == 2
    assert np.array_equal(labels, np.repeat([0, 1, 2], 20))
    assert np.array_equal(kmeans(x[:2], 5), [0, 1])         # more clusters than points
    assert np.array_equal(kmeans(np.zeros((6, 2)), 3), np.zeros(6))   # one distinct point


def test_periodic_group_is_not_split_at_the_seam():
    """Torsion angles on both sides of the seam of [-pi/2, 3pi/2) are one group, with its mean at the seam."""
    model = es.models.Retinal()
    rng = np.random.default_rng(1)
    seam = -0.5 * np.pi
    phi = np.concatenate([seam + rng.uniform(-0.2, 0.2, 30), np.pi / 2 + rng.uniform(-0.2, 0.2, 30)])
    q = model.wrap(np.column_stack([phi, rng.normal(0, 0.1, 60)]))
    period = Periodicity(model)
    labels = kmeans(period.embed(q, np.asarray(model.mass, float)), 2)
    assert np.array_equal(labels, np.repeat([0, 1], 30))
    mean = period.mean(q[:30])
    assert abs(np.angle(np.exp(1j * (mean[0] - seam)))) < 0.1            # at the seam, not at pi/2
    d = period.displacement(q[:30], mean)
    assert np.abs(d[:, 0]).max() < 0.4                                   # minimum image


def test_multicentre_source_state_round_trip():
    model = es.models.Retinal()
    sim = TrajectoryRun(model, model.initial_wavepacket(), es.SPEED(centres=3), n_traj=9, dt=4.0, t_final=40.0,
                        seed=2)
    sim.advance()
    state = sim.source.get_state()
    other = MultiCentreSource(model, es.SPEED(centres=3))
    other.set_state(state)
    again = other.get_state()
    assert state.keys() == again.keys()
    for key, value in state.items():
        assert np.array_equal(np.asarray(value), np.asarray(again[key])), key


CONFIG = """
[model]
name = "retinal"
[initial]
from_model = true
[method]
name = "speed"
centres = {centres}
{extra}
[run]
n_traj = 12
dt = 4.0
t_final = 40.0
output_every = 5
seed = 3
"""


@pytest.mark.parametrize("centres, extra", [("4", ""), ('"adaptive"', "adaptive_tol = 1e-7\nmax_centres = 3"),
                                            ("2", "regroup_every = 3")])
def test_config_keys_and_stored_config_rerun(tmp_path, centres, extra):
    config = tmp_path / "run.toml"
    config.write_text(CONFIG.format(centres=centres, extra=extra))
    out, again = tmp_path / "out.nc", tmp_path / "again.nc"
    assert main(["run", str(config), "-o", str(out), "-q"]) == 0
    first = es.load(out)
    assert first.n_centres.dims == ("time",)
    assert main(["run", str(out), "-o", str(again), "-q"]) == 0
    second = es.load(again)
    for name in ("population", "position", "momentum", "total_energy", "n_centres"):
        assert np.array_equal(first[name].values, second[name].values), name


def test_two_mpi_ranks_equal_one_process(tmp_path):
    """The grouping is computed from the gathered rows: ``mpiexec -n 2`` gives the serial result bit for bit."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    pytest.importorskip("mpi4py")
    mpiexec = shutil.which("mpiexec")
    if mpiexec is None:
        pytest.skip("no mpiexec")
    script = Path(__file__).parent / "mpi" / "multicentre_ranks.py"
    proc = subprocess.run([mpiexec, "-n", "2", sys.executable, str(script), str(tmp_path)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    model = es.models.Retinal()
    cases = {"adaptive-regroup": es.SPEED(centres="adaptive", max_centres=5, adaptive_tol=2.2e-5, regroup_every=10)}
    for name, method in cases.items():
        serial = es.run(model, model.initial_wavepacket(), method, n_traj=15, dt=4.0, t_final=160.0,
                        output_every=6, seed=7, save_trajectories=True)
        from ehrenspeed.results import save

        save(serial, tmp_path / f"{name}-serial.nc")   # the same file round trip as the distributed results
        serial = es.load(tmp_path / f"{name}-serial.nc")
        for suffix in ("", "-resumed"):
            distributed = es.load(tmp_path / f"{name}{suffix}.nc")
            for var in serial.data_vars:
                assert np.array_equal(distributed[var].values, serial[var].values), (name, suffix, var)
            for key in ("potential_evaluations", "gradient_evaluations", "hessian_evaluations", "centre_splits",
                        "regroupings"):
                assert distributed.attrs[key] == serial.attrs[key], (name, suffix, key)
        assert serial.n_centres.values[0] == 1 and serial.n_centres.values[-1] > 1
        assert serial.attrs["regroupings"] > 0 and serial.attrs["centre_splits"] > 0


def test_on_the_fly_cost_is_k_times_speed():
    """Each centre costs what SPEED's one expansion costs: K times the single points, in batched calls."""
    tully = es.models.TullySimple()
    model = es.models.from_single_point(lambda q: tully.potential(q[None])[0], 2, 1, 2000.0, executor="serial",
                                        name="tully_sp")
    kwargs = dict(n_traj=9, dt=20.0, t_final=200.0, output_every=5, seed=1)
    wp = tully.initial_wavepacket()
    one = es.run(model, wp, es.SPEED(), **kwargs)
    three = es.run(model, wp, es.SPEED(centres=3), **kwargs)
    assert three.attrs["electronic_structure_calls"] == 3 * one.attrs["electronic_structure_calls"]
    assert three.attrs["hessian_evaluations"] == 3 * one.attrs["hessian_evaluations"]


@pytest.mark.parametrize("damage, expected", [
    (lambda a: a.pop("source/labels"), "no 'source/labels'"),
    (lambda a: a.__setitem__("source/labels", a["source/labels"][:-1]), "'source/labels' of shape"),
    (lambda a: a.__setitem__("source/labels", np.zeros_like(a["source/labels"])), "grouping of 3 centres"),
    (lambda a: a.__setitem__("source/centre_hessian", a["source/centre_hessian"][:2]), "'source/centre_hessian'"),
])
def test_damaged_grouping_in_checkpoint_is_refused(tmp_path, damage, expected):
    model = es.models.Retinal()
    kwargs = dict(method=es.SPEED(centres=3), n_traj=9, dt=4.0, t_final=40.0, seed=2)
    sim = TrajectoryRun(model, model.initial_wavepacket(), **kwargs)
    sim.advance()
    arrays, meta = sim.checkpoint_state()
    damage(arrays)
    other = TrajectoryRun(model, model.initial_wavepacket(), **kwargs)
    with pytest.raises(es.InputError, match=expected.replace("(", r"\(")):
        other.restore(arrays, meta)


def test_compiled_and_numpy_substeps_agree():
    """The per-group compiled kernel and the NumPy reference give the same dynamics to round-off."""
    model = es.models.Retinal()
    kwargs = dict(method=es.SPEED(centres=3), n_traj=12, dt=4.0, t_final=120.0, output_every=10, seed=8,
                  save_trajectories=True)
    fast = es.run(model, model.initial_wavepacket(), backend="numba", **kwargs)
    reference = es.run(model, model.initial_wavepacket(), backend="numpy", **kwargs)
    assert max_difference(fast, reference) < 1e-9
