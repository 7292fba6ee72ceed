"""Measured numbers of docs/tged.md: exactness, convergence slopes, energy drift, timings.

    PYTHONPATH=src python benchmarks/tged_convergence.py
"""

import sys
import time
from pathlib import Path

import numpy as np

import ehrenspeed as es

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_tged import errors_against_reference  # noqa: E402  (the analytic reference of the tests)


def slopes():
    model = es.models.DisplacedOscillators(n_states=2, coupling=0.04)
    wp = model.initial_wavepacket()
    for integrator, steps in (("strang", (0.1, 0.05, 0.025)), ("yoshida4", (0.2, 0.1, 0.05)),
                              ("yoshida6", (0.4, 0.2, 0.1))):
        errs = [errors_against_reference(model, wp, dt, integrator) for dt in steps]
        for key in ("population", "potential", "position", "width"):
            e = [x[key] for x in errs]
            slope = np.polyfit(np.log(steps), np.log(e), 1)[0] if min(e) > 1e-13 else float("nan")
            print(f"displaced oscillators (2 states, 2-D), t <= 6: {integrator:8s} {key:10s} "
                  f"errors {', '.join(f'{x:.2e}' for x in e)}  slope {slope:.2f}")


def anharmonic():
    model = es.models.TullyDual()
    wp = es.Wavepacket([-4.0], [25.0], [4.0], 0)
    kwargs = dict(t_final=300.0, output_times=[0.0, 150.0, 300.0], method="tged")
    ref = es.run(model, wp, dt=1.0, integrator="yoshida6", **kwargs)
    for integrator, steps in (("strang", (8.0, 4.0, 2.0)), ("yoshida4", (12.0, 6.0, 3.0))):
        errs = []
        for dt in steps:
            res = es.run(model, wp, dt=dt, integrator=integrator, **kwargs)
            errs.append(np.abs(res.position.values - ref.position.values).max()
                        + np.abs(res.population.values - ref.population.values).max())
        slope = np.polyfit(np.log(steps), np.log(errs), 1)[0]
        print(f"Tully dual crossing, variational (Gauss-Hermite 10): {integrator:8s} "
              f"errors {', '.join(f'{x:.2e}' for x in errs)}  slope {slope:.2f}")
    for dt in (4.0, 2.0, 1.0):
        res = es.run(model, es.Wavepacket([-4.0], [25.0], [2.0], 0), method="tged", dt=dt, t_final=600.0,
                     output_every=int(20 / dt))
        e = res.total_energy.values
        print(f"Tully dual, strang dt = {dt}: max |E - E0| = {np.abs(e - e[0]).max():.2e} hartree, "
              f"max |norm - 1| = {np.abs(res.norm.values - 1).max():.1e}, "
              f"P_1(600) = {res.population.values[-1, 1]:.4f}")


def timings():
    model = es.models.Pyrazine3()
    wp = model.initial_wavepacket()
    for name, method in (("variational", "tged"), ("single_hessian", es.ThawedGaussianEhrenfest("single_hessian"))):
        t = time.perf_counter()
        res = es.run(model, wp, method=method, dt=4.13, t_final=5000.0, output_every=10, integrator="yoshida4")
        print(f"pyrazine, {name}, yoshida4, 5000 a.u. ({res.attrs['n_steps']} steps): "
              f"{time.perf_counter() - t:.2f} s, {res.attrs['potential_evaluations']} potential and "
              f"{res.attrs['hessian_evaluations']} Hessian evaluations, "
              f"max |P_S2 - 1| = {np.abs(res.population.values[:, 2] - 1).max():.1e}, "
              f"energy drift {res.attrs['max_energy_drift']:.1e}")


if __name__ == "__main__":
    slopes()
    anharmonic()
    timings()
