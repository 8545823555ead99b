"""Registered metrics: user-defined scores of generated images, beside the built-in ones (FID,
Inception Score, KID, precision/recall, accuracy), resolved by name."""

import dataclasses
from typing import Callable

from cgan.errors import CganError
from cgan.registry import Registry


@dataclasses.dataclass(frozen=True)
class Metric:
    """A registered metric: `function(images, labels, judge) -> float`."""

    name: str
    function: Callable
    higher_is_better: bool  # for tables and curves: which way is progress


METRICS = Registry("metric")


def registered():
    """The registered metrics, in registration order."""
    return METRICS.values()


def compute(images, labels, judge):
    """{name: value} of every registered metric of uint8 `images` drawn for `labels` (None: not
    asked for); a metric that gives no finite number is refused in one line."""
    values = {}
    for metric in registered():
        value = metric.function(images, labels, judge)
        try:
            values[metric.name] = float(value)
        except (TypeError, ValueError):
            raise CganError(f"metric {metric.name!r} must return a number, got {value!r}") from None
    return values


def register_metric(name: str, higher_is_better: bool = True) -> Callable:
    """Decorator: registers `function(images, labels, judge) -> float` under `name`. `images`:
    uint8 samples (N, H, W, C) as the scores read them; `labels`: (N,) int labels they were
    drawn for, or None for an unconditional model; `judge`: the dataset's cgan.judge.Judge (its
    features and class predictions). Public as cgan.register_metric."""

    def decorate(function: Callable) -> Callable:
        METRICS.register(name, Metric(name, function, higher_is_better), function)
        return function

    return decorate
