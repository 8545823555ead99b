"""Shared fixtures: the real MNIST files and a per-session tfds folder."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIBLING_MNIST = os.path.join(REPO, "..", "shared", "data", "mnist")


@pytest.fixture(scope="session")
def mnist_dir():
    """The four original MNIST files: $CGAN_MNIST_DIR, else ../shared/data/mnist."""
    path = os.environ.get("CGAN_MNIST_DIR") or SIBLING_MNIST
    if not os.path.exists(os.path.join(path, "train-images-idx3-ubyte.gz")):
        pytest.skip("real MNIST files not found: set CGAN_MNIST_DIR")
    return os.path.abspath(path)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
    """A tfds data folder shared by the session, so MNIST is prepared once."""
    return str(tmp_path_factory.mktemp("tfds"))
