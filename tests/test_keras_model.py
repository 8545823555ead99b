"""The Keras face: cgan.GAN's compile() and fit() train with cgan.train's own step, batches and
noise (the same weights with --deterministic), call Keras callbacks, and give a generator that
saves and samples like any run's."""

import keras
import numpy as np
import pytest
from test_own_data import colour_data

import cgan
from cgan.errors import CganError

SETTINGS = dict(arch="cgan_fast", batch_size=16, seed=5, deterministic=True, verbose=False)


class LossLog(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.batches, self.epochs = [], []

    def on_train_batch_end(self, batch, logs=None):
        self.batches.append(batch)

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append((epoch, sorted(logs)))


def test_fit_gives_the_weights_cgan_train_gives_and_a_generator_like_any_runs(tmp_path):
    images, labels = colour_data(per_class=40)  # 144 training images: 9 steps an epoch
    run = cgan.train(
        dataset=(images, labels), epochs=2, output_dir=str(tmp_path / "run"), **SETTINGS
    )

    gan = cgan.GAN(**SETTINGS)
    gan.compile()
    log = LossLog()
    history = gan.fit(images, labels, epochs=2, callbacks=[log], verbose=0)
    assert log.batches == list(range(9)) * 2
    names = ["class_fake", "class_real", "d_accuracy", "d_loss", "g_loss", "mode_seeking"]
    assert log.epochs == [(0, names), (1, names)]  # the losses and each term's mean
    assert len(history.history["g_loss"]) == 2 and np.isfinite(history.history["g_loss"]).all()

    trained, fitted = run.generator, gan.generator
    assert fitted.step == trained.step == 18 and fitted.dataset == trained.dataset
    for ours, theirs in zip(fitted.model.get_weights(), trained.model.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    path = str(tmp_path / "fitted.keras")
    fitted.save(path)
    np.testing.assert_array_equal(
        cgan.load(path).sample(digit=2, n=4, seed=1), trained.sample(digit=2, n=4, seed=1)
    )


def test_the_keras_face_refuses_what_it_cannot_honour_in_one_line():
    gan = cgan.GAN(**SETTINGS)
    with pytest.raises(CganError, match="GAN.compile takes no loss, optimizer: set the recipe"):
        gan.compile(optimizer="adam", loss="mse")
    with pytest.raises(CganError, match="this GAN has not been fitted yet"):
        _ = gan.generator
    gan.compile()
    images, labels = colour_data(per_class=20)
    gan.fit(images, labels, epochs=1, verbose=0)
    with pytest.raises(CganError, match="this GAN was fitted on arrays:.*, not arrays:"):
        gan.fit(images[::-1] // 2, labels[::-1], epochs=1, verbose=0)
