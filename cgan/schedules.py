"""Learning-rate decays over the training budget, registered by name: each gives the share of
the recipe's rate left a fraction `progress` (0 to 1) of the way through."""

from typing import Callable

from cgan.registry import Registry

LEARNING_RATE_DECAYS = Registry("learning rate decay")


def register_schedule(name: str) -> Callable:
    """Decorator: registers `decay(progress) -> share of the rate`, progress a Python float from 0
    to 1, under `name` (then --learning_rate_decay=NAME). Public as cgan.register_schedule."""

    def decorate(decay: Callable) -> Callable:
        LEARNING_RATE_DECAYS.register(name, decay, decay)
        return decay

    return decorate


@register_schedule("constant")
def constant(progress):
    return 1.0


@register_schedule("linear")
def linear(progress):
    """To zero: the last steps settle, not jump."""
    return 1.0 - progress


HOLD = 0.8  # the share of the budget at the full rate before the cool-down


@register_schedule("hold")
def hold(progress):
    """The full rate, then linear to zero over the last fifth: long at the rate that learns
    fastest, and a cool-down that settles the weights (Hägele et al. 2024)."""
    return min(1.0, (1.0 - progress) / (1.0 - HOLD))


def get_decay(name):
    """The learning-rate decay registered under `name`; an unknown name lists the known ones."""
    return LEARNING_RATE_DECAYS.get(name)
