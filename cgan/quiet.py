"""Imports TensorFlow with its start-up chatter hidden: the CUDA probes print to file descriptor
2 before any log level applies, and its C++ info lines bury cgan's own."""

import contextlib
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # hide TensorFlow's C++ info and warnings


@contextlib.contextmanager
def quiet_stderr():
    """Silences file descriptor 2 for the block."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


with quiet_stderr():
    import tensorflow as tf

    tf.config.list_physical_devices()  # the device probe happens here, silently
