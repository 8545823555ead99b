"""The judge's network: its recipe, the Keras classifier and its training on a dataset."""

import time

import keras
import numpy as np

from cgan import data

JUDGE_RECIPE = dict(
    version=1,  # bump when the code below changes what gets trained
    architecture="rescale /255; random shift (training only); per block: conv3x3-BN-ReLU, "
    "conv3x3/2-BN-ReLU; dense-BN-ReLU (features); dropout; dense softmax",
    max_shift=0.08,  # random translation, as a share of 28 px (up to 2 px): digits shift in writing
    block_filters=[24, 48],  # wider blocks were no more accurate and slower
    feature_units=128,
    dropout=0.3,
    epochs=4,
    batch_size=128,
    optimizer="adam",
    peak_learning_rate=3e-3,
    schedule="cosine decay to 0 after 10% linear warmup",
    seed=0,
    reference=dict(size=10_000, seed=0),  # training images every score is compared with
)
# A small dataset trains its judge for at least this many steps: a few steps would leave batch
# norm's moving statistics at their initial values.
MIN_JUDGE_STEPS = 500


def build_judge_model(image_shape=(28, 28, 1), num_classes=10, recipe=JUDGE_RECIPE):
    """The untrained classifier: float32 pixels (N, *image_shape) in [0, 255] -> softmax over
    the classes."""
    layers = keras.layers
    pixels = keras.Input(image_shape, name="pixels")
    x = layers.Rescaling(1 / 255.0)(pixels)
    x = layers.RandomTranslation(recipe["max_shift"], recipe["max_shift"], fill_mode="constant")(x)
    for filters in recipe["block_filters"]:
        for strides in (1, 2):  # the strided conv halves the resolution instead of pooling
            x = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False)(x)
            x = layers.BatchNormalization()(x)
            x = layers.ReLU()(x)
    x = layers.Flatten()(x)
    x = layers.Dense(recipe["feature_units"], use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    features = layers.ReLU(name="features")(x)
    x = layers.Dropout(recipe["dropout"])(features)
    probabilities = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(pixels, probabilities, name="judge")


def train_judge(source, verbose=1):
    """Trains the judge on the dataset's training split by JUDGE_RECIPE; returns (model, seconds).
    Reseeds the global RNGs."""
    recipe = JUDGE_RECIPE
    images, labels = data.load_arrays("train", source)
    # A small set is repeated (each copy shifted anew) so its epochs take MIN_JUDGE_STEPS steps;
    # MNIST is not.
    repeats = -(-MIN_JUDGE_STEPS * recipe["batch_size"] // (recipe["epochs"] * len(images)))
    images, labels = np.tile(images, (repeats, 1, 1, 1)), np.tile(labels, repeats)
    keras.utils.set_random_seed(recipe["seed"])
    model = build_judge_model(images.shape[1:], data.spec(source).num_classes, recipe)
    steps = recipe["epochs"] * -(-len(images) // recipe["batch_size"])
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, steps, warmup_target=recipe["peak_learning_rate"], warmup_steps=steps // 10
    )
    model.compile(
        keras.optimizers.Adam(schedule), "sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    start = time.time()
    model.fit(
        images.astype(np.float32),
        labels,
        batch_size=recipe["batch_size"],
        epochs=recipe["epochs"],
        verbose=verbose,
    )
    return model, time.time() - start
