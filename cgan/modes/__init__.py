"""The modes run.py offers, each a thin layer over the library, in one table (MODES) that the
command line and the Python API both dispatch through."""

import dataclasses
from typing import Any, Callable, Optional

from cgan import scores
from cgan.modes import compare, evaluate, export, generate, train


@dataclasses.dataclass(frozen=True)
class Mode:
    """A mode: its work on a Config and how the command line reports what that returned."""

    run: Callable[..., Any]  # (config, **options) -> its result
    written: Callable[[Any], list]  # the result -> the paths written
    summary: Callable[[Any], Optional[str]] = lambda result: None  # printed before the paths


MODES = {
    "train": Mode(train.train, lambda path: [path] if path else []),  # other workers: None
    "generate": Mode(generate.generate, list),
    "evaluate": Mode(
        evaluate.evaluate, lambda result: result[1], lambda result: scores.metrics_table(result[0])
    ),
    "compare": Mode(compare.compare, lambda result: result.paths, lambda result: result.table),
    "export": Mode(export.export, list),
}


def run(config, **options):
    """What the mode config.mode returns for `config` (options: the mode's own, e.g. a judge)."""
    return MODES[config.mode].run(config, **options)
