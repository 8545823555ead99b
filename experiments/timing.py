"""Timing of train calls taking turns, window by window: shared by the benchmark scripts."""

import time


def rates(calls, windows, seconds):
    """{name: images/s of each window} of the `calls` (name -> a function that trains and returns
    the images it saw), after warm-up, timed in turn window by window."""
    for call in calls.values():  # warm-up: the first call traces (and compiles), then half a window
        call()
        end = time.perf_counter() + seconds / 2
        while time.perf_counter() < end:
            call()
    measured = {name: [] for name in calls}
    for _ in range(windows):
        for name, call in calls.items():
            images, start = 0, time.perf_counter()
            while time.perf_counter() - start < seconds:
                images += call()
            measured[name].append(images / (time.perf_counter() - start))
    return measured
