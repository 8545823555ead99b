"""Option fields: a Config field with its help text and choices, and the checks they give."""

import dataclasses
import importlib
from typing import Any, Callable, Optional, Union

from cgan.errors import CganError

Choices = Union[tuple, Callable[[], tuple]]


def option(default: Any, help: str, choices: Optional[Choices] = None) -> Any:
    """A dataclass field that carries its help text and, for an enum-like field, its choices: a
    tuple, or a function returning them (for choices only known once other modules are loaded)."""
    metadata = dict(help=help) if choices is None else dict(help=help, choices=choices)
    return dataclasses.field(default=default, metadata=metadata)


def late(module: str, name: str) -> Callable[[], tuple]:
    """Choices read from module.name when first asked for: the module may import TensorFlow."""
    return lambda: tuple(getattr(importlib.import_module(module), name))


def choices(field: dataclasses.Field) -> Optional[tuple]:
    """The values `field` accepts (besides None, where None is its default), or None: any."""
    declared = field.metadata.get("choices")
    if declared is None:
        return None
    return tuple(declared() if callable(declared) else declared)


def help_text(field: dataclasses.Field) -> str:
    """The field's help, with its choices when it has some."""
    allowed = choices(field)
    text = field.metadata["help"]
    return text if allowed is None else f"{text} One of: {', '.join(allowed)}."


def check_choices(instance) -> None:
    """Refuses the first field of a dataclass instance whose value is not one of its choices."""
    for field in dataclasses.fields(instance):
        allowed, value = choices(field), getattr(instance, field.name)
        if allowed is not None and value is not None and value not in allowed:
            raise CganError(f"--{field.name} must be one of {', '.join(allowed)}, got {value!r}")
