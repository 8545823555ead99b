"""The modes run.py offers, each a thin layer over the library: train, generate, evaluate,
compare."""
