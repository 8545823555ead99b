"""Named experiments (experiments/configs.py) and benchmark scripts."""
