"""Loss terms and penalties: the one value every loss and term reads (Step), the registry of terms
with their side and weight, and the built-in terms (R1, R2, WGAN-GP, the class head,
mode-seeking).

A term is one function of a Step returning one value per example (shape (B,)); the trainer adds
weight * term to its side's per-example loss, in registration order, and skips a term whose
weight is 0, so a run without it computes exactly what it computed before the term existed.
"""

import dataclasses
from typing import Any, Callable, Optional

import tensorflow as tf

from cgan import losses
from cgan.errors import CganError
from cgan.registry import Recipe, Registry

SIDES = ("discriminator", "generator")
INPUTS = ("real", "fake")  # the discriminator inputs a term may ask the gradient of D at


@dataclasses.dataclass(frozen=True)
class Step:
    """What one side's loss at one train step knows (TF-GAN's GANModel): the public value every
    adversarial loss and term receives. Tensors hold this replica's share of the batch, B rows."""

    real: Any  # (B, H, W, C) real images in [-1, 1], before augmentation
    fake: Any  # (B, H, W, C) generated images, G([noise, fake_labels])
    labels: Any  # (B,) int32 labels of the real images
    fake_labels: Any  # (B,) labels the fakes were drawn for
    noise: Any  # (B, latent_dim) the generator's input noise, or None
    real_logits: Any  # (B, 1) D's logits of the (augmented) reals; None on a separate
    # generator update (critic_steps > 1) whose loss does not read them (pairs=False)
    fake_logits: Any  # (B, 1) D's logits of the (augmented) fakes
    real_classes: Any = None  # (B, classes) class logits of the reals, with a class head
    fake_classes: Any = None  # (B, classes) class logits of the fakes, with a class head
    real_gradients: Any = None  # d real_logits / d real, when an active term asks for it
    fake_gradients: Any = None  # d fake_logits / d fake, when an active term asks for it
    # (images, labels) -> (logits (B, 1), class logits or None), no augmentation: for penalties
    # that differentiate D at other points
    discriminate: Optional[Callable] = None
    draws: Any = None  # {term name: (B, draws) uniform numbers in [0, 1)} for terms that ask
    progress: Any = 0.0  # share of the training budget done, 0 to 1 (a float32 scalar)
    recipe: Optional[Recipe] = None  # the recipe being trained
    fakes_paired: bool = False  # were the fakes drawn in pairs, rows 2i and 2i+1 for label 2i?

    @property
    def paired_real_logits(self):
        """The real logits row-matched with the fakes (for pairing losses): real_logits itself,
        each real once, since with paired fakes the input pipeline sets the reals in pairs of one
        label (pairs_reals, cgan.losses.label_pair_order)."""
        return self.real_logits


@dataclasses.dataclass(frozen=True)
class Term:
    """A registered term: `function(step) -> (B,)` added to one side's loss times its weight."""

    name: str
    function: Callable
    side: str  # "discriminator" or "generator"
    weight: Optional[str]  # the Recipe/Config field holding its weight; None: --terms=NAME=W
    draws: int = 0  # uniform numbers per example per critic step (discriminator terms)
    gradients: tuple = ()  # of INPUTS: fills step.real_gradients / step.fake_gradients
    class_head: bool = False  # reads class logits: the discriminator must have a class head
    pairs_fakes: bool = False  # wants the fakes drawn in pairs sharing a label

    def weight_in(self, recipe) -> float:
        """This term's weight in `recipe` (0: off)."""
        if self.weight is None:
            return term_weights(recipe.terms).get(self.name, 0.0)
        return float(getattr(recipe, self.weight))


TERMS = Registry("term")


def register_term(
    name: str,
    side: str,
    weight: Optional[str] = None,
    *,
    draws: int = 0,
    gradients: tuple = (),
    class_head: bool = False,
    pairs_fakes: bool = False,
) -> Callable:
    """Decorator: registers `function(step: Step) -> (B,)` as a term of `side`'s loss. `weight`
    names the Recipe field holding its weight (a built-in flag such as "r1"); without one the
    weight comes from --terms=NAME=WEIGHT (0 by default: off). `draws`: uniform numbers per
    example the term needs at each critic step (in step.draws[name]); `gradients`: "real" and/or
    "fake", the input gradients of D it reads. Public as cgan.register_term."""
    if side not in SIDES:
        raise CganError(f"term {name!r}: side must be one of {', '.join(SIDES)}, got {side!r}")
    if weight is not None and weight not in {f.name for f in dataclasses.fields(Recipe)}:
        raise CganError(f"term {name!r}: weight {weight!r} is not a Recipe field")
    if (draws or gradients) and side != "discriminator":
        raise CganError(f"term {name!r}: draws and input gradients are for discriminator terms")
    if set(gradients) - set(INPUTS):
        raise CganError(f"term {name!r}: gradients are of {', '.join(INPUTS)}, got {gradients}")

    def decorate(function: Callable) -> Callable:
        term = Term(name, function, side, weight, draws, tuple(gradients), class_head, pairs_fakes)
        TERMS.register(name, term, function)
        return function

    return decorate


def active(recipe, side: str) -> list[tuple[Term, float]]:
    """(term, weight) of every term of `side` whose weight in `recipe` is not 0, in registration
    order: the order the trainer sums them in."""
    chosen = [(term, term.weight_in(recipe)) for term in TERMS.values() if term.side == side]
    return [(term, weight) for term, weight in chosen if weight]


def pairs_reals(recipe) -> bool:
    """Are the reals set in pairs of one label (cgan.losses.label_pair_order)? With a pairing loss
    and fakes drawn in pairs: fake i then has real i's label wherever the counts allow."""
    chosen = [term for side in SIDES for term, _ in active(recipe, side)]
    return losses.get_loss(recipe.loss).pairs and any(term.pairs_fakes for term in chosen)


def draws_per_step(recipe) -> int:
    """Uniform numbers per example per critic step that the recipe's discriminator terms need."""
    return sum(term.draws for term, _ in active(recipe, "discriminator"))


def term_weights(text: str) -> dict[str, float]:
    """{name: weight} of a --terms value "name=weight,..." ("" for none), checked: registered
    terms without a field of their own, finite weights >= 0."""
    weights = {}
    for item in (part.strip() for part in (text or "").split(",")):
        if not item or item == "none":
            continue
        name, _, value = item.partition("=")
        name = name.strip()
        term = TERMS.get(name)  # an unknown name lists the known ones
        if term.weight is not None:
            raise CganError(f"--terms: {name} has a flag of its own: give --{term.weight}")
        try:
            weights[name] = float(value)
        except ValueError:
            raise CganError(f"--terms: {name} needs a weight, NAME=WEIGHT; got {item!r}") from None
        if not 0 <= weights[name] < float("inf"):
            raise CganError(f"--terms: the weight of {name} must be >= 0, got {value.strip()}")
    return weights


def checked(what: str, value, batch):
    """`value` as float32, refused (CganError naming `what`) unless it holds one value per
    example of a batch of static shape `batch`; checked while tracing, so it costs no step."""
    value = tf.cast(value, tf.float32)  # a no-op on float32: the sums stay as they were
    if value.shape.rank != 1 or not value.shape.is_compatible_with(batch):
        raise CganError(
            f"{what} must return one value per example, shape ({batch[0]},), got "
            f"{tuple(value.shape)}"
        )
    return value


def first_non_finite(log) -> dict:
    """{what: True if it was the first to be NaN or infinite} from [(what, bad)] in the order
    computed: later values go bad because of the first (a NaN weight after an update), so only
    the first is named."""
    seen, first = tf.constant(False), {}
    for what, bad in log:
        new = tf.logical_and(bad, tf.logical_not(seen))
        first[what] = tf.logical_or(first[what], new) if what in first else new
        seen = tf.logical_or(seen, bad)
    return first


def class_cross_entropy(labels, class_logits):
    """The auxiliary classifier's cross-entropy on logits (one softmax, inside the loss)."""
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels, class_logits)


# Registration order is summation order: the discriminator's terms then add up as they always
# have (loss, R1, R2, WGAN-GP, class head), so runs stay byte-identical.
@register_term("r1", "discriminator", "r1", gradients=("real",))
def r1(step):
    """R1 (Mescheder et al. 2018): ||grad D(real)||^2 / 2, through the augmentation."""
    return losses.squared_gradient_norm(step.real_gradients) / 2


@register_term("r2", "discriminator", "r2", gradients=("fake",))
def r2(step):
    """R2: ||grad D(fake)||^2 / 2 (R3GAN's pair with R1, Huang et al. 2024)."""
    return losses.squared_gradient_norm(step.fake_gradients) / 2


@register_term("gradient_penalty", "discriminator", "gradient_penalty", draws=1)
def gradient_penalty(step):
    """WGAN-GP (Gulrajani et al. 2017) at one interpolation per example, D without augmentation."""

    def critic(images):
        return step.discriminate(images, step.labels)[0]

    weights = step.draws["gradient_penalty"][:, 0]
    return losses.gradient_penalty(critic, step.real, step.fake, weights)


@register_term("class_real", "discriminator", "class_weight", class_head=True)
def class_real(step):
    """AC-GAN's class loss on reals only: learning from fakes too rewards the generator for easily
    classified digits (Gong et al. 2019, "Twin auxiliary classifiers")."""
    return class_cross_entropy(step.labels, step.real_classes)


@register_term("class_fake", "generator", "class_weight", class_head=True)
def class_fake(step):
    """AC-GAN's generator side: the class head should recognise the digit asked for."""
    return class_cross_entropy(step.fake_labels, step.fake_classes)


@register_term("mode_seeking", "generator", "mode_seeking", pairs_fakes=True)
def mode_seeking(step):
    """MSGAN's term (Mao et al. 2019) over pairs of fakes drawn for one label."""
    return losses.mode_seeking(step.fake, step.noise)
