"""Process-wide TensorFlow settings, made once by each entry point (run.py, the experiments)."""

import contextlib

import keras
import tensorflow as tf

from cgan.config import MIXED_PRECISION
from cgan.errors import CganError


def configure(config):
    """Applies the settings that hold for the rest of the process, for the modes that train:
    run.py calls it once, and cgan.modes.train.train again (a no-op then), so that a library
    call trains as run.py does. Generate and evaluate modes change nothing."""
    if config.mode not in ("train", "compare"):
        return
    if config.cpu_devices > 1:  # before TensorFlow starts its devices: it refuses after
        (cpu,) = tf.config.list_physical_devices("CPU")
        try:
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration()] * config.cpu_devices
            )
        except RuntimeError:
            raise CganError(
                "--cpu_devices must be set before TensorFlow starts: give it on the command "
                "line, or call cgan.runtime.configure first in a fresh process"
            ) from None
    # Fused ops may round differently: --remapping=false computes as runs before it did.
    tf.config.optimizer.set_experimental_options({"remapping": config.remapping})
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()  # there is no "off" once it is on


def op_determinism():
    """Whether TensorFlow's op determinism is on in this process, as TensorFlow itself says (its
    public API can only switch it on)."""
    from tensorflow.python.framework import config as framework_config

    return framework_config.is_op_determinism_enabled()


def fast_bfloat16(cpu_flags=None, gpu_capabilities=None):
    """Whether bfloat16 arithmetic runs fast here: on every GPU when there are some (compute
    capability 8 or more), else on the CPU (AVX-512 BF16 or AMX). The arguments stand in for
    what is read from /proc/cpuinfo and TensorFlow's devices."""
    if gpu_capabilities is None:
        gpus = tf.config.list_physical_devices("GPU")
        details = [tf.config.experimental.get_device_details(gpu) for gpu in gpus]
        gpu_capabilities = [d.get("compute_capability", (0, 0)) for d in details]
    if gpu_capabilities:
        return all(tuple(capability) >= (8, 0) for capability in gpu_capabilities)
    if cpu_flags is None:
        try:
            with open("/proc/cpuinfo") as f:
                cpu_flags = next((line for line in f if line.startswith("flags")), "").split()
        except OSError:  # not Linux: no way to tell, so float32
            cpu_flags = []
    return bool({"avx512_bf16", "amx_bf16"} & set(cpu_flags))


def policy(mixed_precision):
    """The Keras dtype policy of a --mixed_precision choice, auto resolved for this machine."""
    if mixed_precision == "auto":
        mixed_precision = "bfloat16" if fast_bfloat16() else "off"
    return MIXED_PRECISION[mixed_precision]


@contextlib.contextmanager
def compute_dtype(mixed_precision):
    """Layers made inside compute in --mixed_precision's type; Keras reads its policy when a layer
    is made and keeps one for the whole process, so it is put back after."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy(mixed_precision))
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)
