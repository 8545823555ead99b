"""Export mode: a run's generator (or a .keras file's) as a TensorFlow SavedModel for serving and
as a TFLite model, both giving uint8 images."""

import inspect
import os
import shutil
import tempfile

import keras
import tensorflow as tf

from cgan.errors import CganError, first_line
from cgan.files import TMP_MARK, atomic_path, locked_folder, remove_leftovers
from cgan.reopen import opened


def to_uint8(images):
    """Generator output in [-1, 1] -> uint8 pixels, clipped: cgan.data.to_uint8 in TensorFlow."""
    pixels = tf.round((tf.cast(images, tf.float32) + 1.0) * 127.5)
    return tf.cast(tf.clip_by_value(pixels, 0.0, 255.0), tf.uint8)


def serving_archive(model, latent_dim):
    """A keras.export.ExportArchive of `model` with two endpoints, each returning uint8 images
    (n, H, W, C):

    serve(labels int32 (n,), seed int64 ()): noise drawn in the graph, standard normal,
    from tf.random.stateless_normal with seed [seed, 0] (the default signature);
    from_noise(noise float32 (n, latent_dim), labels int32 (n,)): noise given.
    """
    archive = keras.export.ExportArchive()
    archive.track(model)

    def from_noise(noise, labels):
        return to_uint8(model([noise, labels], training=False))

    def serve(labels, seed):
        seeds = tf.stack([seed, tf.zeros_like(seed)])
        noise = tf.random.stateless_normal([tf.shape(labels)[0], latent_dim], seed=seeds)
        return from_noise(noise, labels)

    labels = tf.TensorSpec([None], tf.int32, name="labels")
    archive.add_endpoint(
        "serve", serve, input_signature=[labels, tf.TensorSpec([], tf.int64, name="seed")]
    )
    archive.add_endpoint(
        "from_noise",
        from_noise,
        input_signature=[tf.TensorSpec([None, latent_dim], tf.float32, name="noise"), labels],
    )
    return archive


def tflite_bytes(saved_model):
    """The TFLite flatbuffer of a SavedModel's from_noise signature (noise, labels -> uint8)."""
    converter = tf.lite.TFLiteConverter.from_saved_model(saved_model, signature_keys=["from_noise"])
    try:
        return converter.convert()
    except Exception as error:  # an op TFLite lacks: one line, earlier exports untouched
        raise CganError(f"cannot convert the generator to TFLite: {first_line(error)}") from None


def export(config):
    """Writes saved_model/ and generator.tflite into the run folder (or, with --generator, into
    --output_dir); returns their paths. Earlier exports are replaced only once both are made."""
    with locked_folder(config.run_dir):  # not while a run is replacing the generator
        context, generator = opened(config)
        model = generator.model
        files = context.files
        remove_leftovers(files.dir)  # a killed export's scratch folder
        scratch_name = f"export{TMP_MARK}{os.getpid()}"  # what remove_leftovers recognises
        with tempfile.TemporaryDirectory(dir=files.dir, prefix=scratch_name) as scratch:
            saved_model = os.path.join(scratch, "saved_model")
            archive = serving_archive(model, context.config.latent_dim)
            quiet = (
                dict(verbose=False)
                if "verbose" in inspect.signature(archive.write_out).parameters
                else {}
            )  # Keras releases with the argument print every endpoint otherwise
            archive.write_out(saved_model, **quiet)
            flatbuffer = tflite_bytes(saved_model)
            with atomic_path(files.tflite) as tmp, open(tmp, "wb") as handle:
                handle.write(flatbuffer)
            if os.path.exists(files.saved_model):
                shutil.rmtree(files.saved_model)
            os.replace(saved_model, files.saved_model)
    return [files.saved_model, files.tflite]
