"""Learning-rate decays over the training budget, by name: each gives the share of the recipe's
rate left a fraction `progress` (0 to 1) of the way through."""

from cgan.errors import CganError

LEARNING_RATE_DECAYS = {
    "constant": lambda progress: 1.0,
    "linear": lambda progress: 1.0 - progress,  # to zero: the last steps settle, not jump
}


def get_decay(name):
    """The learning-rate decay registered under `name`; an unknown name lists the known ones."""
    try:
        return LEARNING_RATE_DECAYS[name]
    except KeyError:
        raise CganError(
            f"unknown learning rate decay {name!r}; known: {', '.join(LEARNING_RATE_DECAYS)}"
        ) from None
