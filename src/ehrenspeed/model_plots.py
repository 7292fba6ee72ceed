"""Pictures of a model: diabatic and adiabatic surfaces along one coordinate.

:func:`surface_cut` evaluates a model along a straight line through a
reference geometry, varying one coordinate; :func:`plot_model` draws it
(``ehrenspeed models NAME --plot``): the diabatic energies V_kk (solid),
the adiabatic energies (eigenvalues of V, dashed) and, in a second panel,
the diabatic couplings V_kl. :func:`taylor_cut` is SPEED's effective
potential along the same line: every element of V expanded to second
order around one point (Scheidegger and Vanicek, J. Chem. Phys. 163,
044105 (2025); docs/trajectories.md).

The reproductions' opening pictures (the SPEED paper's Figs. 2, 4 and 6,
top) are :func:`chemisorption_picture`, :func:`furan_picture` and
:func:`retinal_picture`. Energies are drawn in eV.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import InputError
from .units import ANGSTROM, EV

#: points along a cut
CUT_POINTS = 401
#: default half-width of a cut in widths of the initial wavepacket
HALF_WIDTH_SIGMAS = 6.0


@dataclass
class SurfaceCut:
    """A model evaluated along one coordinate.

    Attributes
    ----------
    coordinate : int
        Index of the varied coordinate.
    q : ndarray, shape (P,)
        Its values, in the model's coordinate unit.
    geometries : ndarray, shape (P, D)
        The full geometries (the other coordinates at the reference).
    potential : ndarray, shape (P, S, S)
        Diabatic matrices V, hartree.
    adiabatic : ndarray, shape (P, S)
        Eigenvalues of V, ascending, hartree.
    """

    coordinate: int
    q: np.ndarray
    geometries: np.ndarray
    potential: np.ndarray
    adiabatic: np.ndarray


def initial_wavepacket(model):
    """The model's own initial wavepacket, or None (no such method, or it needs arguments)."""
    maker = getattr(model, "initial_wavepacket", None)
    if maker is None:
        return None
    try:
        return maker()
    except TypeError:
        return None


def reference_geometry(model, wavepacket=None) -> np.ndarray:
    """The geometry a cut passes through: the (initial) wavepacket's centre, else the origin, shape (D,)."""
    wp = initial_wavepacket(model) if wavepacket is None else wavepacket
    if wp is not None:
        return np.asarray(wp.q0, dtype=float).reshape(model.n_dof)
    return np.zeros(int(model.n_dof))


def check_coordinate(model, coordinate) -> int:
    """``coordinate`` as an index of the model's coordinates, or an InputError."""
    d = int(model.n_dof)
    if isinstance(coordinate, bool) or not isinstance(coordinate, (int, np.integer)) or not 0 <= coordinate < d:
        raise InputError(f"coordinate {coordinate!r} is out of range: the model has {d} "
                         f"coordinate{'s' if d != 1 else ''} (0 to {d - 1})")
    return int(coordinate)


def default_range(model, coordinate: int, reference: np.ndarray, wavepacket=None) -> tuple[float, float]:
    """A periodic coordinate's whole period, else the reference +- 6 widths of the (initial) wavepacket.

    Without a wavepacket, the reference +- 3 coordinate units.
    """
    periods = getattr(model, "periods", None)
    if periods is not None and np.all(np.isfinite(periods[coordinate])):
        return float(periods[coordinate][0]), float(periods[coordinate][1])
    half = 3.0
    wp = initial_wavepacket(model) if wavepacket is None else wavepacket
    if wp is not None:
        half = HALF_WIDTH_SIGMAS * float(np.sqrt(np.diag(wp.position_covariance()))[coordinate])
    return float(reference[coordinate] - half), float(reference[coordinate] + half)


def surface_cut(model, coordinate: int = 0, lower: float | None = None, upper: float | None = None,
                reference=None, points: int = CUT_POINTS, wavepacket=None) -> SurfaceCut:
    """Diabatic and adiabatic energies along one coordinate through a reference geometry.

    Parameters
    ----------
    model : Model
    coordinate : int
        Which coordinate varies, 0 to D - 1.
    lower, upper : float, optional
        Its range, model units; [default] :func:`default_range`.
    reference : array_like, shape (D,), optional
        Values of the other coordinates; [default] :func:`reference_geometry`.
    points : int
        Number of points.
    wavepacket : Wavepacket, optional
        Gives the reference and the default range instead of the model's
        own initial wavepacket (a configuration file's ``[initial]``).

    Raises
    ------
    InputError
        A coordinate index out of range, or lower >= upper.
    """
    coordinate = check_coordinate(model, coordinate)
    ref = (reference_geometry(model, wavepacket) if reference is None
           else np.asarray(reference, dtype=float).reshape(-1))
    if ref.size != model.n_dof:
        raise InputError(f"reference geometry has {ref.size} values, the model has {model.n_dof} coordinates")
    default = default_range(model, coordinate, ref, wavepacket)
    a = default[0] if lower is None else float(lower)
    b = default[1] if upper is None else float(upper)
    if not (np.isfinite(a) and np.isfinite(b) and a < b):
        raise InputError(f"range must have lower < upper, got {a:g} and {b:g}")
    q = np.linspace(a, b, int(points))
    geometries = np.repeat(ref[None, :], q.size, axis=0)
    geometries[:, coordinate] = q
    v = np.asarray(model.potential(geometries))
    return SurfaceCut(coordinate, q, geometries, v, np.linalg.eigvalsh(v))


def taylor_cut(model, expansion_point, geometries) -> np.ndarray:
    """SPEED's effective potential: V expanded to second order around one point, at given geometries.

    V_eff(q) = V(q0) + sum_a dV/dq_a (q - q0)_a + 1/2 sum_ab d2V/dq_a dq_b (q - q0)_a (q - q0)_b,
    element by element (a matrix of the same shape as V).

    Parameters
    ----------
    expansion_point : array_like, shape (D,)
    geometries : array_like, shape (P, D)

    Returns
    -------
    ndarray, shape (P, S, S), hartree
    """
    q0 = np.asarray(expansion_point, dtype=float).reshape(1, -1)
    d = np.asarray(geometries, dtype=float) - q0
    v0 = np.asarray(model.potential(q0))[0]
    g = np.asarray(model.gradient(q0))[0]           # (D, S, S)
    h = np.asarray(model.hessian(q0))[0]            # (D, D, S, S)
    return (v0[None] + np.einsum("pa,akl->pkl", d, g)
            + 0.5 * np.einsum("pa,pb,abkl->pkl", d, d, h))


def coordinate_label(model, coordinate: int) -> str:
    """Axis label of one coordinate with its unit."""
    unit = str(getattr(model, "coordinate_unit", "coordinate units"))
    names = getattr(model, "mode_labels", None)
    name = f"q{coordinate}"
    if names is not None and len(names) == model.n_dof:
        name += f" ({names[coordinate]})"
    if "," in unit or ":" in unit:      # one unit per coordinate: "phi: rad, Q: dimensionless"
        return f"{name} ({unit})"
    return f"{name} / {unit}" if " " not in unit and unit != "dimensionless" else f"{name} ({unit})"


def draw_cut(ax_energy, ax_coupling, cut: SurfaceCut, max_lines: int = 12) -> None:
    """Diabatic (solid) and adiabatic (dashed) energies and the couplings of a cut, in eV."""
    s = cut.potential.shape[1]
    diag = np.real(np.einsum("pkk->pk", cut.potential)) / EV
    for k in range(s):
        colour = f"C{k % 10}" if s <= max_lines else "0.55"
        ax_energy.plot(cut.q, diag[:, k], color=colour, lw=1.2 if s <= max_lines else 0.6,
                       label=f"diabatic {k}" if s <= max_lines else None)
    for k in range(s):
        ax_energy.plot(cut.q, cut.adiabatic[:, k] / EV, color="black", ls="--", lw=0.9,
                       label="adiabatic" if k == 0 else None)
    if s > max_lines:
        ax_energy.plot([], [], color="0.55", lw=0.6, label=f"{s} diabatic states")
    ax_energy.set_ylabel("energy / eV")
    drawn = 0
    for k in range(s):
        for m in range(k + 1, s):
            element = cut.potential[:, k, m]
            if np.any(np.abs(element) > 0) and drawn < max_lines:
                ax_coupling.plot(cut.q, np.real(element) / EV, label=f"V$_{{{k}{m}}}$")
                if np.any(np.abs(np.imag(element)) > 0):
                    ax_coupling.plot(cut.q, np.imag(element) / EV, ls=":", label=f"Im V$_{{{k}{m}}}$")
                drawn += 1
    if drawn == 0:
        ax_coupling.text(0.5, 0.5, "no diabatic coupling along this cut", ha="center", va="center",
                         transform=ax_coupling.transAxes)
    ax_coupling.set_ylabel("coupling / eV")


def plot_model(model, path: str | os.PathLike, coordinate: int = 0, lower: float | None = None,
               upper: float | None = None, title: str | None = None, dpi: int = 120, wavepacket=None) -> Path:
    """Draw a model's surfaces along one coordinate and write the image (``ehrenspeed models --plot``).

    Parameters
    ----------
    model : Model
        Built-in or user model.
    path : path-like
        Image file; the format follows the suffix.
    coordinate, lower, upper
        As in :func:`surface_cut`.
    title : str, optional
        [default] the model's name and the reference geometry.
    wavepacket : Wavepacket, optional
        Its centre is the reference geometry; [default] the model's own
        initial wavepacket, else the origin.

    Returns
    -------
    Path

    Raises
    ------
    InputError
        Bad coordinate or range, a missing directory, an unknown image format.
    """
    from .files import atomic_write
    from .reproduce.common import pyplot

    cut = surface_cut(model, coordinate, lower, upper, wavepacket=wavepacket)
    path = Path(path)
    if not path.parent.is_dir():
        raise InputError(f"figure directory {str(path.parent)!r} does not exist")
    plt = pyplot()
    fig, (ax_e, ax_c) = plt.subplots(2, 1, figsize=(7, 6.5), sharex=True, height_ratios=[3, 1.3],
                                     layout="constrained")
    try:
        draw_cut(ax_e, ax_c, cut)
        ax_c.set_xlabel(coordinate_label(model, cut.coordinate))
        ref = ", ".join("varied" if a == cut.coordinate else f"{x:.3g}" for a, x in enumerate(cut.geometries[0]))
        others = f"cut through ({ref})" if model.n_dof > 1 else ""
        fig.suptitle(title or f"{getattr(model, 'name', 'model')}: {others}".rstrip(": "), fontsize="medium")
        ax_e.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
        if ax_c.get_legend_handles_labels()[0]:
            ax_c.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
        fmt = path.suffix.lstrip(".").lower() or "png"
        atomic_write(path, lambda handle: fig.savefig(handle, format=fmt, dpi=dpi), "figure")
    except ValueError as exc:      # an image format matplotlib does not know
        raise InputError(f"cannot write figure {str(path)!r}: {exc}") from None
    finally:
        plt.close(fig)
    return path


# -- the reproductions' opening pictures ----------------------------------------


def chemisorption_picture(model, out, name: str = "chemisorption_model") -> Path:
    """Diabatic and adiabatic curves of the layered model along x (the SPEED paper's Fig. 2).

    Left: every diabat coloured by its layer (the copies of a layer lie
    delta apart and overlap at this scale) with the adiabatic curves;
    right: a zoom on the first crossing, where the quasi-degenerate
    manifold of a layer becomes visible.
    """
    plt = out_pyplot()
    params = model.parameters()
    spacing, delta = float(params["spacing"]), float(params["delta"])
    x0 = 0.0                 # the first site
    cut = surface_cut(model, 0, x0 - 0.5 * spacing, x0 + (model.n_layers - 0.5) * spacing, points=1201)
    diag = np.einsum("pkk->pk", cut.potential) / EV
    per = model.states_per_layer
    fig, (ax, zoom) = plt.subplots(1, 2, figsize=(12, 4.8), layout="constrained", width_ratios=[2, 1])
    for axis in (ax, zoom):
        for k in range(model.n_states):
            layer = k // per
            axis.plot(cut.q, diag[:, k], color=f"C{layer % 10}", lw=0.9,
                      label=f"layer {layer}" if k % per == 0 and axis is ax else None)
        for k in range(model.n_states):
            axis.plot(cut.q, cut.adiabatic[:, k] / EV, color="black", ls="--", lw=0.5,
                      label="adiabatic" if k == 0 and axis is ax else None)
        axis.set_xlabel("atom position x / bohr")
    ax.set_ylabel("energy / eV")
    # the zoom: around the first crossing, the lowest few adiabats
    cross = x0 + 0.5 * spacing
    window = (cut.q > cross - 0.35 * spacing) & (cut.q < cross + 0.35 * spacing)
    low = cut.adiabatic[window, 0].min() / EV
    high = cut.adiabatic[window, 2 * per - 1].max() / EV
    zoom.set_xlim(cross - 0.35 * spacing, cross + 0.35 * spacing)
    zoom.set_ylim(low - 0.05 * (high - low), high + 0.05 * (high - low))
    zoom.set_title(f"zoom: first crossing, {per} copies per layer\n(diabats delta = {delta:g} bohr apart)",
                   fontsize=9)
    # the staircase of the lowest curves; the diabats' steep walls go off the top
    bottom = cut.adiabatic[:, 0].min() / EV
    ax.set_ylim(bottom - 0.05, bottom + 1.5)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=min(10, model.n_layers + 1),
               fontsize=8)
    fig.suptitle(f"Chemisorption model: {model.n_layers} layers x {per} quasi-degenerate diabats", fontsize="medium")
    return out.figure(fig, name)


def furan_picture(model, out, name: str = "furan_model") -> Path:
    """Diabatic curves and their coupling against the monomer separation (the SPEED paper's Fig. 4).

    The two diabats (hole on monomer 1 or 2) are the same Morse curve; the
    adiabats lie the coupling above and below it.
    """
    plt = out_pyplot()
    r0 = float(model.r0)
    cut = surface_cut(model, 0, r0 - 0.6 * ANGSTROM, r0 + 6.5 * ANGSTROM, reference=[r0])
    r_angstrom = cut.q / ANGSTROM
    fig, (ax, ax_c) = plt.subplots(2, 1, figsize=(7, 6.2), sharex=True, height_ratios=[3, 1.4],
                                   layout="constrained")
    ax.plot(r_angstrom, cut.potential[:, 0, 0] / EV, color="tab:blue", lw=2.5, label="diabat 1 (hole on monomer 1)")
    ax.plot(r_angstrom, cut.potential[:, 1, 1] / EV, color="tab:orange", lw=1.2, ls="--",
            label="diabat 2 (hole on monomer 2; the same curve)")
    for k, style in ((0, "-"), (1, "-.")):
        ax.plot(r_angstrom, cut.adiabatic[:, k] / EV, color="black", lw=0.9, ls=style,
                label=f"adiabat {k + 1}")
    ax.set_ylabel("energy / eV")
    top = cut.potential[:, 0, 0].max() / EV
    ax.set_ylim(cut.adiabatic[:, 0].min() / EV - 0.05, top + 0.05)
    ax_c.plot(r_angstrom, np.abs(cut.potential[:, 0, 1]) / EV, color="tab:green", label="|coupling V$_{12}$|")
    ax_c.set_yscale("log")
    ax_c.set_ylabel("coupling / eV")
    ax_c.set_xlabel("monomer separation R / angstrom")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=2, fontsize=8)
    ax_c.legend(fontsize=8, loc="upper right")
    fig.suptitle("Furan dimer cation: diabatic curves and coupling", fontsize="medium")
    return out.figure(fig, name)


def retinal_picture(model, out, expansion_point=None, name: str = "retinal_model") -> Path:
    """A cut along the torsion with SPEED's initial effective potential over it (the SPEED paper's Fig. 6, top).

    The cut runs along phi at the start's Q; the effective potential is the
    second-order expansion of every element of V around the swarm's initial
    mean (the wavepacket centre, cis), which SPEED uses for all trajectories
    until the mean moves: its excited diabat is an inverted parabola, with no
    trans well.
    """
    plt = out_pyplot()
    ref = reference_geometry(model) if expansion_point is None else np.asarray(expansion_point, dtype=float)
    low, high = default_range(model, 0, ref)
    cut = surface_cut(model, 0, low, high, reference=ref)
    taylor = taylor_cut(model, ref, cut.geometries)
    fig, ax = plt.subplots(figsize=(7.5, 5.2), layout="constrained")
    for k, colour in ((0, "tab:blue"), (1, "tab:red")):
        ax.plot(cut.q, cut.potential[:, k, k] / EV, color=colour, lw=2, label=f"diabat S$_{k}$")
        ax.plot(cut.q, taylor[:, k, k] / EV, color=colour, lw=1.2, ls=":",
                label=f"SPEED's initial Taylor expansion of diabat S$_{k}$")
    for k in range(2):
        ax.plot(cut.q, cut.adiabatic[:, k] / EV, color="black", ls="--", lw=0.9, label="adiabats" if k == 0 else None)
    ax.axvline(ref[0], color="grey", lw=0.6)
    ax.set_xlabel(r"torsion $\phi$ / rad  (cis at 0, trans at $\pi$)")
    ax.set_ylabel("energy / eV")
    span = cut.adiabatic / EV
    ax.set_ylim(span.min() - 0.3, span.max() + 0.3)
    ax.set_title(f"cut at Q = {ref[1]:g} (where the coupling lambda Q vanishes, so diabats and adiabats "
                 f"coincide);\nexpansion point (phi, Q) = ({ref[0]:g}, {ref[1]:g}), the swarm's initial mean",
                 fontsize=9)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=2, fontsize=8)
    fig.suptitle("Retinal model along the torsion, with SPEED's initial effective potential", fontsize="medium")
    return out.figure(fig, name)


def out_pyplot():
    """matplotlib.pyplot on the Agg backend."""
    from .reproduce.common import pyplot

    return pyplot()
