"""The one GradientTape trainer shared by every architecture: it never imports an architecture
and never reads flags; it gets two models and a recipe (cgan.registry.Recipe)."""

import keras
import tensorflow as tf

from cgan import augment, losses, step_inputs
from cgan.schedules import get_decay
from cgan.trainer_state import TrainerState


class GANTrainer(TrainerState):
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
        self.augment = augment.parse(recipe.augment)
        self.decay = get_decay(recipe.learning_rate_decay)
        self.global_batch_size = global_batch_size  # per critic step, summed over replicas
        self.strategy = strategy
        self.seed = seed
        self.latent_dim = generator.inputs[0].shape[-1]
        self.has_class_head = len(discriminator.outputs) == 2  # [adversarial logits, class logits]
        if self.has_class_head != (recipe.class_weight > 0):
            raise ValueError(
                f"{discriminator.name} has {len(discriminator.outputs)} output(s) but class_weight "
                f"is {recipe.class_weight}: a class head and a class-loss weight go together"
            )
        self.metric_names = ("d_loss", "g_loss") + (
            ("d_accuracy",) if self.loss.has_accuracy else ()
        )
        # float16 gradients underflow without loss scaling; bfloat16 has float32's range and needs
        # none.
        self.loss_scaling = generator.dtype_policy.compute_dtype == "float16"
        with strategy.scope():
            self.g_optimizer = self._adam()
            self.d_optimizer = self._adam()
            self.g_optimizer.build(generator.trainable_variables)
            self.d_optimizer.build(discriminator.trainable_variables)
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
            # What the divergence guard's halvings left of the recipe's rate (checkpointed); the
            # decay over the budget multiplies it at every step (set_progress).
            self.learning_rate_scale = tf.Variable(
                1.0, dtype=tf.float64, trainable=False, name="learning_rate_scale"
            )
            self.ema_generator = None
            if recipe.ema:
                self.ema_generator = keras.models.clone_model(generator)
                self.ema_generator.set_weights(generator.get_weights())
        # XLA compiles one step, not the loop around it: reading the input iterator cannot be
        # compiled.
        self.one_step = tf.function(self._one_step_fn, jit_compile=jit_compile)
        self._train_steps = tf.function(self._train_steps_fn)
        self._finite_flags = tf.function(self._finite_flags_fn)

    def _adam(self):
        r = self.recipe
        adam = keras.optimizers.Adam(r.learning_rate, beta_1=r.beta_1, beta_2=r.beta_2)
        return keras.optimizers.LossScaleOptimizer(adam) if self.loss_scaling else adam

    def step_inputs(self, step, images, labels):
        """What train step `step` consumes (cgan.step_inputs.arrange), from its critic_steps x B
        images in critic-step order. Runs in the input pipeline (cgan.data.training_dataset)."""
        return step_inputs.arrange(
            step,
            images,
            labels,
            recipe=self.recipe,
            global_batch_size=self.global_batch_size,
            seed=self.seed,
            latent_dim=self.latent_dim,
        )

    def train_step(self, iterator, steps=1):
        """`steps` train steps in one call, each one generator update after `critic_steps`
        discriminator updates, on the step inputs `iterator` yields (step_inputs, distributed by
        the strategy); returns the losses as global means over the batch and over the steps."""
        return self._train_steps(iterator, tf.constant(steps, tf.int32))

    def _train_steps_fn(self, iterator, steps):
        totals = {name: tf.constant(0.0) for name in self.metric_names}
        for _ in tf.range(steps):
            metrics = self.one_step(next(iterator))
            totals = {name: totals[name] + metrics[name] for name in self.metric_names}
        return {name: total / tf.cast(steps, tf.float32) for name, total in totals.items()}

    def _one_step_fn(self, inputs):
        sums = self.strategy.run(self._replica_step, args=(inputs,))
        metrics = {
            name: self.strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)
            for name, value in sums.items()
        }
        self.step.assign_add(1)
        if self.ema_generator is not None:
            self.update_ema()
        return metrics

    def local_step(self, inputs):
        """One train step where a caller's strategy has already placed us on a replica (Keras's
        fit): the replica's losses, then the step count and the weight average."""
        metrics = self._replica_step(inputs)
        self.step.assign_add(1)
        if self.ema_generator is not None:
            self.update_ema()
        return metrics

    def _replica_step(self, inputs):
        """One step on this replica's share of the batch: the random numbers come with the batch."""
        images, labels, noise = inputs["images"], inputs["labels"], inputs["noise"]
        weights, draws = inputs.get("penalty_weights"), inputs.get("augment")
        k = self.recipe.critic_steps
        if k == 1:
            d_loss, g_loss, d_hits = self._joint_update(
                images[:, 0], labels[:, 0], noise[:, 0], _part(weights, 0), _part(draws, 0)
            )
        else:
            # k fresh real batches, one per critic step (Gulrajani et al. 2017).
            for j in range(k):
                d_loss, d_hits = self._discriminator_update(
                    images[:, j], labels[:, j], noise[:, j], _part(weights, j), _part(draws, j)
                )
            g_loss = self._generator_update(
                images[:, -1], labels[:, -1], noise[:, k], _part(draws, k)
            )
        # Per-replica sums over the global batch: a SUM across replicas gives global means.
        metrics = {"d_loss": d_loss, "g_loss": g_loss}
        if self.loss.has_accuracy:
            metrics["d_accuracy"] = d_hits
        return metrics

    def _mean(self, per_example):
        return tf.nn.compute_average_loss(per_example, global_batch_size=self.global_batch_size)

    def _discriminate(self, images, labels, draws=None):
        """(adversarial logits, class logits or None): a class head is the optional second
        output. `draws`: the augmentation's numbers for these images, None for none."""
        if draws is not None:
            images = augment.apply(images, draws, self.augment)
        outputs = self.discriminator([images, labels], training=True)
        return tuple(outputs) if self.has_class_head else (outputs, None)

    def class_loss(self, class_logits, labels):
        """The auxiliary classifier's cross-entropy on logits (one softmax, inside the loss)."""
        return self.recipe.class_weight * tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels, class_logits
        )

    def paired(self, real_logits, fakes_paired=True):
        """The real logits a pairing loss sets against the fakes, row by row: each fake with the
        real whose label it was drawn for, which with the mode-seeking term (`fakes_paired`: the
        fakes were drawn for fake_labels) is the even row of its pair."""
        pair = fakes_paired and self.recipe.mode_seeking
        return losses.paired_rows(real_logits) if pair else real_logits

    def discriminator_loss(
        self, real, fake, labels, fake_labels, penalty_weights, draws=None, fakes_paired=True
    ):
        """(mean loss, mean accuracy, fake outputs, real logits), the last two for a joint update.
        `fake_labels`: the fakes' labels (`fakes_paired`: from fake_labels); `penalty_weights`:
        WGAN-GP's (or None); `draws`: (B, 2, n) augmentation numbers, reals and fakes (or None)."""
        r = self.recipe
        penalised = [(x, gamma) for x, gamma in ((real, r.r1), (fake, r.r2)) if gamma]
        # R1 and R2 differentiate the same passes the loss uses, through the augmentation.
        with tf.GradientTape(watch_accessed_variables=False) as input_tape:
            for x, _ in penalised:
                input_tape.watch(x)
            real_logits, real_classes = self._discriminate(real, labels, _part(draws, 0))
            fake_logits, fake_classes = self._discriminate(fake, fake_labels, _part(draws, 1))
        paired = self.paired(real_logits, fakes_paired) if self.loss.pairs else real_logits
        per_example = self.loss.discriminator(paired, fake_logits)
        if penalised:
            targets = [logits for logits, g in ((real_logits, r.r1), (fake_logits, r.r2)) if g]
            gradients = input_tape.gradient(targets, [x for x, _ in penalised])
            for (_, gamma), gradient in zip(penalised, gradients):
                per_example += gamma / 2 * losses.squared_gradient_norm(gradient)
        if self.recipe.gradient_penalty:
            critic = lambda images: self._discriminate(images, labels)[0]  # noqa: E731
            per_example += self.recipe.gradient_penalty * losses.gradient_penalty(
                critic, real, fake, penalty_weights
            )
        if self.has_class_head:
            # The class head learns from real digits only: learning from fakes too rewards the
            # generator for easily classified digits (Gong et al. 2019, "Twin auxiliary
            # classifiers").
            per_example += self.class_loss(real_classes, labels)
        # Accuracy: real scored positive and fake scored negative, averaged over both halves.
        hits = tf.cast(real_logits > 0, tf.float32) + tf.cast(fake_logits < 0, tf.float32)
        return (
            self._mean(per_example),
            self._mean(tf.reshape(hits, [-1]) / 2.0),
            (fake_logits, fake_classes),
            real_logits,
        )

    def fake_labels(self, labels):
        """The labels the generator draws for: with the mode-seeking term, pairs of rows share
        one."""
        return losses.paired_rows(labels) if self.recipe.mode_seeking else labels

    def generator_loss(self, fake, noise, fake_outputs, fake_labels, real_logits=None):
        """The generator's mean loss on fakes drawn from `noise` for `fake_labels`, given the
        discriminator's `fake_outputs` (adversarial logits, class logits or None) and, for a
        pairing loss, its `real_logits` for the batch's reals."""
        fake_logits, fake_classes = fake_outputs
        paired = None if real_logits is None else self.paired(real_logits)
        per_example = self.loss.generator(paired, fake_logits)
        if self.has_class_head:
            per_example += self.class_loss(fake_classes, fake_labels)
        if self.recipe.mode_seeking:
            per_example += self.recipe.mode_seeking * losses.mode_seeking(fake, noise)
        return self._mean(per_example)

    def _apply(self, optimizer, tape, loss, model):
        variables = model.trainable_variables
        # float16: the gradients of the loss times the loss scale; the LossScaleOptimizer divides
        # it out.
        scale = optimizer.scale_loss(tf.ones_like(loss)) if self.loss_scaling else None
        optimizer.apply_gradients(
            zip(tape.gradient(loss, variables, output_gradients=scale), variables)
        )

    def _joint_update(self, real, labels, noise, penalty_weights, draws=None):
        """Both networks updated from one generator pass, as in the TensorFlow DCGAN tutorial:
        faster on a CPU than two passes, and no worse per image seen."""
        fake_labels = self.fake_labels(labels)
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = self.generator([noise, fake_labels], training=True)
            d_loss, d_hits, fake_outputs, real_logits = self.discriminator_loss(
                real, fake, labels, fake_labels, penalty_weights, draws
            )
            g_loss = self.generator_loss(
                fake, noise, fake_outputs, fake_labels, real_logits if self.loss.pairs else None
            )
        self._apply(self.d_optimizer, d_tape, d_loss, self.discriminator)
        self._apply(self.g_optimizer, g_tape, g_loss, self.generator)
        return d_loss, g_loss, d_hits

    def _discriminator_update(self, real, labels, noise, penalty_weights, draws=None):
        fake = self.generator([noise, labels], training=True)
        with tf.GradientTape() as tape:
            d_loss, d_hits, _, _ = self.discriminator_loss(
                real, fake, labels, labels, penalty_weights, draws, fakes_paired=False
            )
        self._apply(self.d_optimizer, tape, d_loss, self.discriminator)
        return d_loss, d_hits

    def _generator_update(self, real, labels, noise, draws=None):
        fake_labels = self.fake_labels(labels)
        with tf.GradientTape() as tape:
            fake = self.generator([noise, fake_labels], training=True)
            fake_outputs = self._discriminate(fake, fake_labels, _part(draws, 1))
            real_logits = (
                self._discriminate(real, labels, _part(draws, 0))[0] if self.loss.pairs else None
            )
            g_loss = self.generator_loss(fake, noise, fake_outputs, fake_labels, real_logits)
        self._apply(self.g_optimizer, tape, g_loss, self.generator)
        return g_loss


def _part(inputs, index):
    """inputs[:, index] of an optional step input (a pass's share, reals' or fakes' numbers)."""
    return None if inputs is None else inputs[:, index]
