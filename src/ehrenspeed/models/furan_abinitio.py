"""The furan dimer cation's Morse/exponential parameters fitted to a first-principles scan.

The scan (``data/furan_scan.csv``, made by ``scripts/furan_scan.py``; its
comment header states the level of theory, geometry and cost) holds the
fragment-orbital diabatic hole-transfer matrix of two rigid, face-to-face
furan monomers at a series of separations R. It is fitted with the SPEED
paper's functional forms (Scheidegger and Vanicek, J. Chem. Phys. 163,
044105 (2025)), as :class:`~ehrenspeed.models.furan.FuranDimer` uses them:

    V_11(R) = c + D (1 - exp(-a (R - R0)))^2      (least squares in eV, angstrom)
    |V_12(R)| = H0 exp(-b (R - R0))               (least squares in ln|V_12|)

The constant c (the diabats' energy at their minimum) is dropped: the
model measures energies from the diabatic minimum. V_11 and V_22 are the
same function (the dimer is symmetric; the scan's V_22 - V_11 is SCF noise),
so their mean is fitted. The sign of V_12 is not a physical observable of
a two-site model with the carrier starting on one site (diag(1, -1) maps
one sign onto the other and leaves every population unchanged); the model
takes H0 > 0.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..units import EV

#: The shipped scans, by the FuranDimer parameter set fitted to each:
#: B3LYP/6-31G (the first) and wB97X-D's exchange-correlation part /
#: 6-31+G(d) (the paper's level without its dispersion term); both with the
#: fragment-orbital method and the B3LYP/6-31G-optimised monomer.
SCAN_FILES = {"abinitio": Path(__file__).parent / "data" / "furan_scan.csv",
              "abinitio-wb97xd": Path(__file__).parent / "data" / "furan_scan_wb97xd.csv"}
#: The first shipped scan.
SCAN_FILE = SCAN_FILES["abinitio"]


def read_scan(path=SCAN_FILE) -> dict:
    """The scan's columns as arrays (R in angstrom, energies in hartree) and its header lines."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"furan scan file {path} not found")
    lines = path.read_text().splitlines()
    header = [line[1:].strip() for line in lines if line.startswith("#")]
    table = [line for line in lines if line and not line.startswith("#")]
    names = table[0].split(",")
    try:
        values = np.array([[float(x) for x in line.split(",")] for line in table[1:]])
    except ValueError as err:
        raise InputError(f"furan scan file {path}: {err}") from None
    data = {name: values[:, i] for i, name in enumerate(names)}
    data["header"] = header
    return data


def scan_monomer(path=SCAN_FILE) -> list:
    """The monomer geometry the scan used, from its header.

    Returns
    -------
    list of (element, x, y, z)
        Cartesian coordinates in bohr (the header's "element x y z" lines).
    """
    atoms = []
    for line in read_scan(path)["header"]:
        fields = line.split()
        if len(fields) == 4 and fields[0].isalpha():
            try:
                atoms.append((fields[0], *(float(x) for x in fields[1:])))
            except ValueError:
                continue
    if not atoms:
        raise InputError(f"furan scan file {path}: no monomer geometry in its header")
    return atoms


def fit_scan(r_angstrom, v11_hartree, v12_hartree) -> dict:
    """Morse diabat and exponential coupling fitted to a scan.

    Parameters
    ----------
    r_angstrom : array_like, shape (n,)
        Separations, angstrom.
    v11_hartree, v12_hartree : array_like, shape (n,)
        Diabatic energy and coupling, hartree.

    Returns
    -------
    dict
        ``depth_ev``, ``r0_angstrom``, ``a_per_angstrom``, ``h0_ev``,
        ``b_per_angstrom`` (the keyword arguments of FuranDimer), and
        ``offset_hartree`` (c), ``rms_v11_ev``, ``rms_log_v12`` (fit residuals).
    """
    from scipy.optimize import curve_fit

    r = np.asarray(r_angstrom, float)
    v11 = np.asarray(v11_hartree, float) / EV
    v12 = np.abs(np.asarray(v12_hartree, float)) / EV

    def morse(x, c, depth, a, r0):
        return c + depth * (1.0 - np.exp(-a * (x - r0))) ** 2

    i = int(np.argmin(v11))
    if i == 0 or i == r.size - 1:
        raise InputError("the scanned diabatic energy has no minimum inside the scan: no Morse fit")
    guess = (v11[i], v11[-1] - v11[i], 1.5, r[i])
    (c, depth, a, r0), _ = curve_fit(morse, r, v11, p0=guess, maxfev=20000)
    slope, intercept = np.polyfit(r - r0, np.log(v12), 1)
    return {"depth_ev": float(depth), "r0_angstrom": float(r0), "a_per_angstrom": float(a),
            "h0_ev": float(np.exp(intercept)), "b_per_angstrom": float(-slope),
            "offset_hartree": float(c * EV),
            "rms_v11_ev": float(np.sqrt(np.mean((morse(r, c, depth, a, r0) - v11) ** 2))),
            "rms_log_v12": float(np.sqrt(np.mean((slope * (r - r0) + intercept - np.log(v12)) ** 2)))}


@cache
def abinitio_parameters(name: str = "abinitio") -> dict:
    """FuranDimer's keyword arguments from the shipped scan ``SCAN_FILES[name]`` (fitted once per process)."""
    scan = read_scan(SCAN_FILES[name])
    v11 = 0.5 * (scan["V11_hartree"] + scan["V22_hartree"])
    fit = fit_scan(scan["R_angstrom"], v11, scan["V12_hartree"])
    return {key: fit[key] for key in ("depth_ev", "r0_angstrom", "a_per_angstrom", "h0_ev",
                                      "b_per_angstrom")}


def scan_level(path=SCAN_FILE) -> dict:
    """The level of theory a scan was made at, from its header's "level:" line.

    Returns
    -------
    dict
        ``xc`` and ``basis`` (PySCF names) and ``density_fit`` (bool), the
        keywords that make an on-the-fly model compute what the scan did.
    """
    for line in read_scan(path)["header"]:
        if line.startswith("level:"):
            fields = dict(part.strip().split(" = ", 1) for part in line[len("level:"):].split(",")
                          if " = " in part)
            if "xc" in fields and "basis" in fields:
                return {"xc": fields["xc"], "basis": fields["basis"],
                        "density_fit": "density fitting on" in line}
    raise InputError(f"furan scan file {path}: no 'level: xc = ..., basis = ...' line in its header")
