"""MCTDH / Quantics operator files (``.op``) for vibronic coupling models.

The Heidelberg MCTDH package and Quantics define a Hamiltonian in an ASCII
*operator file*, documented in "Hamiltonian Documentation"
(https://www.pci.uni-heidelberg.de/tc/usr/mctdh/doc.86/mctdh/ham_docu.html;
Quantics: https://www2.chem.ucl.ac.uk/quantics/doc/quantics/ham.html) and,
for the units, in the MCTDH "Input Documentation" (same site,
``input_docu.html``). This module reads and writes the part of that format
that describes a linear/quadratic vibronic coupling model, which is what
:class:`~ehrenspeed.models.vibronic.VibronicCoupling` holds.

Supported subset
----------------
* Sections ``OP_DEFINE-SECTION`` (read and ignored), ``PARAMETER-SECTION``,
  ``HAMILTONIAN-SECTION`` (required), ``LABELS-SECTION`` (skipped; using one
  of its labels in a term is an error), each closed by ``end-<name>-section``;
  the file ends at ``end-operator``. Named sections
  ``HAMILTONIAN-SECTION_<name>`` define *other* operators (observables) and
  are skipped. Text after ``#`` is a comment. Keywords are case-insensitive,
  labels case-sensitive. Lines of only ``-`` or ``=`` are rulers and skipped.
* Parameters: ``name = expression [, unit]`` with the units ``au`` (hartree,
  the default), ``ev``, ``mev`` and ``cm-1`` (converted with the constants of
  :mod:`ehrenspeed.units`, CODATA 2018; MCTDH itself uses 27.21138386 eV and
  219474.63137 cm-1 per hartree, which differ from these in the 8th digit).
  An expression uses numbers (Fortran ``1.0d-3`` allowed), parameters defined
  on earlier lines, ``+ - * /``, ``^`` or ``**``, parentheses and ``sqrt``.
* Hamiltonian: one or more ``modes | m1 | m2 ...`` lines, then one term per
  line, ``coefficient |i op |j op ...``. The coefficient is an expression as
  above; ``i`` is the 1-based position of a mode in the ``modes`` lines (or
  its label); a term with exactly one operator per mode may also give them
  as columns in modes-line order, ``c | 1 | KE | 1`` (as in the MCTDH
  tutorial files of github.com/mendzmartin/mctdh_cp2021). Operators: ``1``, ``q``, ``q^2``, ``KE``, ``dq^2`` on a
  vibrational mode; ``Sk&l`` on the electronic mode ``el`` (the states are
  numbered from 1; ``Sk&l`` is the symmetric |k><l| + |l><k| for k != l and
  |k><k| for k = l). Several operators on one mode multiply (``q*q``).
  Anything else (``sin``, ``dq``, ``q^3``, ``Zk&l``, complex or
  time-dependent factors, labels) is refused with the line and the term.

Mapping to :class:`VibronicCoupling` (all in hartree; a, b vibrational modes,
k != l states)::

    w |a KE          ->  omega_a = w          (kinetic energy w p_a^2 / 2, mass 1 / w)
    c |a dq^2        ->  omega_a = -2 c       (the same operator, -(1/2) d^2/dq^2 = KE)
    c |a q^2         ->  must equal omega_a / 2: dimensionless normal coordinates
    c |el Sk&k       ->  energies_k += c
    c |el Sk&l       ->  eta_kl = eta_lk += c
    c |el Sk&k |a q  ->  kappa_ka += c
    c |el Sk&l |a q  ->  lam_kla = lam_lka += c
    c |el Sk&k |a q^2         ->  gamma_kaa += c
    c |el Sk&k |a q |b q      ->  gamma_kab = gamma_kba += c / 2   (c q_a q_b once, as written)
    c |el Sk&l |a q^2 (|b q)  ->  mu_kl.. the same way, symmetric in k, l

A term without an electronic operator acts on every state (its constant,
linear and quadratic parts go to every diagonal element). A bilinear term
``c |a q |b q`` therefore adds c q_a q_b to the potential exactly once; if a
model's published table gives each bilinear coefficient once but its
Hamiltonian sums over both orderings of the modes, the operator file must
carry 2 c (or two terms), and this reader takes the file as written.

The writer produces the same subset, every number in ``au`` with 17
significant digits, so ``from_mctdh(to_mctdh(model))`` gives the model's
matrices back to round-off.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..units import EV, INV_CM

#: unit name (lower case) -> hartree per unit
UNITS = {"au": 1.0, "ev": EV, "mev": 1e-3 * EV, "cm-1": INV_CM}

_KNOWN_SECTIONS = ("op_define", "parameter", "hamiltonian", "labels")
_TOKEN = re.compile(r"\s*(?:(\d+\.?\d*(?:[eEdD][+-]?\d+)?|\.\d+(?:[eEdD][+-]?\d+)?)"
                    r"|([A-Za-z_][A-Za-z0-9_.']*)|(\*\*|[-+*/^()]))")
_ELECTRONIC = re.compile(r"^S(\d+)&(\d+)$")


class _Where:
    """The file being read, for messages that start ``FILE:LINE:``."""

    def __init__(self, path: Path):
        self.path = path

    def error(self, line: int, message: str) -> InputError:
        return InputError(f"{self.path}:{line}: {message}")


# -- arithmetic expressions ----------------------------------------------------------
def _evaluate(text: str, names: dict[str, float], where: _Where, line: int) -> float:
    """Value of an arithmetic expression of numbers and known parameter names.

    A small recursive-descent parser (never ``eval``): an operator file is
    data, and a misspelt parameter must be an error naming it.
    """
    tokens = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise where.error(line, f"cannot read {text[pos:].strip()!r} in the expression {text!r}")
        tokens.append(m.groups())
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    if not tokens:
        raise where.error(line, "empty expression")
    i = 0

    def peek():
        return tokens[i] if i < len(tokens) else (None, None, None)

    def take():
        nonlocal i
        i += 1
        return tokens[i - 1]

    def expr():
        value = term()
        while peek()[2] in ("+", "-"):
            op = take()[2]
            value = value + term() if op == "+" else value - term()
        return value

    def term():
        value = power()
        while peek()[2] in ("*", "/"):
            op = take()[2]
            rhs = power()
            if op == "/" and rhs == 0:
                raise where.error(line, f"division by zero in {text!r}")
            value = value * rhs if op == "*" else value / rhs
        return value

    def power():
        base = unary()
        if peek()[2] in ("^", "**"):
            take()
            return base ** power()
        return base

    def unary():
        if peek()[2] in ("+", "-"):
            sign = -1.0 if take()[2] == "-" else 1.0
            return sign * unary()
        return atom()

    def atom():
        number, name, op = take() if i < len(tokens) else (None, None, None)
        if number is not None:
            return float(number.replace("d", "e").replace("D", "e"))
        if name is not None:
            if name.lower() == "sqrt" and peek()[2] == "(":
                take()
                value = expr()
                if i >= len(tokens) or take()[2] != ")":
                    raise where.error(line, f"missing ')' in {text!r}")
                if value < 0:
                    raise where.error(line, f"square root of a negative number in {text!r}")
                return math.sqrt(value)
            if name == "I" or name.lower() == "i":
                raise where.error(line, f"complex coefficient {text!r} is not supported (the model is real)")
            if name not in names:
                raise where.error(line, f"undefined parameter {name!r} in {text!r}")
            return names[name]
        if op == "(":
            value = expr()
            if i >= len(tokens) or take()[2] != ")":
                raise where.error(line, f"missing ')' in {text!r}")
            return value
        raise where.error(line, f"incomplete expression {text!r}")

    value = expr()
    if i != len(tokens):
        raise where.error(line, f"unexpected {''.join(t for t in tokens[i] if t)!r} in the expression {text!r}")
    return float(value)


# -- the file, section by section ----------------------------------------------------
def _lines(path: Path):
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise InputError(f"{path}:1: operator file does not exist") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}:1: not a text file") from None
    for number, raw in enumerate(text.splitlines(), start=1):
        yield number, raw.split("#", 1)[0].strip()


def _sections(path: Path, where: _Where):
    """(name, start line, [(line, text), ...]) for each section, in file order."""
    sections = []
    current = None
    last = 0
    for number, line in _lines(path):
        last = number
        if not line:
            continue
        low = line.lower()
        if current is None:
            if low in ("end-operator", "end-input"):
                break
            if low.endswith("-section") and not low.startswith("end-"):
                name = low[: -len("-section")]
                if name not in _KNOWN_SECTIONS:
                    raise where.error(number, f"unknown section {line!r}; this reader knows "
                                              + ", ".join(s.upper() + "-SECTION" for s in _KNOWN_SECTIONS))
                current = (name, number, [])
            elif low.startswith("hamiltonian-section_"):
                current = ("named-hamiltonian", number, [])
            else:
                raise where.error(number, f"{line!r} outside a section")
        else:
            name = current[0]
            closing = "end-hamiltonian-section" if name == "named-hamiltonian" else f"end-{name}-section"
            if low == closing:
                sections.append(current)
                current = None
            elif low.endswith("-section") and not low.startswith("end-") or low == "end-operator":
                raise where.error(current[1], f"{name.upper()}-SECTION opened here is not closed by "
                                              f"{closing!r} before line {number}")
            elif not re.fullmatch(r"[-=]+", line):   # ----- rulers between blocks are decoration
                current[2].append((number, line))
    if current is not None:
        raise where.error(current[1], f"{current[0].upper()}-SECTION opened here is not closed "
                                      f"(no {'end-' + current[0] + '-section'!r})")
    if not any(s[0] == "hamiltonian" for s in sections):
        raise where.error(last or 1, "missing section: the file has no HAMILTONIAN-SECTION")
    return sections


def _parameters(body, where: _Where) -> dict[str, float]:
    values: dict[str, float] = {}
    defined: dict[str, int] = {}
    for number, line in body:
        name, eq, rest = line.partition("=")
        name = name.strip()
        if not eq or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.']*", name):
            raise where.error(number, f"expected 'name = value [, unit]', got {line!r}")
        if name in defined:
            raise where.error(number, f"duplicate parameter {name!r} (first defined on line {defined[name]})")
        expression, comma, unit = rest.partition(",")
        factor = 1.0
        if comma:
            unit = unit.strip()
            if unit.lower() not in UNITS:
                raise where.error(number, f"unknown unit {unit!r} for parameter {name!r}; "
                                          f"known units: {', '.join(UNITS)}")
            factor = UNITS[unit.lower()]
        values[name] = _evaluate(expression, values, where, number) * factor
        defined[name] = number
    return values


class _Terms:
    """The Hamiltonian's terms collected into the model's arrays (hartree)."""

    def __init__(self, modes: list[str], electronic: int | None):
        self.modes = modes
        self.el = electronic
        self.vib = [a for a in range(len(modes)) if a != electronic]
        self.kinetic: dict[int, tuple[float, int]] = {}
        self.harmonic: dict[int, tuple[float, int]] = {}
        self.terms: list[tuple[int, float, tuple[int, int] | None, dict[int, int]]] = []
        self.max_state = 0


def _hamiltonian(body, parameters: dict[str, float], where: _Where) -> _Terms:
    modes: list[str] = []
    i = 0
    while i < len(body) and body[i][1].lower().startswith("modes"):
        number, line = body[i]
        fields = [f.strip() for f in line.split("|")]
        if fields[0].lower() != "modes" or any(not f for f in fields[1:]) or len(fields) < 2:
            raise where.error(number, f"expected 'modes | name | name ...', got {line!r}")
        for label in fields[1:]:
            if label in modes:
                raise where.error(number, f"mode {label!r} appears twice in the modes lines")
            modes.append(label)
        i += 1
    if not modes:
        first = body[0][0] if body else 0
        raise where.error(first, "HAMILTONIAN-SECTION must start with a 'modes | ...' line")
    electronic = next((a for a, m in enumerate(modes) if m.lower() == "el"), None)
    result = _Terms(modes, electronic)
    for number, line in body[i:]:
        if line.lower() == "usediag":
            continue
        fields = line.split("|")
        coefficient = _evaluate(fields[0], parameters, where, number) if fields[0].strip() else None
        if coefficient is None:
            raise where.error(number, f"term {line!r} has no coefficient")
        states = None
        powers: dict[int, int] = {}
        kinetic = None
        # the column form "c | op | op | ..." gives one operator per mode, in modes-line order
        columns = len(fields) - 1 == len(modes) and all(len(f.split()) == 1 for f in fields[1:])
        for column, field in enumerate(fields[1:]):
            parts = field.split()
            if not parts:
                raise where.error(number, f"empty '|' field in the term {line!r}")
            if columns:
                parts = [str(column + 1)] + parts
            mode_text, ops = parts[0], parts[1:]
            if mode_text.isdigit():
                mode = int(mode_text) - 1
                if not 0 <= mode < len(modes):
                    raise where.error(number, f"mode {mode_text} is not in the modes line "
                                              f"({len(modes)} modes: {', '.join(modes)}) in the term {line!r}")
            elif mode_text in modes:
                mode = modes.index(mode_text)
            else:
                raise where.error(number, f"mode {mode_text!r} is not in the modes line "
                                          f"({', '.join(modes)}) in the term {line!r}")
            if not ops:
                raise where.error(number, f"no operator after mode {mode_text} in the term {line!r}")
            for op in "*".join(ops).split("*"):
                if not op:
                    continue
                m = _ELECTRONIC.match(op)
                if m:
                    if mode != electronic:
                        raise where.error(number, f"electronic operator {op!r} on the vibrational mode "
                                                  f"{modes[mode]!r} (it belongs on 'el')")
                    k, l = int(m.group(1)), int(m.group(2))
                    if k < 1 or l < 1:
                        raise where.error(number, f"state index 0 in {op!r}: MCTDH numbers states from 1")
                    if states is not None:
                        raise where.error(number, f"two electronic operators in the term {line!r}")
                    states = (k - 1, l - 1)
                    result.max_state = max(result.max_state, k, l)
                    continue
                if op == "1":
                    continue
                if mode == electronic:
                    raise where.error(number, f"unsupported operator {op!r} on the electronic mode 'el' "
                                              "(supported: Sk&l, 1)")
                if op in ("q", "q^1"):
                    powers[mode] = powers.get(mode, 0) + 1
                elif op == "q^2":
                    powers[mode] = powers.get(mode, 0) + 2
                elif op in ("KE", "dq^2"):
                    if kinetic is not None:
                        raise where.error(number, f"two kinetic operators in the term {line!r}")
                    kinetic = (mode, op)
                else:
                    raise where.error(number, f"unsupported operator {op!r} on mode {modes[mode]!r} in the "
                                              f"term {line!r}: ehrenspeed reads the polynomial vibronic "
                                              "subset (1, q, q^2, KE, dq^2, Sk&l)")
        if kinetic is not None:
            mode, op = kinetic
            if powers or states is not None:
                raise where.error(number, f"kinetic operator {op} combined with other operators in the term "
                                          f"{line!r} is not supported (mode {modes[mode]!r} would not be harmonic)")
            value = coefficient if op == "KE" else -2.0 * coefficient
            if mode in result.kinetic:
                raise where.error(number, f"second kinetic-energy term for mode {modes[mode]!r} "
                                          f"(first on line {result.kinetic[mode][1]})")
            result.kinetic[mode] = (value, number)
            continue
        degree = sum(powers.values())
        if degree > 2:
            raise where.error(number, f"term {line!r} has degree {degree} in q (anharmonic); "
                                      "supported are constant, linear and quadratic terms")
        if states is None and degree == 2 and len(powers) == 1:
            mode = next(iter(powers))
            if mode in result.harmonic:
                raise where.error(number, f"second harmonic term for mode {modes[mode]!r} "
                                          f"(first on line {result.harmonic[mode][1]})")
            result.harmonic[mode] = (coefficient, number)
            continue
        result.terms.append((number, coefficient, states, powers))
    return result


def read_mctdh(path, n_states: int | None = None) -> dict:
    """Read an operator file into :class:`VibronicCoupling` keyword arguments.

    Parameters
    ----------
    path : str or path-like
        The ``.op`` file.
    n_states : int, optional
        Electronic dimension (set in MCTDH's input file, not in the operator
        file); a state index beyond it is an error. [default] the highest
        state index the file uses.

    Returns
    -------
    dict
        ``omega`` (D,), ``energies`` (S,), ``eta`` (S, S), ``kappa`` (S, D),
        ``lam`` (S, S, D), ``gamma`` (S, D, D), ``mu`` (S, S, D, D) in hartree,
        ``unit="hartree"``, ``modes`` (the vibrational labels in file order)
        and ``name`` (the file's stem).

    Raises
    ------
    InputError
        Message ``FILE:LINE: problem`` for any malformed or unsupported input.
    """
    path = Path(path)
    where = _Where(path)
    sections = _sections(path, where)
    parameters: dict[str, float] = {}
    for name, start, body in sections:
        if name == "parameter":
            if parameters:
                raise where.error(start, "second PARAMETER-SECTION")
            parameters = _parameters(body, where)
    hamiltonians = [s for s in sections if s[0] == "hamiltonian"]
    if len(hamiltonians) > 1:
        raise where.error(hamiltonians[1][1], "second HAMILTONIAN-SECTION")
    _, start, body = hamiltonians[0]
    terms = _hamiltonian(body, parameters, where)
    s = terms.max_state if n_states is None else int(n_states)
    s = max(s, 1)
    if terms.max_state > s:
        line = next(n for n, _, st, _ in terms.terms if st is not None and max(st) + 1 > s)
        raise where.error(line, f"state index {terms.max_state} is beyond the electronic dimension {s}")
    vib = terms.vib
    index = {mode: a for a, mode in enumerate(vib)}
    d = len(vib)
    if d == 0:
        raise where.error(start, "the modes line has no vibrational mode")
    omega = np.zeros(d)
    for mode in vib:
        label = terms.modes[mode]
        if mode not in terms.kinetic:
            raise where.error(start, f"mode {label!r} has no kinetic-energy term (w |{mode + 1} KE)")
        w, line = terms.kinetic[mode]
        if not w > 0:
            raise where.error(line, f"mode {label!r}: kinetic-energy coefficient {w} au must be positive")
        if mode not in terms.harmonic:
            raise where.error(line, f"mode {label!r} is not harmonic: no term 0.5*w |{mode + 1} q^2 without "
                                    "an electronic operator")
        c, hline = terms.harmonic[mode]
        if not math.isclose(c, 0.5 * w, rel_tol=1e-9):
            raise where.error(hline, f"mode {label!r}: q^2 coefficient {c:.10g} au is not half the kinetic-energy "
                                     f"coefficient {w:.10g} au (line {line}); ehrenspeed needs dimensionless "
                                     "normal coordinates, H_a = w (p^2 + q^2) / 2")
        omega[index[mode]] = w
    energies = np.zeros(s)
    eta = np.zeros((s, s))
    kappa = np.zeros((s, d))
    lam = np.zeros((s, s, d))
    gamma = np.zeros((s, d, d))
    mu = np.zeros((s, s, d, d))
    for _, c, states, powers in terms.terms:
        if states is None:
            diagonal = [(k, k) for k in range(s)]
        else:
            diagonal = [states]
        pairs = sorted(powers.items())
        for k, l in diagonal:
            same = k == l
            if not pairs:
                if same:
                    energies[k] += c
                else:
                    eta[k, l] += c
                    eta[l, k] += c
            elif len(pairs) == 1 and pairs[0][1] == 1:
                a = index[pairs[0][0]]
                if same:
                    kappa[k, a] += c
                else:
                    lam[k, l, a] += c
                    lam[l, k, a] += c
            else:
                if len(pairs) == 1:
                    a = b = index[pairs[0][0]]
                    share = ((a, a, c),)
                else:
                    a, b = index[pairs[0][0]], index[pairs[1][0]]
                    share = ((a, b, 0.5 * c), (b, a, 0.5 * c))
                for x, y, v in share:
                    if same:
                        gamma[k, x, y] += v
                    else:
                        mu[k, l, x, y] += v
                        mu[l, k, x, y] += v
    return {"omega": omega, "energies": energies, "eta": eta, "kappa": kappa, "lam": lam, "gamma": gamma,
            "mu": mu, "unit": "hartree", "modes": [terms.modes[m] for m in vib], "name": path.stem}


# -- writer ---------------------------------------------------------------------------
def _label(text: str) -> str:
    """A parameter-name-safe form of a mode label."""
    safe = re.sub(r"[^A-Za-z0-9_]", "_", text)
    return safe if safe and not safe[0].isdigit() else "m" + safe


def write_mctdh(model, path) -> None:
    """Write a :class:`VibronicCoupling` as an operator file (subset above).

    Parameters
    ----------
    model : VibronicCoupling
    path : str or path-like
        Written as text; ``from_mctdh(path)`` reads it back.
    """
    from .. import __version__

    co = model.coefficients()
    s, d = model.n_states, model.n_dof
    labels = [_label(m) for m in model.mode_labels]
    if len(set(labels)) != d:  # two labels that differ only in unsafe characters
        labels = [f"q{a + 1}" for a in range(d)]
    # the modes line keeps the model's own labels when they are legal there
    legal = all(re.fullmatch(r"[^\s|#]+", m) and m.lower() != "el" for m in model.mode_labels)
    modes_line = "modes | el | " + " | ".join(model.mode_labels if legal else labels)
    params: list[str] = []
    terms: list[str] = []

    def add(name: str, value: float, operators: str, always: bool = False) -> None:
        if value == 0.0 and not always:
            return
        params.append(f"{name:<24s} = {float(value)!r} , au")
        terms.append(f"{name:<24s} {operators}")

    el = "|1"
    for a in range(d):
        name = f"w_{labels[a]}"
        params.append(f"{name:<24s} = {float(co['omega'][a])!r} , au")
        terms.append(f"{name:<24s} |{a + 2} KE")
        terms.append(f"{'0.5*' + name:<24s} |{a + 2} q^2")
    for k in range(s):
        # every state's energy, also zero, so the reader sees the electronic dimension
        add(f"e_s{k + 1}", co["energies"][k], f"{el} S{k + 1}&{k + 1}", always=True)
    for k in range(s):
        for l in range(k + 1, s):
            add(f"eta_s{k + 1}_s{l + 1}", co["eta"][k, l], f"{el} S{k + 1}&{l + 1}")
    for k in range(s):
        for l in range(k, s):
            prefix = f"kappa_s{k + 1}" if k == l else f"lambda_s{k + 1}_s{l + 1}"
            for a in range(d):
                add(f"{prefix}_{labels[a]}", co["linear"][k, l, a], f"{el} S{k + 1}&{l + 1} |{a + 2} q")
    for k in range(s):
        for l in range(k, s):
            prefix = f"gamma_s{k + 1}" if k == l else f"mu_s{k + 1}_s{l + 1}"
            for a in range(d):
                for b in range(a, d):
                    ops = f"|{a + 2} q^2" if a == b else f"|{a + 2} q |{b + 2} q"
                    add(f"{prefix}_{labels[a]}_{labels[b]}", co["quadratic"][k, l, a, b],
                        f"{el} S{k + 1}&{l + 1} {ops}")
    text = "\n".join([
        f"# Written by ehrenspeed {__version__}: vibronic coupling model {getattr(model, 'name', '')!r},",
        f"# {s} electronic states, {d} vibrational modes in dimensionless normal coordinates:",
        "# H = sum_a w_a (KE_a + q_a^2/2) + W(q), W at most quadratic; every number in hartree (au).",
        "# Each bilinear coefficient multiplies q_a q_b once (the term is written once).",
        "",
        "OP_DEFINE-SECTION",
        "title",
        f"{getattr(model, 'name', 'vibronic')} (ehrenspeed VibronicCoupling)",
        "end-title",
        "end-op_define-section",
        "",
        "PARAMETER-SECTION",
        *params,
        "end-parameter-section",
        "",
        "HAMILTONIAN-SECTION",
        modes_line,
        *terms,
        "end-hamiltonian-section",
        "",
        "end-operator",
        "",
    ])
    Path(path).write_text(text)
