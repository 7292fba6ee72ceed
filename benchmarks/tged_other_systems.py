"""Where one thawed Gaussian suffices and where it does not: TGED on the other built-in systems.

    PYTHONPATH=src python benchmarks/tged_other_systems.py

Prints final populations of variational TGED next to one Ehrenfest
trajectory at the wavepacket centre and, for Tully's 1-D models, the exact
split-operator answer. Output kept in benchmarks/results/tged_other_systems.txt.
"""

import time

import numpy as np

import ehrenspeed as es
from ehrenspeed.reproduce.common import centre_state
from ehrenspeed.reproduce.furan import DT as FURAN_DT, FLIGHTS, OUTPUT_EVERY, START_OFFSET, flight_time


def line(*parts):
    print(*parts, flush=True)


def tully():
    for model in (es.models.TullySimple(), es.models.TullyDual(), es.models.TullyExtended()):
        wp = model.initial_wavepacket()
        x0, k0 = float(wp.q0[0]), float(wp.p0[0])
        t_final = 2.0 * abs(x0) * model.mass[0] / k0
        common = dict(dt=2.0, t_final=t_final, output_every=int(t_final / 2.0) // 10)
        t = time.perf_counter()
        tged = es.run(model, wp, method="tged", integrator="yoshida4", **common)
        wall = time.perf_counter() - t
        one = es.run(model, centre_state(model, wp), method="ehrenfest", integrator="yoshida4", **common)
        grid = es.Grid([-4.0 * abs(x0)], [4.0 * abs(x0)], [2048])
        exact = es.run_exact(model, wp, grid, **common)
        line(f"{model.name}, k0 = {k0:g}, t = {t_final:.0f} a.u.: final P_1 exact {exact.population.values[-1, 1]:.4f}, "
             f"TGED {tged.population.values[-1, 1]:.4f}, one Ehrenfest {one.population.values[-1, 1]:.4f}; "
             f"<x> exact {exact.position.values[-1, 0]:.2f}, TGED {tged.position.values[-1, 0]:.2f}; "
             f"TGED {wall:.2f} s")


def furan():
    model = es.models.FuranDimer()
    for temperature in (100.0, 300.0, 500.0):
        wp = model.initial_wavepacket(temperature=temperature, offset_angstrom=START_OFFSET)
        t_final = FLIGHTS * flight_time(model, float(wp.q0[0]), float(wp.p0[0]))
        common = dict(dt=FURAN_DT, t_final=t_final, output_every=OUTPUT_EVERY)
        t = time.perf_counter()
        tged = es.run(model, wp, method="tged", **common)
        wall = time.perf_counter() - t
        one = es.run(model, centre_state(model, wp), method="ehrenfest", **common)
        line(f"furan dimer, {temperature:.0f} K: final P_1 TGED {tged.population.values[-1, 0]:.4f}, "
             f"one Ehrenfest {one.population.values[-1, 0]:.4f} (exact 0.5, docs/reproductions.md); "
             f"TGED {wall:.1f} s, energy drift {tged.attrs['max_energy_drift']:.1e}")


def chemisorption():
    model = es.models.Chemisorption()
    wp = model.initial_wavepacket()
    common = dict(dt=20.0, t_final=20000.0, output_every=50, integrator="yoshida4")
    t = time.perf_counter()
    tged = es.run(model, wp, method="tged", **common)
    wall = time.perf_counter() - t
    one = es.run(model, centre_state(model, wp), method="ehrenfest", **common)
    late = tged.time.values > 10000.0
    line(f"chemisorption, t = 20000 a.u.: <q> TGED {tged.position.values[-1, 0]:.2f}, one Ehrenfest "
         f"{one.position.values[-1, 0]:.2f} bohr; late std of <V> TGED "
         f"{np.std(tged.potential_energy.values[late]) * 1e3:.3f}, one Ehrenfest "
         f"{np.std(one.potential_energy.values[late]) * 1e3:.3f} mEh; TGED {wall:.1f} s")


def retinal():
    model = es.models.Retinal()
    wp = model.initial_wavepacket()
    fs = 41.341373
    common = dict(dt=0.1 * fs, t_final=300.0 * fs, output_every=250, integrator="yoshida4")
    t = time.perf_counter()
    tged = es.run(model, wp, method=es.ThawedGaussianEhrenfest(quadrature_points=8), **common)
    wall = time.perf_counter() - t
    one = es.run(model, centre_state(model, wp), method="ehrenfest", **common)
    for ds, name in ((tged, "TGED"), (one, "one Ehrenfest")):
        line(f"retinal, {name}: P_excited at 100/200/300 fs "
             f"{', '.join(f'{x:.3f}' for x in ds.population.values[[4, 8, 12], 1])}, phi "
             f"{', '.join(f'{x:.2f}' for x in ds.position.values[[4, 8, 12], 0])}")
    line(f"retinal TGED (8 x 8 Gauss-Hermite nodes): {wall:.1f} s")


if __name__ == "__main__":
    tully()
    furan()
    chemisorption()
    retinal()
