"""The one GradientTape trainer shared by every architecture: it never imports an architecture,
never reads flags and never names a term; it gets two models and a recipe (cgan.registry.Recipe)
and sums the recipe's registered loss and terms (cgan.losses, cgan.terms) on each side."""

import functools
import threading

import keras
import tensorflow as tf

from cgan import augment, losses, step_inputs, terms
from cgan.errors import CganError, ContractError
from cgan.schedules import get_decay
from cgan.trainer_losses import TrainerLosses
from cgan.trainer_state import TrainerState


class GANTrainer(TrainerState, TrainerLosses):
    """Owns the optimizers, the optional EMA generator, and the distributed train step."""

    def __init__(
        self,
        generator,
        discriminator,
        recipe,
        global_batch_size,
        strategy,
        seed=0,
        jit_compile=False,
    ):
        self.generator = generator
        self.discriminator = discriminator
        self.recipe = recipe
        self.loss = losses.get_loss(recipe.loss)
        self.terms = {side: terms.active(recipe, side) for side in terms.SIDES}
        chosen = [term for side in terms.SIDES for term, _ in self.terms[side]]
        self.pairs_fakes = any(term.pairs_fakes for term in chosen)
        self.watched = [name for name in terms.INPUTS if any(name in t.gradients for t in chosen)]
        self.term_draws = [(t.name, t.draws) for t, _ in self.terms["discriminator"] if t.draws]
        # Each loss side and term is checked for NaN and infinity once, on the first call.
        self.checked = [f"loss {self.loss.name!r} ({side} side)" for side in terms.SIDES] + [
            f"term {term.name!r}" for term in chosen
        ]
        self._first_call, self._trace_error = True, None
        # Per replica trace, [(what, True if NaN or infinite)] in the order computed;
        # MirroredStrategy traces each replica in a thread of its own.
        self._replica = threading.local()
        self.augment = augment.parse(recipe.augment)
        self.decay = get_decay(recipe.learning_rate_decay)
        self.global_batch_size = global_batch_size  # per critic step, summed over replicas
        self.strategy = strategy
        self.seed = seed
        self.latent_dim = generator.inputs[0].shape[-1]
        # (step, images, labels) -> what the step consumes, run in the input pipeline (cgan.data)
        self.step_inputs = functools.partial(
            step_inputs.arrange,
            recipe=recipe,
            global_batch_size=global_batch_size,
            seed=seed,
            latent_dim=self.latent_dim,
        )
        self.has_class_head = len(discriminator.outputs) == 2  # [adversarial logits, class logits]
        readers = [term.name for term in chosen if term.class_head]
        if self.has_class_head != bool(readers):
            raise ValueError(
                f"{discriminator.name} has {len(discriminator.outputs)} output(s) but the terms "
                f"reading class logits are {readers or 'off'} (class_weight "
                f"{recipe.class_weight}): a class head and a class-loss weight go together"
            )
        # Each active term's mean (unweighted) is reported beside the losses, by its name.
        self.metric_names = (
            ("d_loss", "g_loss")
            + (("d_accuracy",) if self.loss.has_accuracy else ())
            + tuple(term.name for term in chosen)
        )
        self._totals = self.metric_names + tuple(NON_FINITE + what for what in self.checked)
        # float16 gradients underflow without loss scaling; bfloat16 has float32's range and needs
        # none.
        self.loss_scaling = generator.dtype_policy.compute_dtype == "float16"
        with strategy.scope():
            self.g_optimizer = self._adam()
            self.d_optimizer = self._adam()
            self.g_optimizer.build(generator.trainable_variables)
            self.d_optimizer.build(discriminator.trainable_variables)
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
            # What terms read as step.progress; set with the learning rate (set_progress).
            self.progress = tf.Variable(0.0, dtype=tf.float32, trainable=False, name="progress")
            # What the divergence guard's halvings left of the recipe's rate (checkpointed); the
            # decay over the budget multiplies it at every step (set_progress).
            self.learning_rate_scale = tf.Variable(
                1.0, dtype=tf.float64, trainable=False, name="learning_rate_scale"
            )
            self.ema_generator = None
            if recipe.averages:
                self.ema_generator = keras.models.clone_model(generator)
                self.ema_generator.set_weights(generator.get_weights())
        # XLA compiles one step, not the loop around it: reading the input iterator cannot be
        # compiled.
        # No AutoGraph: the steps hold no Python control flow on tensors, and rewriting their
        # source slowed every run's start.
        self.one_step = tf.function(self._one_step_fn, jit_compile=jit_compile, autograph=False)
        self._train_steps = tf.function(self._train_steps_fn, autograph=False)
        self._finite_flags = tf.function(self._finite_flags_fn, autograph=False)

    def train_step(self, iterator, steps=1):
        """`steps` train steps in one call, each one generator update after `critic_steps`
        discriminator updates, on the step inputs `iterator` yields (step_inputs, distributed by
        the strategy); returns the losses as global means over the batch and over the steps. On
        the first call, a loss or term that gave a NaN or an infinity is named (CganError)."""
        try:
            metrics = self._train_steps(iterator, tf.constant(steps, tf.int32))
        except CganError:
            if self._trace_error:  # a loss or term broke its contract while tracing
                raise ContractError(self._trace_error) from None
            raise
        flags = {name: metrics.pop(name) for name in self._totals if name not in self.metric_names}
        if self._first_call:  # one read of a few flags, once: later calls are not slowed
            self._first_call = False
            bad = [name[len(NON_FINITE) :] for name, flag in flags.items() if float(flag) > 0]
            if bad:
                raise ContractError(f"{bad[0]} gave a NaN or infinite value on the first step")
        return metrics

    def _train_steps_fn(self, iterator, steps):
        def body(done, totals):
            metrics = self.one_step(next(iterator))
            return done + 1, {name: totals[name] + metrics[name] for name in self._totals}

        start = (tf.constant(0), {name: tf.constant(0.0) for name in self._totals})
        _, totals = tf.while_loop(lambda done, _: done < steps, body, start)
        return {name: total / tf.cast(steps, tf.float32) for name, total in totals.items()}

    def _one_step_fn(self, inputs):
        sums = self.strategy.run(self._replica_step, args=(inputs,))
        metrics = {
            name: self.strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)
            for name, value in sums.items()
        }
        self._advance()
        return metrics

    def local_step(self, inputs):
        """One train step where a caller's strategy has already placed us on a replica (Keras's
        fit): the replica's losses."""
        metrics = self._replica_step(inputs)
        self._advance()
        return {name: metrics[name] for name in self.metric_names}

    def _replica_step(self, inputs):
        """One step on this replica's share of the batch: the random numbers come with the batch."""
        images, labels, noise = inputs["images"], inputs["labels"], inputs["noise"]
        self._replica.term_means = {}
        numbers, draws = inputs.get("penalty_weights"), inputs.get("augment")
        self._replica.log = []
        k = self.recipe.critic_steps
        if k == 1:
            d_loss, g_loss, d_hits = self._joint_update(
                images[:, 0],
                labels[:, 0],
                noise[:, 0],
                step_inputs.term_numbers(numbers, 0, self.term_draws),
                step_inputs.part(draws, 0),
            )
        else:
            # k fresh real batches, one per critic step (Gulrajani et al. 2017).
            for j in range(k):
                d_loss, d_hits = self._discriminator_update(
                    images[:, j],
                    labels[:, j],
                    noise[:, j],
                    step_inputs.term_numbers(numbers, j, self.term_draws),
                    step_inputs.part(draws, j),
                )
            g_loss = self._generator_update(
                images[:, -1], labels[:, -1], noise[:, k], step_inputs.part(draws, k)
            )
        # Per-replica sums over the global batch: a SUM across replicas gives global means.
        metrics = {"d_loss": d_loss, "g_loss": g_loss}
        if self.loss.has_accuracy:
            metrics["d_accuracy"] = d_hits
        first = terms.first_non_finite(self._replica.log)
        for what in self.checked:  # a term on no path of this step is reported finite
            metrics[NON_FINITE + what] = tf.cast(first.get(what, False), tf.float32)
        return dict(metrics, **self._replica.term_means)  # the last critic step's, for D's

    def _apply(self, optimizer, tape, loss, model):
        variables = model.trainable_variables
        # float16: the gradients of the loss times the loss scale; the LossScaleOptimizer divides
        # it out.
        scale = optimizer.scale_loss(tf.ones_like(loss)) if self.loss_scaling else None
        optimizer.apply_gradients(
            zip(tape.gradient(loss, variables, output_gradients=scale), variables)
        )

    def _joint_update(self, real, labels, noise, numbers, draws=None):
        """Both networks updated from one generator pass, as in the TensorFlow DCGAN tutorial:
        faster on a CPU than two passes, and no worse per image seen."""
        fake_labels = self.fake_labels(labels)
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = self.generator([noise, fake_labels], training=True)
            d_loss, d_hits, fake_outputs, real_logits = self.discriminator_loss(
                real, fake, labels, fake_labels, numbers, draws, noise=noise
            )
            g_loss = self.generator_loss(
                fake, noise, fake_outputs, fake_labels, real_logits, real, labels
            )
        self._apply(self.d_optimizer, d_tape, d_loss, self.discriminator)
        self._apply(self.g_optimizer, g_tape, g_loss, self.generator)
        return d_loss, g_loss, d_hits

    def _discriminator_update(self, real, labels, noise, numbers, draws=None):
        fake = self.generator([noise, labels], training=True)
        with tf.GradientTape() as tape:
            d_loss, d_hits, _, _ = self.discriminator_loss(
                real, fake, labels, labels, numbers, draws, fakes_paired=False, noise=noise
            )
        self._apply(self.d_optimizer, tape, d_loss, self.discriminator)
        return d_loss, d_hits

    def _generator_update(self, real, labels, noise, draws=None):
        fake_labels = self.fake_labels(labels)
        with tf.GradientTape() as tape:
            fake = self.generator([noise, fake_labels], training=True)
            fake_outputs = self._discriminate(fake, fake_labels, step_inputs.part(draws, 1))
            real_logits = (
                self._discriminate(real, labels, step_inputs.part(draws, 0))[0]
                if self.loss.pairs
                else None
            )
            g_loss = self.generator_loss(
                fake, noise, fake_outputs, fake_labels, real_logits, real, labels
            )
        self._apply(self.g_optimizer, tape, g_loss, self.generator)
        return g_loss


NON_FINITE = "non_finite:"  # prefix of the first-call check's flags among the step's sums
