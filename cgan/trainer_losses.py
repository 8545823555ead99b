"""Each side's loss at one step, as the trainer computes it: the discriminator's passes, the
one Step value the adversarial loss and the active terms read, their checks (shape, and
finiteness on the first call) and their weighted sum (a base of cgan.trainer.GANTrainer)."""

import tensorflow as tf

from cgan import augment, losses, step_inputs, terms
from cgan.errors import CganError


class TrainerLosses:
    """The loss half of GANTrainer, which sets what these read: discriminator, recipe, loss,
    terms, watched, pairs_fakes, augment, has_class_head, progress, global_batch_size and the
    per-replica record _replica."""

    def _mean(self, per_example):
        return tf.nn.compute_average_loss(per_example, global_batch_size=self.global_batch_size)

    def _discriminate(self, images, labels, draws=None):
        """(adversarial logits, class logits or None): a class head is the optional second
        output. `draws`: the augmentation's numbers for these images, None for none."""
        if draws is not None:
            images = augment.apply(images, draws, self.augment)
        outputs = self.discriminator([images, labels], training=True)
        return tuple(outputs) if self.has_class_head else (outputs, None)

    def _step(self, **values):
        """The Step value the losses and terms of one side read."""
        return terms.Step(
            discriminate=self._discriminate,
            progress=self.progress,
            recipe=self.recipe,
            **values,
        )

    def _checked(self, what, value, step):
        """`value` as float32 (B,) (cgan.terms.checked), its finiteness logged for the first
        call's check."""
        try:
            value = terms.checked(what, value, step.fake.shape[:1])
        except CganError as error:
            self._trace_error = str(error)
            raise
        log = self._replica.__dict__.setdefault("log", [])  # also when called outside a step
        log.append((what, tf.logical_not(tf.reduce_all(tf.math.is_finite(value)))))
        return value

    def _total(self, side, step):
        """The side's per-example loss: the adversarial loss, then each active term times its
        weight, added in registration order."""
        what = f"loss {self.loss.name!r} ({side} side)"
        total = self._checked(what, getattr(self.loss, side)(step), step)
        if side == "generator" and self.recipe.top_k < 1:
            total = losses.top_k(total, step.fake_logits, step.progress, self.recipe.top_k)
        for term, weight in self.terms[side]:
            value = self._checked(f"term {term.name!r}", term.function(step), step)
            self._replica.__dict__.setdefault("term_means", {})[term.name] = self._mean(value)
            total += weight * value
        return total

    def discriminator_loss(
        self,
        real,
        fake,
        labels,
        fake_labels,
        numbers=None,
        draws=None,
        fakes_paired=True,
        noise=None,
    ):
        """(mean loss, mean accuracy, fake outputs, real logits), the last two for a joint update.
        `fake_labels`: the fakes' labels (`fakes_paired`: from fake_labels); `numbers`: {term:
        uniform numbers} (or None); `draws`: (B, 2, n) augmentation numbers, reals and fakes (or
        None)."""
        inputs = {"real": real, "fake": fake}
        # Input gradients are of the same passes the loss uses, through the augmentation.
        with tf.GradientTape(watch_accessed_variables=False) as input_tape:
            for name in self.watched:
                input_tape.watch(inputs[name])
            real_logits, real_classes = self._discriminate(real, labels, step_inputs.part(draws, 0))
            fake_logits, fake_classes = self._discriminate(
                fake, fake_labels, step_inputs.part(draws, 1)
            )
        gradients = {}
        if self.watched:
            logits = {"real": real_logits, "fake": fake_logits}
            found = input_tape.gradient(
                [logits[name] for name in self.watched], [inputs[name] for name in self.watched]
            )
            gradients = {f"{name}_gradients": g for name, g in zip(self.watched, found)}
        step = self._step(
            real=real,
            fake=fake,
            labels=labels,
            fake_labels=fake_labels,
            noise=noise,
            real_logits=real_logits,
            fake_logits=fake_logits,
            real_classes=real_classes,
            fake_classes=fake_classes,
            draws=numbers,
            fakes_paired=fakes_paired and self.pairs_fakes,
            **gradients,
        )
        per_example = self._total("discriminator", step)
        # Accuracy: real scored positive and fake scored negative, averaged over both halves.
        hits = tf.cast(real_logits > 0, tf.float32) + tf.cast(fake_logits < 0, tf.float32)
        return (
            self._mean(per_example),
            self._mean(tf.reshape(hits, [-1]) / 2.0),
            (fake_logits, fake_classes),
            real_logits,
        )

    def fake_labels(self, labels):
        """The labels the generator draws for: pairs of rows share one when a term asks for it
        (mode-seeking)."""
        return losses.paired_rows(labels) if self.pairs_fakes else labels

    def generator_loss(
        self, fake, noise, fake_outputs, fake_labels, real_logits=None, real=None, labels=None
    ):
        """The generator's mean loss on fakes drawn from `noise` for `fake_labels`, given the
        discriminator's `fake_outputs` (adversarial logits, class logits or None) and, for a
        pairing loss, its `real_logits` for the batch's reals."""
        fake_logits, fake_classes = fake_outputs
        step = self._step(
            real=real,
            fake=fake,
            labels=labels,
            fake_labels=fake_labels,
            noise=noise,
            real_logits=real_logits,
            fake_logits=fake_logits,
            fake_classes=fake_classes,
            fakes_paired=self.pairs_fakes,
        )
        return self._mean(self._total("generator", step))
