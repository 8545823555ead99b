"""python -m cgan: the same as python run.py (and the `cgan` command)."""

from cgan.cli import console

if __name__ == "__main__":
    console()
