"""The Config fields that override an architecture's training recipe (cgan.registry.Recipe), each
with its help: a Config inherits them; None keeps the architecture's own value."""

import dataclasses
from typing import Optional

from cgan.options import late, option


@dataclasses.dataclass(frozen=True)
class RecipeOptions:
    """The recipe's flags: each overrides the Recipe field of its name (Config.recipe)."""

    learning_rate: Optional[float] = option(
        None, "Adam learning rate (default: the architecture's)."
    )
    learning_rate_decay: Optional[str] = option(
        None,
        "The learning rate over the budget: constant, linear (to zero at its end), or hold "
        "(constant for four fifths, then linear to zero); default: the architecture's.",
        choices=late("cgan.schedules", "LEARNING_RATE_DECAYS"),
    )
    beta_1: Optional[float] = option(
        None, "Adam's first-moment decay, in [0, 1) (default: the architecture's)."
    )
    beta_2: Optional[float] = option(
        None, "Adam's second-moment decay, in [0, 1) (default: the architecture's)."
    )
    loss: Optional[str] = option(
        None,
        "Adversarial loss (default: the architecture's).",
        choices=late("cgan.losses", "LOSSES"),
    )
    critic_steps: Optional[int] = option(
        None, "Discriminator (critic) updates per generator update (default: the architecture's)."
    )
    gradient_penalty: Optional[float] = option(
        None, "Weight of the WGAN-GP gradient penalty, 0 to disable (default: the architecture's)."
    )
    ema: Optional[float] = option(
        None,
        "Generator weight averaging decay, in [0, 1), 0 to disable (default: the architecture's).",
    )
    ema_half_life: Optional[float] = option(
        None,
        "Half-life of the generator weight average in images seen (Karras et al. 2020), at most "
        "EMA_RAMP of the images seen so far; turns the average on and replaces --ema's decay; "
        "0 to use --ema (default: the architecture's).",
    )
    top_k: Optional[float] = option(
        None,
        "Top-k generator update (Sinha et al. 2020): the share of fakes, those the discriminator "
        "scores highest, that the generator's adversarial loss keeps by the end of the budget, "
        "falling linearly from all; in (0, 1], 1 for every fake (default: the architecture's).",
    )
    class_weight: Optional[float] = option(
        None,
        "Weight of the class head's loss, for architectures with one "
        "(default: the architecture's).",
    )
    mode_seeking: Optional[float] = option(
        None,
        "Weight of the generator's mode-seeking term (MSGAN), 0 to disable "
        "(default: the architecture's).",
    )
    minibatch_stddev: Optional[int] = option(
        None,
        "Group size of the discriminator's minibatch standard deviation feature (Karras et al. "
        "2018), 0 to disable; a replica's share of the batch must be a multiple of it "
        "(default: the architecture's).",
    )
    # D is about two thirds of a step's arithmetic: a narrower D saves more than a narrower G.
    g_width: Optional[int] = option(
        None,
        "Filters of the generator's last stage, doubled at each stage before it, for "
        "architectures of convolution stages (default: the architecture's).",
    )
    d_width: Optional[int] = option(
        None,
        "Filters of the discriminator's first stage, doubled at each stage after it, for "
        "architectures of convolution stages (default: the architecture's).",
    )
    r1: Optional[float] = option(
        None,
        "gamma of the R1 penalty, gamma/2 |grad D(real)|^2, 0 to disable "
        "(default: the architecture's).",
    )
    r2: Optional[float] = option(
        None,
        "gamma of the R2 penalty, gamma/2 |grad D(fake)|^2, 0 to disable "
        "(default: the architecture's).",
    )
    augment: Optional[str] = option(
        None,
        "Differentiable augmentation of reals and fakes before the discriminator: "
        "comma-separated transforms of translation, cutout; 'none' for none "
        "(default: the architecture's).",
    )
    terms: Optional[str] = option(
        None,
        "Weights of registered loss terms without a flag of their own (cgan.register_term), "
        "comma-separated NAME=WEIGHT; 'none' for none (default: the architecture's).",
    )
