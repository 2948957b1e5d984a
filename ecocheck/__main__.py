"""`python -m ecocheck …` runs the command line, as the `ecocheck` command does (both through `run`)."""

import gc
import os

# numpy's OpenBLAS starts a worker thread per further core when numpy loads, and the threads spin on the CPU a while
# after starting; ecocheck asks nothing of BLAS, and its second core parses the CSV (pyarrow). Measured on this 2-core
# machine: `import numpy` 0.21 → 0.13 s of CPU; 1M coal samples, check --format json, alternately five times: user
# CPU 2.40–2.47 → 2.07–2.34 s, wall median 2.49 → 2.38 s, the same JSON. A setting the user made stands.
BLAS_ENVIRONMENT = {"OPENBLAS_NUM_THREADS": "1"}


def one_blas_thread(environ=os.environ) -> None:
    """Put BLAS_ENVIRONMENT in the environment where it is not set (before numpy loads)."""
    for name, value in BLAS_ENVIRONMENT.items():
        environ.setdefault(name, value)


def run():
    """The command line as a process of its own: the imports are made with the cycle collector paused, and
    engine.cli.main then sets what they made aside for the rest of the run (gc.freeze). They make some 60,000 objects
    that live until the process ends, and the collector's 160 passes over them took about 45 ms of every run; what
    they leave unreachable is kept (0.4 MiB: a collection to free it would cost 40–60 ms)."""
    one_blas_thread()
    gc.disable()
    try:
        from engine.cli import main
    finally:
        gc.enable()
    main()


if __name__ == "__main__":
    run()
