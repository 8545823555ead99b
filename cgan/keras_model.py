"""The Keras face: cgan.GAN, a keras.Model over any registered architecture whose compile() and
fit() train with cgan's own step, batches and noise (the same weights as cgan.train)."""

import dataclasses

import keras
import tensorflow as tf

from cgan import arrays, data
from cgan.context import resolve
from cgan.errors import CganError
from cgan.generator import Generator


class GAN(keras.Model):
    """A conditional GAN as one keras.Model, as the keras-io GAN examples build it:

        gan = cgan.GAN(arch="cgan", seed=0)   # keyword arguments are cgan.Config fields
        gan.compile()                         # the architecture's recipe: losses, optimizers
        gan.fit(images, labels, epochs=3, callbacks=[...])
        gan.generator.sample(digit=7, n=16)   # a cgan.Generator: save(), sample(), ...

    fit trains exactly as cgan.train(dataset=(images, labels)) does with the same Config: the
    same held-out split, shuffled batches, noise, learning rate over the budget and so the same
    weights (on one device; cgan.train distributes). The networks are built at the first fit,
    for the data's image shape and classes; `logs` hold the step's losses.
    """

    def __init__(self, config=None, **fields):
        from cgan.api import make_config

        super().__init__(name="gan")
        self.config = make_config(config, mode="train", **fields)
        self.trainer = self.context = None
        self.built = True  # Keras must not trace a call(): fit runs train_step only

    def compile(self, **kwargs):
        """Readies fit; the optimizers and losses are the architecture's recipe (Config fields
        override it), so none are taken here."""
        if kwargs:
            raise CganError(
                f"GAN.compile takes no {', '.join(sorted(kwargs))}: set the recipe through Config "
                "fields, e.g. cgan.GAN(learning_rate=1e-4)"
            )
        super().compile()

    def _build_for(self, name):
        """The networks and trainer, built at the first fit for the data named `name`."""
        from cgan.modes.train import build_trainer

        if self.context is not None:
            if self.config.dataset != name:
                raise CganError(
                    f"this GAN was fitted on {self.config.dataset}, not {name}: make a new GAN "
                    "for other data"
                )
            return
        self.config = dataclasses.replace(self.config, dataset=name)
        self.context = resolve(self.config, tf.distribute.get_strategy())
        keras.utils.set_random_seed(self.config.seed)  # as cgan.train seeds before building
        self.trainer = build_trainer(self.context)

    def fit(self, x=None, y=None, epochs=1, callbacks=None, verbose="auto", initial_epoch=0):
        """Trains for `epochs` passes over the data: x and y as cgan.train's dataset=(x, y), or x
        a tf.data.Dataset of (image, label) (cgan.arrays says what is accepted). Keras's
        callbacks and progress bar; returns Keras's History."""
        self._build_for(arrays.register(x if y is None else (x, y)))
        config, trainer = self.config, self.trainer
        images, labels = data.load_arrays("train", self.context.source)
        images_per_step = config.batch_size * trainer.recipe.critic_steps
        steps_per_epoch = len(images) // images_per_step
        if steps_per_epoch == 0:
            raise CganError(
                f"batch_size {config.batch_size} is larger than the {len(images)} training images"
            )
        step = int(trainer.step.numpy())
        dataset = data.training_dataset(
            images,
            labels,
            images_per_step,
            config.seed,
            skip_batches=step,
            step_inputs=trainer.step_inputs,
        )
        total = (epochs - initial_epoch) * steps_per_epoch + step
        progress = keras.callbacks.LambdaCallback(  # the learning rate over the budget
            on_train_batch_begin=lambda batch, logs: trainer.set_progress(
                int(trainer.step.numpy()) / total
            )
        )
        return super().fit(
            dataset,
            epochs=epochs,
            initial_epoch=initial_epoch,
            steps_per_epoch=steps_per_epoch,
            callbacks=[progress, *(callbacks or [])],
            verbose=verbose,
            shuffle=False,  # cgan's batches are shuffled by its own seed
        )

    def train_step(self, inputs):
        """cgan's train step: `critic_steps` discriminator updates and one generator update."""
        return self.trainer.local_step(inputs)

    @property
    def generator(self):
        """The trained generator (the weight average with EMA) as a cgan.Generator."""
        if self.trainer is None:
            raise CganError("this GAN has not been fitted yet: call fit first")
        return Generator.of(self.trainer.sampler, self.context, int(self.trainer.step.numpy()))
