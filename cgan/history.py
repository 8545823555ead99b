"""history.csv: one row per logging interval, kept consistent across resumes."""

import csv
import os

import numpy as np

COLUMNS = (
    "step", "epoch", "images_seen", "seconds", "d_loss", "d_accuracy", "g_loss",
    # quality, at the end of the epochs that were scored (--eval_every)
    "fid", "inception_score", "precision", "recall", "accuracy", "digits_below_5_percent",
)


class History:
    """Appends rows to a CSV; on resume, drops rows logged after the restored step."""

    def __init__(self, path, resume_step):
        self.path = path
        rows = []
        if os.path.exists(path):
            with open(path, newline="") as f:
                rows = [row for row in csv.DictReader(f) if int(row["step"]) <= resume_step]
        with open(path, "w", newline="") as f:
            writer = csv.DictWriter(f, COLUMNS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)

    def append(self, row):
        """Adds one row (a dict with the COLUMNS keys; a missing value is left empty)."""
        with open(self.path, "a", newline="") as f:
            csv.DictWriter(f, COLUMNS).writerow({name: row.get(name, "") for name in COLUMNS})


def read(path):
    """The rows of a history.csv as dicts of strings (a missing value is "")."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def values(rows, name):
    """One column of `rows` as floats, NaN where it is empty or absent."""
    return np.array([float(r[name]) if r.get(name) not in (None, "") else np.nan for r in rows])
