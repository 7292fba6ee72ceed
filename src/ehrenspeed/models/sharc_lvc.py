"""SHARC ``LVC.template`` files for vibronic coupling models.

SHARC's LVC interface (SHARC manual, version 4, section 6.4 "LVC
Interface" and section 8.18 "Linear/Quadratic Vibronic Coupling Models";
the reading code is ``bin/SHARC_LVC.py`` of https://github.com/sharc-md/sharc4
and, without ``eta`` and ``gamma``, of https://github.com/sharc-md/sharc)
builds, in dimensionless mass-frequency-scaled normal coordinates Q_i,

    V_nn(Q) = sum_i w_i Q_i^2 / 2 + epsilon_n + sum_i kappa_i^(n) Q_i + sum_ij gamma_ij^(nn) Q_i Q_j
    V_nm(Q) = eta_nm + sum_i lambda_i^(nm) Q_i + sum_ij gamma_ij^(nm) Q_i Q_j      (n != m)

for the states of each multiplicity, everything in hartree.

Layout of ``LVC.template`` (one entry per line; state and mode numbers
start at 1)::

    V0.txt                    # the reference-oscillator file (relative to the template)
    4 0 3                     # states per multiplicity (singlets, doublets, triplets, ...)
    charge 0 1 0              # optional, ignored
    epsilon                   # then the count, then "mult state value"
    eta                       # count, "mult state1 state2 value"
    kappa                     # count, "mult state mode value"
    lambda                    # count, "mult state1 state2 mode value"
    lambda_soc                # count (must be 0 here)
    gamma                     # count, "mult state1 state2 mode1 mode2 value"
    SOC R / SOC I, DMX R ...  # matrices

and ``V0.txt`` holds ``Geometry`` (one line per atom), ``Frequencies``
(one line, hartree, one per Cartesian degree of freedom, translations and
rotations zero) and ``Mass-weighted normal modes``.

What ehrenspeed makes of it
---------------------------
* The model's coordinates are the normal modes with nonzero frequency, in
  V0 order (their SHARC numbers become the mode labels); a term on a
  zero-frequency mode is an error.
* The states of all multiplicities are listed one after the other (each
  multiplicity's states once: without spin-orbit coupling its M_s
  components are identical copies). A nonzero SOC matrix or ``lambda_soc``
  is refused: spin-orbit coupling is complex and not part of this model.
  Dipole matrices and multipolar fits do not enter field-free dynamics and
  are skipped.
* ``eta`` and ``lambda`` entries set both (n, m) and (m, n); a ``gamma``
  entry adds v Q_i Q_j once, as listed (SHARC sums over ordered pairs i, j,
  so a file may list (i, j) and (j, i)). Listing one parameter twice is an
  error (SHARC's reader would silently keep the last one).

``to_sharc`` writes one multiplicity of S states and a synthetic
``V0.txt`` (ceil(D/3) dummy atoms at the origin, unit mass, identity normal
modes, the model's frequencies followed by zeros): the template then
reproduces the model exactly, but an ehrenspeed model has no molecular
geometry, so for SHARC dynamics of a real molecule replace V0.txt by the
molecule's own, whose nonzero-frequency modes must be the model's modes in
order.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..errors import InputError

_FREQUENCY_ZERO = 1e-8  # hartree; SHARC_LVC.py treats |w| below this as a zero mode


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except FileNotFoundError:
        raise InputError(f"{path}:1: file does not exist") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}:1: not a text file") from None


def _frequencies(path: Path) -> list[float]:
    lines = _read_lines(path)
    for number, line in enumerate(lines, start=1):
        if line.strip().lower() == "frequencies":
            if number >= len(lines):
                break
            try:
                return [float(x) for x in lines[number].split()]
            except ValueError:
                raise InputError(f"{path}:{number + 1}: frequencies must be numbers, got "
                                 f"{lines[number].strip()!r}") from None
    raise InputError(f"{path}:{len(lines) or 1}: missing section: no 'Frequencies' line")


def read_sharc(path) -> dict:
    """Read ``LVC.template`` (and its V0 file) into :class:`VibronicCoupling` keyword arguments.

    Parameters
    ----------
    path : str or path-like
        The template; the V0 file named on its first line is found relative to it.

    Returns
    -------
    dict
        ``omega`` (D,), ``energies`` (S,), ``eta`` (S, S), ``kappa`` (S, D),
        ``lam`` (S, S, D), ``gamma`` (S, D, D), ``mu`` (S, S, D, D), all in
        hartree, with ``unit``, ``modes`` (SHARC mode numbers) and ``name``.

    Raises
    ------
    InputError
        ``FILE:LINE: problem`` for any malformed or unsupported entry.
    """
    path = Path(path)
    lines = _read_lines(path)

    def error(number: int, message: str) -> InputError:
        return InputError(f"{path}:{number}: {message}")

    if len(lines) < 2:
        raise error(max(len(lines), 1), "missing section: a template starts with the V0 file name and the "
                                        "states line")
    v0 = path.parent / lines[0].strip()
    freqs = _frequencies(v0)
    try:
        per_mult = [int(x) for x in lines[1].split()]
    except ValueError:
        raise error(2, f"the states line must be integers (states per multiplicity), got {lines[1]!r}") from None
    if not per_mult or any(n < 0 for n in per_mult) or sum(per_mult) == 0:
        raise error(2, f"the states line {lines[1].strip()!r} gives no states")
    offset = np.concatenate([[0], np.cumsum(per_mult)])
    s = int(offset[-1])
    active = [i for i, w in enumerate(freqs) if abs(w) > _FREQUENCY_ZERO]
    for i in active:
        if freqs[i] < 0:
            raise error(1, f"{v0.name}: mode {i + 1} has a negative (imaginary) frequency {freqs[i]}")
    index = {i: a for a, i in enumerate(active)}
    d = len(active)
    if d == 0:
        raise error(1, f"{v0.name}: no mode has a nonzero frequency")
    energies = np.zeros(s)
    eta = np.zeros((s, s))
    kappa = np.zeros((s, d))
    lam = np.zeros((s, s, d))
    gamma = np.zeros((s, d, d))
    mu = np.zeros((s, s, d, d))
    seen: dict[tuple, int] = {}

    def state(number, mult, n):
        if not 1 <= mult <= len(per_mult):
            raise error(number, f"multiplicity {mult} is not in the states line ({len(per_mult)} multiplicities)")
        if not 1 <= n <= per_mult[mult - 1]:
            raise error(number, f"state {n} of multiplicity {mult} is beyond the electronic dimension "
                                f"({per_mult[mult - 1]} states)")
        return int(offset[mult - 1]) + n - 1

    def mode(number, i):
        if not 1 <= i <= len(freqs):
            raise error(number, f"mode {i} is not in {v0.name} ({len(freqs)} modes)")
        if i - 1 not in index:
            raise error(number, f"mode {i} has zero frequency in {v0.name} (a translation or rotation)")
        return index[i - 1]

    blocks = {"epsilon": (2, 1), "eta": (3, 1), "kappa": (3, 1), "lambda": (4, 1), "gamma": (5, 1),
              "lambda_soc": (4, 2)}
    number = 3
    while number <= len(lines):
        words = lines[number - 1].split()
        if not words:
            number += 1
            continue
        key = words[0].lower()
        if key == "charge":
            number += 1
            continue
        if key in blocks and len(words) == 1:
            n_int, _ = blocks[key]
            try:
                count = int(lines[number].split()[0])
            except (IndexError, ValueError):
                raise error(number + 1, f"'{key}' must be followed by the number of entries") from None
            if key == "lambda_soc" and count:
                raise error(number, "lambda_soc (linear spin-orbit coupling) is not supported: the model is real")
            for row in range(number + 2, number + 2 + count):
                if row > len(lines):
                    raise error(len(lines), f"'{key}' announces {count} entries but the file ends")
                fields = lines[row - 1].split()
                try:
                    ints = [int(x) for x in fields[:n_int]]
                    value = float(fields[n_int])
                    if len(fields) != n_int + 1 or not math.isfinite(value):
                        raise ValueError
                except (ValueError, IndexError):
                    raise error(row, f"'{key}' entry must be {n_int} integers and a number, got "
                                     f"{lines[row - 1].strip()!r}") from None
                mult = ints[0]
                if key == "epsilon":
                    k = state(row, mult, ints[1])
                    ident: tuple = (key, k)
                elif key == "kappa":
                    k, a = state(row, mult, ints[1]), mode(row, ints[2])
                    ident = (key, k, a)
                else:
                    k, l = state(row, mult, ints[1]), state(row, mult, ints[2])
                    if key in ("eta", "lambda") and k == l:
                        raise error(row, f"'{key}' couples state {ints[1]} with itself; use "
                                         f"{'epsilon' if key == 'eta' else 'kappa'}")
                    a = mode(row, ints[3]) if key in ("lambda", "gamma") else None
                    b = mode(row, ints[4]) if key == "gamma" else None
                    ident = (key, min(k, l), max(k, l), a, b)
                if ident in seen:
                    raise error(row, f"duplicate parameter: this '{key}' entry repeats line {seen[ident]}")
                seen[ident] = row
                if key == "epsilon":
                    energies[k] = value
                elif key == "kappa":
                    kappa[k, a] = value
                elif key == "eta":
                    eta[k, l] = eta[l, k] = value
                elif key == "lambda":
                    lam[k, l, a] = lam[l, k, a] = value
                elif k == l:
                    gamma[k, a, b] += value
                else:
                    mu[k, l, a, b] = mu[l, k, a, b] = value
            number += 2 + count
            continue
        if key in ("soc", "dmx", "dmy", "dmz") and len(words) == 2:
            n_ms = sum((m + 1) * n for m, n in enumerate(per_mult))
            rows = lines[number: number + n_ms]
            if len(rows) < n_ms:
                raise error(number, f"{words[0]} {words[1]} needs {n_ms} rows")
            if key == "soc":
                try:
                    values = np.array([[float(x) for x in r.split()] for r in rows])
                except ValueError:
                    raise error(number, "SOC matrix entries must be numbers") from None
                if np.any(values != 0):
                    raise error(number, "a nonzero SOC matrix (spin-orbit coupling) is not supported: "
                                        "the model is real and spin-free")
            number += 1 + n_ms
            continue
        if " ".join(words).lower() == "multipolar density fit":
            break  # the rest of the file is the fit (used only with point charges)
        raise error(number, f"unknown entry {lines[number - 1].strip()!r}")
    omega = np.array([freqs[i] for i in active])
    return {"omega": omega, "energies": energies, "eta": eta, "kappa": kappa, "lam": lam, "gamma": gamma,
            "mu": mu, "unit": "hartree", "modes": [str(i + 1) for i in active], "name": path.stem}


def write_sharc(model, path, v0_name: str = "V0.txt") -> None:
    """Write a :class:`VibronicCoupling` as ``LVC.template`` plus a synthetic V0 file beside it.

    Parameters
    ----------
    model : VibronicCoupling
    path : str or path-like
        The template to write.
    v0_name : str
        File name of the V0 file, written in the template's directory.
    """
    path = Path(path)
    co = model.coefficients()
    s, d = model.n_states, model.n_dof
    n_atoms = -(-d // 3)
    n_cart = 3 * n_atoms

    def block(name, rows):
        return [name, str(len(rows)), *rows]

    fmt = repr
    epsilon = [f"1 {k + 1} {fmt(float(co['energies'][k]))}" for k in range(s)]
    eta = [f"1 {k + 1} {l + 1} {fmt(float(co['eta'][k, l]))}"
           for k in range(s) for l in range(k + 1, s) if co["eta"][k, l] != 0]
    kappa = [f"1 {k + 1} {a + 1} {fmt(float(co['linear'][k, k, a]))}"
             for k in range(s) for a in range(d) if co["linear"][k, k, a] != 0]
    lam = [f"1 {k + 1} {l + 1} {a + 1} {fmt(float(co['linear'][k, l, a]))}"
           for k in range(s) for l in range(k + 1, s) for a in range(d) if co["linear"][k, l, a] != 0]
    gamma = [f"1 {k + 1} {l + 1} {a + 1} {b + 1} {fmt(float(co['quadratic'][k, l, a, b]))}"
             for k in range(s) for l in range(k, s) for a in range(d) for b in range(a, d)
             if co["quadratic"][k, l, a, b] != 0]
    template = [v0_name, str(s), *block("epsilon", epsilon), *block("eta", eta), *block("kappa", kappa),
                *block("lambda", lam), *block("gamma", gamma), ""]
    path.write_text("\n".join(template))
    freqs = [fmt(float(w)) for w in co["omega"]] + ["0.0"] * (n_cart - d)
    v0 = ["Geometry"]
    v0 += [" X  0.0  0.0  0.0  0.0  1.0" for _ in range(n_atoms)]
    v0 += ["Frequencies", " ".join(freqs), "Mass-weighted normal modes"]
    v0 += [" ".join("1.0" if i == j else "0.0" for j in range(n_cart)) for i in range(n_cart)]
    (path.parent / v0_name).write_text("\n".join(v0) + "\n")
