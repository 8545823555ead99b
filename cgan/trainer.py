"""The one GradientTape trainer shared by every architecture.

It never imports an architecture and never reads flags: it gets two models and
a recipe (loss name, penalty weight, critic steps, optimizer settings).
"""

import keras
import tensorflow as tf

from cgan import losses


class GANTrainer:
    """Owns the optimizers, the optional EMA generator, and the distributed train step."""

    def __init__(self, generator, discriminator, recipe, global_batch_size, strategy):
        self.generator = generator
        self.discriminator = discriminator
        self.recipe = recipe
        self.loss = losses.get_loss(recipe.loss)
        self.global_batch_size = global_batch_size  # per critic step, summed over replicas
        self.strategy = strategy
        self.latent_dim = generator.inputs[0].shape[-1]
        with strategy.scope():
            self.g_optimizer = self._adam()
            self.d_optimizer = self._adam()
            self.g_optimizer.build(generator.trainable_variables)
            self.d_optimizer.build(discriminator.trainable_variables)
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
            self.ema_generator = None
            if recipe.ema:
                self.ema_generator = keras.models.clone_model(generator)
                self.ema_generator.set_weights(generator.get_weights())
        self._distributed_step = tf.function(self._distributed_step_fn)

    def _adam(self):
        r = self.recipe
        return keras.optimizers.Adam(r.learning_rate, beta_1=r.beta_1, beta_2=r.beta_2)

    @property
    def sampler(self):
        """The generator to draw with: the weight average when EMA is on."""
        return self.ema_generator or self.generator

    def checkpoint(self, **extra):
        """A tf.train.Checkpoint of everything needed to resume, plus `extra` trackables."""
        parts = dict(
            extra,
            generator=self.generator,
            discriminator=self.discriminator,
            g_optimizer=self.g_optimizer,
            d_optimizer=self.d_optimizer,
            step=self.step,
        )
        if self.ema_generator is not None:
            parts["ema_generator"] = self.ema_generator
        return tf.train.Checkpoint(**parts)

    def train_step(self, iterator):
        """One generator update after `critic_steps` discriminator updates; global mean losses."""
        return self._distributed_step(iterator)

    def _distributed_step_fn(self, iterator):
        images, labels = next(iterator)
        sums = self.strategy.run(self._replica_step, args=(images, labels))
        metrics = {
            name: self.strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)
            for name, value in sums.items()
        }
        self.step.assign_add(1)
        if self.ema_generator is not None:
            self._update_ema()
        return metrics

    def _replica_step(self, images, labels):
        k = self.recipe.critic_steps
        # The batch holds k fresh real batches, one per critic step (Gulrajani et al. 2017).
        for real, real_labels in zip(tf.split(images, k), tf.split(labels, k)):
            d_loss, d_hits = self._discriminator_update(real, real_labels)
        g_loss = self._generator_update(real_labels)
        # Per-replica sums over the global batch: a SUM across replicas gives global means.
        metrics = {"d_loss": d_loss, "g_loss": g_loss}
        if self.loss.has_accuracy:
            metrics["d_accuracy"] = d_hits
        return metrics

    def _noise(self, labels):
        return tf.random.normal([tf.shape(labels)[0], self.latent_dim])

    def _mean(self, per_example):
        return tf.nn.compute_average_loss(per_example, global_batch_size=self.global_batch_size)

    def _discriminator_update(self, real, labels):
        fake = self.generator([self._noise(labels), labels], training=True)
        with tf.GradientTape() as tape:
            real_logits = self.discriminator([real, labels], training=True)
            fake_logits = self.discriminator([fake, labels], training=True)
            per_example = self.loss.discriminator(real_logits, fake_logits)
            if self.recipe.gradient_penalty:
                penalty = losses.gradient_penalty(self.discriminator, real, fake, labels)
                per_example += self.recipe.gradient_penalty * penalty
            loss = self._mean(per_example)
        variables = self.discriminator.trainable_variables
        self.d_optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        # Accuracy: real scored positive and fake scored negative, averaged over both halves.
        hits = tf.cast(real_logits > 0, tf.float32) + tf.cast(fake_logits < 0, tf.float32)
        return loss, self._mean(tf.reshape(hits, [-1]) / 2.0)

    def _generator_update(self, labels):
        with tf.GradientTape() as tape:
            fake = self.generator([self._noise(labels), labels], training=True)
            fake_logits = self.discriminator([fake, labels], training=True)
            loss = self._mean(self.loss.generator(fake_logits))
        variables = self.generator.trainable_variables
        self.g_optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    def _update_ema(self):
        # Warm-up as in tf.train.ExponentialMovingAverage: early steps follow the weights closely.
        step = tf.cast(self.step, tf.float32)
        decay = tf.minimum(self.recipe.ema, (1.0 + step) / (10.0 + step))
        for average, current in zip(self.ema_generator.weights, self.generator.weights):
            if current.trainable:
                average.assign(decay * average + (1.0 - decay) * current)
            else:  # batch-norm statistics are copied, not averaged
                average.assign(current)
