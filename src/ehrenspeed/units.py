"""Physical constants and unit conversions (everything inside is atomic units).

Values as in CODATA 2018, rounded as in the project specification.
"""

#: 1 eV in hartree.
EV = 0.036749322
#: 1 cm^-1 (wavenumber) in hartree: 1 / 219474.6313632 (CODATA 2018, hc R_inf-based
#: conversion 1 Eh = 219474.6313632 cm^-1).
INV_CM = 1.0 / 219474.6313632
#: 1 femtosecond in atomic units of time (1 a.u. = 0.024188843 fs).
FS = 1.0 / 0.024188843
#: 1 unified atomic mass unit in electron masses.
AMU = 1822.888486
#: 1 angstrom in bohr.
ANGSTROM = 1.0 / 0.529177211
#: Boltzmann constant in hartree per kelvin.
KB = 3.166811563e-6
