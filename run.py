"""Front door: the cgan command line (cgan/cli.py), run from a checkout.

python run.py --arch=cgan --digit=7     # train (or reuse) a cGAN, draw 7s
python run.py --arch=cgan               # all ten digits in one grid
python run.py --mode=compare --archs=dense,cgan --budget_images=60000   # side by side

The installed `cgan` command and `python -m cgan` are the same.
"""

from cgan.cli import FLAGS, console, main, parse_flags  # noqa: F401  (tests drive main)

if __name__ == "__main__":
    console()
