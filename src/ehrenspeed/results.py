"""The result of a run: an :class:`xarray.Dataset`, its file format, reader and writer.

Every method (Ehrenfest, SPEED, exact) returns the same layout, so results
overlay directly:

========================  ===============  ==================================
name                      dims             meaning
========================  ===============  ==================================
coordinate ``time``       (time,)          a.u. of time
``population``            (time, state)    diabatic populations
``adiabatic_population``  (time, state)    adiabatic populations
``position``              (time, dof)      <q>
``momentum``              (time, dof)      <p>
``potential_energy``      (time,)          <V>, hartree
``total_energy``          (time,)          <T + V>, hartree
``norm``                  (time,)          electronic (or grid) norm
========================  ===============  ==================================

Attributes: ``method``, ``model``, ``n_traj``, ``dt``, ``seed``,
``potential_evaluations``, ``wall_time_s``, ``max_energy_drift``,
``ehrenspeed_version``, ``config`` (JSON). Files are netCDF-4 written by
h5netcdf (with h5py); complex per-trajectory coefficients are stored as two
real variables. Writing goes to a temporary file in the target directory
that is renamed into place (:mod:`ehrenspeed.files`), so an interrupted
write never leaves a partial file under the requested name.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import InputError
from .files import write_bytes

if TYPE_CHECKING:  # xarray (with pandas, ~0.3 s) is imported by the functions that use it
    import xarray as xr

#: Variables every result has, with their dimensions.
STANDARD_VARIABLES = {
    "population": ("time", "state"),
    "adiabatic_population": ("time", "state"),
    "position": ("time", "dof"),
    "momentum": ("time", "dof"),
    "potential_energy": ("time",),
    "total_energy": ("time",),
    "norm": ("time",),
}

_UNITS = {
    "time": "atomic units of time",
    "population": "1",
    "adiabatic_population": "1",
    "active_population": "1",  # surface hopping: fraction of trajectories on each adiabatic state
    "potential_energy": "hartree",
    "total_energy": "hartree",
    "norm": "1",
    "momentum": "atomic units",
}


def make_dataset(time: np.ndarray, data: dict[str, tuple[tuple[str, ...], np.ndarray]],
                 attrs: dict[str, Any], coords: dict[str, Any] | None = None) -> xr.Dataset:
    """Assemble a result dataset.

    Parameters
    ----------
    time : ndarray, shape (T,)
        Output times, a.u.
    data : dict
        name -> (dims, values). Complex values are split into ``name_real``
        and ``name_imag`` so every backend can store them.
    attrs : dict
        Attributes; dicts and lists are stored as JSON strings, None as "".
    coords : dict, optional
        Extra coordinates (e.g. a grid axis for reduced densities).
    """
    variables = {}
    for name, (dims, values) in data.items():
        values = np.asarray(values)
        if np.iscomplexobj(values):
            variables[f"{name}_real"] = (dims, values.real)
            variables[f"{name}_imag"] = (dims, values.imag)
        else:
            variables[name] = (dims, values)
    all_coords = {"time": np.asarray(time, dtype=float)}
    if coords:
        all_coords.update(coords)
    import xarray as xr

    ds = xr.Dataset(variables, coords=all_coords)
    for name, unit in _UNITS.items():
        if name in ds.variables:
            ds[name].attrs["units"] = unit
    ds.attrs.update({k: _attr_value(v) for k, v in attrs.items()})
    return ds


def _attr_value(value: Any) -> Any:
    """netCDF attributes hold numbers and strings: encode the rest as JSON."""
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def save(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write ``ds`` to ``path`` atomically (:func:`ehrenspeed.files.atomic_write`).

    The netCDF file is first made in memory and then written in one piece,
    so that a full disk or a lost quota surfaces as a plain
    :class:`~ehrenspeed.errors.OutputError` before the HDF5 library has a
    half-written file open (HDF5 does not survive a failed write cleanly).

    Raises
    ------
    InputError
        When the directory does not exist; nothing is created under
        ``path`` in that case.
    OutputError
        When the file system refuses the write (``errno`` tells why); the
        file under ``path``, if any, is unchanged.
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise InputError(f"output directory {str(directory)!r} does not exist")
    return write_bytes(path, to_netcdf_bytes(ds), "result")


def to_netcdf_bytes(ds: xr.Dataset) -> memoryview:
    """The netCDF-4 file of ``ds`` as bytes (the exact content :func:`save` writes)."""
    return ds.to_netcdf(engine="h5netcdf")


def check_writer() -> None:
    """Write and read back a tiny result in memory: the netCDF stack is installed and works.

    Called before any computation, so that a missing or broken library
    (h5py, h5netcdf) costs the user seconds instead of the run.

    Raises
    ------
    InputError
        Naming the library that is missing or failed.
    """
    import io

    import xarray as xr

    probe = make_dataset(np.zeros(2), {"norm": (("time",), np.ones(2))}, {"probe": 1})
    try:
        data = to_netcdf_bytes(probe)
        with xr.open_dataset(io.BytesIO(bytes(data)), engine="h5netcdf") as back:
            ok = bool(np.all(back["norm"].values == 1.0))
    except ImportError as exc:
        raise InputError(f"cannot write result files: the netCDF writer needs the package "
                         f"{exc.name or exc} (pip install h5py h5netcdf)") from None
    except Exception as exc:  # any failure of the stack, said in one line
        raise InputError(f"cannot write result files: netCDF writer failed: {exc}") from None
    if not ok:
        raise InputError("cannot write result files: the netCDF writer does not read back what it wrote")


def load(path: str | os.PathLike) -> xr.Dataset:
    """Read a result file written by :func:`save` (fully into memory).

    Complex variables split on writing (``name_real``/``name_imag``) are
    joined back.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"result file {str(path)!r} does not exist")
    import xarray as xr

    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            ds = ds.load()
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read result file {str(path)!r}: {exc}") from None
    for name in [v[:-5] for v in ds.data_vars if v.endswith("_real")]:
        if f"{name}_imag" in ds:
            ds[name] = ds[f"{name}_real"] + 1j * ds[f"{name}_imag"]
            ds = ds.drop_vars([f"{name}_real", f"{name}_imag"])
    return ds


def config_of(ds: xr.Dataset, source: str = "<result>") -> dict[str, Any]:
    """The run configuration stored in a result, in the configuration-file layout.

    One layout for every method and every writer (``es.run``,
    ``es.grid.run_exact``, ``ehrenspeed run``): the tables ``model``,
    ``initial``, ``method``, ``run`` and, for the exact method, ``grid``
    (docs/configuration.md, "The configuration stored in a result").
    Layouts written by earlier versions are converted.

    Parameters
    ----------
    ds : xarray.Dataset
        A result (its ``config`` attribute, JSON).
    source : str
        Named in error messages.

    Returns
    -------
    dict
        Empty when the result stores no configuration.

    Raises
    ------
    json.JSONDecodeError
        The attribute is not JSON.
    InputError
        It is JSON but none of the known layouts.
    """
    from .config.stored import upgrade

    raw = ds.attrs.get("config", "")
    return upgrade(json.loads(raw), source) if raw else {}
