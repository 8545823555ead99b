"""User plugins: modules that register architectures (or anything else) imported by --import,
cgan.import_plugins or an installed package's `cgan.plugins` entry point, and imported again by
every later process that reopens a run they trained."""

import importlib
import importlib.metadata
import importlib.util
import os
import sys

from cgan.errors import CganError, first_line

ENTRY_POINT_GROUP = "cgan.plugins"  # where an installed package announces its plugin modules
_imported: dict = {}  # spec as recorded (a module name, or a .py file's absolute path) -> module
_entry_points_loaded = False


def import_plugins(*modules) -> list:
    """Imports each module (a dotted name, or a path to a .py file) once per process, after the
    installed packages' `cgan.plugins` entry points; returns the specs as a run records them
    (absolute paths for files). A module that is missing or raises is refused in one line."""
    load_entry_points()
    return [_import(module, f"--import {module}") for module in modules]


def load_entry_points() -> None:
    """Imports the modules installed packages name in the `cgan.plugins` entry-point group, once
    per process, as pytest and flake8 load their plugins."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        _import(point.module, f"entry point {point.name} ({ENTRY_POINT_GROUP})")


def imported() -> tuple:
    """The plugins this process imported, as recorded in run.json and beside a .keras file."""
    return tuple(_imported)


def reimport(specs, where, strict=True) -> list:
    """Imports again the plugins `where` (a run folder or a .keras file) was made with; one that
    is gone is named in one line (CganError) or, not `strict`, in the list returned."""
    load_entry_points()
    failures = []
    for spec in specs or ():
        gone = f"the plugin {spec}, which cannot be imported now"
        try:
            _import(spec, f"{where} was made with {gone}" if strict else gone)
        except CganError as error:
            if strict:
                raise
            failures.append(str(error))
    return failures


def spec_of(module) -> str:
    """How a run records `module`: a .py file by its absolute path, a module by its name."""
    module = os.fspath(module)
    return os.path.abspath(module) if _is_file(module) else module


def _is_file(module):
    return module.endswith(".py") or os.sep in module


def _import(module, context):
    """Imports `module` unless this process already has; returns its recorded spec."""
    spec = spec_of(module)
    if spec in _imported:
        return spec
    try:
        _imported[spec] = _load_file(spec) if _is_file(spec) else importlib.import_module(spec)
    except CganError as error:
        raise CganError(f"{context}: {error}") from None
    except Exception as error:  # any error of the user's code: one line naming the module
        detail = str(error) if isinstance(error, ImportError) else _describe(error)
        raise CganError(f"{context}: {detail}") from None
    return spec


def _describe(error):
    return f"{type(error).__name__}: {first_line(error)}"


def _load_file(path):
    """Executes the .py file at `path` as a module named after the file (so Keras and the
    registry see one module name in every process)."""
    if not os.path.isfile(path):
        raise CganError(f"no such file {path}")
    name = os.path.splitext(os.path.basename(path))[0]
    existing = sys.modules.get(name)
    if existing is not None and os.path.abspath(getattr(existing, "__file__", "") or "") == path:
        return existing
    if existing is not None:  # another module has that name: keep both importable
        name = f"cgan_plugin_{name}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before running it, as `import` does: dataclasses and pickle look
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
