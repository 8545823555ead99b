"""Where a run's images come from: a tensorflow-datasets name, a folder or in-memory arrays, its
size, and the folders tfds reads the original files from and keeps prepared data in."""

import dataclasses
import os
from typing import Optional

FOLDER_PREFIX = "folder:"  # --dataset=folder:PATH reads PATH/<class>/<image files>
ARRAYS_PREFIX = "arrays:"  # arrays:<fingerprint> names data cgan.train(dataset=...) was handed


@dataclasses.dataclass(frozen=True)
class DataSource:
    """Where training images come from: a tensorflow-datasets name, folder:PATH or
    arrays:<fingerprint> (cgan.arrays), the side they are resized to (None: as stored), tfds'
    manual download folder and its data folder."""

    dataset: str = "mnist"
    image_size: Optional[int] = None
    manual_dir: Optional[str] = None
    data_dir: Optional[str] = None

    @property
    def folder(self) -> Optional[str]:
        """PATH of --dataset=folder:PATH, else None."""
        return (
            self.dataset[len(FOLDER_PREFIX) :] if self.dataset.startswith(FOLDER_PREFIX) else None
        )

    @property
    def arrays(self) -> Optional[str]:
        """The fingerprint of dataset=arrays:<fingerprint> (in-memory data), else None."""
        return (
            self.dataset[len(ARRAYS_PREFIX) :] if self.dataset.startswith(ARRAYS_PREFIX) else None
        )

    @property
    def plain_mnist(self) -> bool:
        """MNIST as stored: the dataset whose run and judge folders carry no dataset name."""
        return self.dataset == "mnist" and self.image_size is None

    @property
    def label(self) -> str:
        """A short name for folders: the dataset (a folder dataset by its folder's name), then
        -<size> when resized."""
        name = os.path.basename(os.path.normpath(self.folder)) if self.folder else self.dataset
        name = name.replace(":", "-")  # arrays:<fingerprint>: no colon in a folder's name
        return name + ("" if self.image_size is None else f"-{self.image_size}")
