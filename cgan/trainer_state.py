"""What the trainer keeps between steps and how it is read and changed: the checkpoint of the
whole training state, the divergence guard's weight check, the learning rate over the budget
and its halvings, and the generator weight average (a base of cgan.trainer.GANTrainer)."""

import keras
import tensorflow as tf

EMA_RAMP = 0.05  # the half-life is at most this share of the images seen (StyleGAN2-ADA's ramp)


class TrainerState:
    """The state half of GANTrainer, which makes its variables (generator, discriminator, their
    optimizers, step, learning_rate_scale, ema_generator) and its recipe and decay."""

    @property
    def sampler(self):
        """The generator to draw with: the weight average when EMA is on."""
        return self.ema_generator or self.generator

    def checkpoint(self, **extra):
        """A tf.train.Checkpoint of everything needed to resume exactly, plus `extra` trackables:
        weights, optimizer states (learning rate included), step, the noise generator's state
        and the models' own random states (dropout masks), which Keras leaves out of a model's
        checkpoint."""
        parts = dict(
            extra,
            generator=self.generator,
            discriminator=self.discriminator,
            g_optimizer=self.g_optimizer,
            d_optimizer=self.d_optimizer,
            step=self.step,
            learning_rate_scale=self.learning_rate_scale,
            random_states=[
                v for model in (self.generator, self.discriminator) for v in _random_states(model)
            ],
        )
        if self.ema_generator is not None:
            parts["ema_generator"] = self.ema_generator
        return tf.train.Checkpoint(**parts)

    def _watched(self):
        """The variables the divergence guard checks: every weight of every network."""
        models = [self.generator, self.discriminator] + (
            [self.ema_generator] if self.ema_generator else []
        )
        return [(model, weight) for model in models for weight in model.weights]

    def _finite_flags_fn(self):
        return tf.stack([tf.reduce_all(tf.math.is_finite(weight)) for _, weight in self._watched()])

    def non_finite_weights(self):
        """Names of the weights holding a NaN or an infinity ("generator/dense/kernel"), [] if
        none."""
        flags = self._finite_flags().numpy()
        return [
            f"{model.name}/{weight.path}"
            for (model, weight), ok in zip(self._watched(), flags)
            if not ok
        ]

    def learning_rates(self):
        """The current (generator, discriminator) learning rates."""
        return tuple(
            float(optimizer.learning_rate.numpy())
            for optimizer in (self.g_optimizer, self.d_optimizer)
        )

    def set_progress(self, progress):
        """Sets both learning rates for a point `progress` (0 to 1) of the way through the budget:
        the recipe's rate, times what the divergence guard left of it, times the decay; terms read
        `progress` as step.progress."""
        self.progress.assign(progress)
        rate = (
            self.recipe.learning_rate
            * float(self.learning_rate_scale.numpy())
            * self.decay(progress)
        )
        for optimizer in (self.g_optimizer, self.d_optimizer):
            optimizer.learning_rate = rate

    def halve_learning_rate(self):
        """Halves the learning rate of every later step (the divergence guard's remedy); returns the
        recipe's rate times what is left, before any decay."""
        self.learning_rate_scale.assign(self.learning_rate_scale / 2)
        return self.recipe.learning_rate * float(self.learning_rate_scale.numpy())

    def _adam(self):
        r = self.recipe
        adam = keras.optimizers.Adam(r.learning_rate, beta_1=r.beta_1, beta_2=r.beta_2)
        return keras.optimizers.LossScaleOptimizer(adam) if self.loss_scaling else adam

    def _advance(self):
        """After a step: the step count, and the weight average."""
        self.step.assign_add(1)
        if self.ema_generator is not None:
            self.update_ema()

    def ema_decay(self, step):
        """The weight average's decay at the update after `step` steps (a tensor): with
        ema_half_life, 0.5 ** (images per step / half-life), the half-life ramped up as
        min(ema_half_life, EMA_RAMP x images seen); else `ema` with the warm-up of
        tf.train.ExponentialMovingAverage, min(ema, (1 + t) / (10 + t))."""
        step = tf.cast(step, tf.float32)
        if not self.recipe.ema_half_life:
            return tf.minimum(self.recipe.ema, (1.0 + step) / (10.0 + step))
        # Images seen: the reals every critic step shows D, as --budget_images counts them.
        per_step = float(self.global_batch_size * self.recipe.critic_steps)
        half_life = tf.minimum(self.recipe.ema_half_life, step * per_step * EMA_RAMP)
        return tf.pow(0.5, per_step / tf.maximum(half_life, 1e-8))

    def update_ema(self):
        """Moves the weight average one step towards the generator's weights."""
        decay = self.ema_decay(self.step)
        for average, current in zip(self.ema_generator.weights, self.generator.weights):
            if current.trainable:
                average.assign(decay * average + (1.0 - decay) * current)
            else:  # batch-norm statistics are copied, not averaged
                average.assign(current)


def _random_states(model):
    """The state variables of a model's random layers (Keras SeedGenerators, e.g. in Dropout):
    variables of the model that are not weights."""
    weights = {id(weight) for weight in model.weights}
    return [variable for variable in model.variables if id(variable) not in weights]
