"""Named comparisons for `python run.py --experiment=NAME`, vit_jax style: each is a small
function that starts from base() and changes a few fields. Flags given on the command line
override the experiment's fields (a budget flag replaces its budget).

    python run.py --experiment=quick
    python run.py --experiment=all_15min --seeds=3

Add one with @experiment (cgan.register_experiment); its function name is its name, and its
results go to runs/<name>.
"""

import dataclasses

from cgan import registry
from cgan.config import Config
from cgan.registry import register_experiment as experiment


def names():
    """The registered experiment names, sorted."""
    return registry.EXPERIMENTS.names()


def get(name):
    """The Config of experiment `name`; an unknown name lists the known ones."""
    return dataclasses.replace(registry.EXPERIMENTS.get(name)(), experiment=name)


def base():
    """Every registered architecture, seed 0, the same 15 wall minutes of training each
    (scoring excluded), scored after every epoch on 10,000 samples."""
    return Config(mode="compare", budget_seconds=15 * 60, eval_every=1)


@experiment
def all_15min():
    """The comparison of issue 4: every architecture, 15 minutes of training each."""
    return base()


@experiment
def quick():
    """A smoke comparison of a conditional and an unconditional model: one epoch each, small
    scores (minutes)."""
    return dataclasses.replace(
        base(),
        archs=("dense", "cgan"),
        budget_seconds=None,
        budget_images=60_000,
        eval_samples=2_000,
    )


@experiment
def classic_3seeds():
    """The four original architectures, 5 epochs each, 3 seeds: how much of a gap is seed noise."""
    return dataclasses.replace(
        base(),
        archs=("dense", "dcgan", "cgan", "wgan_gp"),
        budget_seconds=None,
        budget_images=300_000,
        seeds=3,
    )


@experiment
def ema_everywhere():
    """Every architecture with generator weight averaging (decay 0.999), 5 epochs: each row has
    its raw generator's row beside it, showing what EMA buys."""
    return dataclasses.replace(base(), ema=0.999, budget_seconds=None, budget_images=300_000)
