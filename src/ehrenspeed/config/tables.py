"""Reading TOML tables: the typed ``_Table`` reader and small value helpers."""

from __future__ import annotations

import difflib
import inspect
import math
from types import MappingProxyType
from typing import Any, Mapping

from ..errors import InputError

_MISSING = object()


# -- validation helpers ----------------------------------------------------------------
class _Table:
    """One TOML table being read: typed getters that record which keys were used."""

    def __init__(self, data: Any, name: str, source: str):
        if not isinstance(data, dict):
            raise InputError(f"{source}: [{name}] must be a table, got {_kind(data)}")
        self.data, self.name, self.source = data, name, source
        self.used: set[str] = set()

    def key(self, key: str) -> str:
        return f"{self.name}.{key}" if self.name else key

    def error(self, key: str, message: str) -> InputError:
        return InputError(f"{self.source}: key '{self.key(key)}' {message}")

    def has(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str, default: Any = _MISSING) -> Any:
        self.used.add(key)
        if key not in self.data:
            if default is _MISSING:
                raise InputError(f"{self.source}: missing key '{self.key(key)}'")
            return default
        return self.data[key]

    def table(self, key: str, required: bool = False) -> "_Table | None":
        if key not in self.data:
            self.used.add(key)
            if required:
                raise InputError(f"{self.source}: missing table [{self.key(key)}]")
            return None
        return _Table(self.raw(key), self.key(key), self.source)

    def number(self, key: str, default: Any = _MISSING, positive: bool = False,
               allow_inf: bool = False) -> Any:
        value = self.raw(key, default)
        if value is default and key not in self.data:
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(key, f"must be a number, got {_kind(value)}")
        value = float(value)
        if math.isnan(value) or (math.isinf(value) and not allow_inf):
            raise self.error(key, f"must be finite, got {value}")
        if positive and value <= 0:
            raise self.error(key, f"must be positive, got {value:g}")
        return value

    def integer(self, key: str, default: Any = _MISSING, minimum: int | None = None,
                maximum: int | None = None) -> Any:
        value = self.raw(key, default)
        if value is default and key not in self.data:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"must be an integer, got {_kind(value)}")
        if minimum is not None and value < minimum:
            raise self.error(key, f"must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise self.error(key, f"must be at most {maximum}, got {value}")
        return value

    def boolean(self, key: str, default: Any = _MISSING) -> Any:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, got {_kind(value)}")
        return value

    def string(self, key: str, default: Any = _MISSING, choices: tuple | None = None) -> Any:
        value = self.raw(key, default)
        if value is default and key not in self.data:
            return value
        if not isinstance(value, str):
            raise self.error(key, f"must be a string, got {_kind(value)}")
        if choices is not None and value.lower() not in choices:
            raise self.error(key, f"must be one of {', '.join(choices)}, got {value!r}")
        return value.lower() if choices is not None else value

    def numbers(self, key: str, default: Any = _MISSING, scalar_ok: bool = True, integer: bool = False,
                matrix_ok: bool = False) -> Any:
        """A number or a list of numbers (or, with ``matrix_ok``, a list of lists)."""
        value = self.raw(key, default)
        if value is default and key not in self.data:
            return value
        want = "integers" if integer else "numbers"

        def check(x):
            ok = isinstance(x, int) if integer else isinstance(x, (int, float))
            if isinstance(x, bool) or not ok:
                raise self.error(key, f"must contain {want}, got {_kind(x)}")
            if not integer and not math.isfinite(x):
                raise self.error(key, f"must contain finite numbers, got {x}")
            return int(x) if integer else float(x)

        if not isinstance(value, list):
            if not scalar_ok:
                raise self.error(key, f"must be a list of {want}, got {_kind(value)}")
            return (check(value),)
        if not value:
            raise self.error(key, "must not be empty")
        if matrix_ok and all(isinstance(row, list) for row in value):
            rows = tuple(tuple(check(x) for x in row) for row in value)
            if len({len(row) for row in rows}) != 1 or len(rows) != len(rows[0]):
                raise self.error(key, "must be a square matrix (a list of equally long rows)")
            return rows
        return tuple(check(x) for x in value)

    def finish(self) -> None:
        """Refuse keys nobody asked for, suggesting the closest known one."""
        unknown = [key for key in self.data if key not in self.used]
        if unknown:
            key = unknown[0]
            close = difflib.get_close_matches(key, sorted(self.used), n=1)
            hint = f"; did you mean '{self.key(close[0])}'?" if close else \
                f"; known: {', '.join(sorted(self.used))}"
            what = "table" if isinstance(self.data[key], dict) else "key"
            raise InputError(f"{self.source}: unknown {what} '{self.key(key)}'{hint}")


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def _plain(value: Any) -> Any:
    """Tuples and mappings as lists and dicts (for JSON and TOML)."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _frozen(value: Any) -> Any:
    """Lists as tuples and dicts as read-only mappings, recursively."""
    if isinstance(value, dict):
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    """Inverse of :func:`_frozen`, for passing values to constructors."""
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


def _check_keywords(fn, given: Mapping[str, Any], table: str, what: str, source: str | None = None) -> None:
    """Refuse keyword arguments ``fn`` does not take (unless it takes ``**kwargs``)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # builtins without a signature: let the call decide
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    names = [n for n, p in params.items() if n != "self" and p.kind in
             (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)]
    for key in given:
        if key not in names:
            close = difflib.get_close_matches(key, names, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"it takes {', '.join(names) or 'nothing'}"
            prefix = f"{source}: " if source else ""
            raise InputError(f"{prefix}unknown key '{table}.{key}': {what} does not take it; {hint}")


def _check_finite_values(values: Mapping[str, Any], table: str, source: str) -> None:
    """Refuse NaN and infinite numbers anywhere in a table of keyword arguments.

    A NaN model parameter would otherwise surface only later, as a NaN
    potential at some geometry, far from the key that caused it.
    """
    def bad(value: Any) -> bool:
        if isinstance(value, float):
            return not math.isfinite(value)
        if isinstance(value, (list, tuple)):
            return any(bad(v) for v in value)
        if isinstance(value, Mapping):
            return any(bad(v) for v in value.values())
        return False

    for key, value in values.items():
        if bad(value):
            raise InputError(f"{source}: key '{table}.{key}' must be finite, got {_plain(value)!r}")


def _check_number_keywords(fn, given: Mapping[str, Any], table: str, source: str) -> None:
    """Refuse non-numbers for keyword arguments whose default is a float.

    A real-valued default (``a=0.01``, ``mass=2000.0``) or a ``float``
    annotation says the argument is a physical quantity: a number, or a list
    of numbers where the model takes one per coordinate. A default that is a
    tuple of numbers (``omega=(0.074, 0.126, 0.118)``) fixes the length: one
    entry per mode of a model whose modes are fixed. Strings, booleans,
    tables and wrong lengths would otherwise fail deep inside the
    constructor, with a message that names no key.
    """
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return
    for key, value in given.items():
        param = params.get(key)
        if param is None:
            continue
        if _has_boolean(value) and not _takes_boolean(param):
            # TOML's true is not 1: a boolean where no flag is expected is a slip
            raise InputError(f"{source}: key '{table}.{key}' must not be a boolean "
                             f"(default {param.default!r}), got {_kind(value)}")
        entries = _real_entries(param.default)
        if entries is None and not _takes_real(param):
            continue
        items = value if isinstance(value, (list, tuple)) else [value]
        if not items or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in items):
            want = "a number" if entries is None else f"a list of {entries} numbers"
            raise InputError(f"{source}: key '{table}.{key}' must be {want}, got {_kind(value)}")
        if entries is not None and isinstance(value, (list, tuple)) and len(value) != entries:
            raise InputError(f"{source}: key '{table}.{key}' must have {entries} entries, as its default "
                             f"does, got {len(value)}")


def _has_boolean(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return any(_has_boolean(v) for v in value)
    return isinstance(value, bool)


def _takes_boolean(param: inspect.Parameter) -> bool:
    """Whether a parameter is a flag (boolean default or ``bool`` annotation)."""
    annotation = param.annotation
    if isinstance(annotation, str):
        return "bool" in annotation
    return isinstance(param.default, bool) or annotation is bool


def _real_entries(default: Any) -> int | None:
    """Length of a default that is a tuple of numbers, else None."""
    if isinstance(default, (tuple, list)) and default and all(
            isinstance(x, (int, float)) and not isinstance(x, bool) for x in default):
        return len(default)
    return None


def _takes_real(param: inspect.Parameter) -> bool:
    """Whether a parameter's default or annotation says it is a real number."""
    default = param.default
    if isinstance(default, float):
        return True
    if default in (None, inspect.Parameter.empty) or isinstance(default, (bool, int)):
        annotation = param.annotation
        if isinstance(annotation, str):  # postponed annotations: "float | None"
            return annotation.replace(" ", "") in ("float", "float|None", "None|float", "Optional[float]")
        return annotation is float
    return False
