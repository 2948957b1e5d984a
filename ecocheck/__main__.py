"""`python -m ecocheck …` runs the command line, as the `ecocheck` command does (both through `run`)."""

import gc


def run():
    """The command line as a process of its own: the imports are made with the cycle collector paused, and
    engine.cli.main then sets what they made aside for the rest of the run (gc.freeze). They make some 60,000 objects
    that live until the process ends, and the collector's 160 passes over them took about 45 ms of every run; what
    they leave unreachable is kept (0.4 MiB: a collection to free it would cost 40–60 ms)."""
    gc.disable()
    try:
        from engine.cli import main
    finally:
        gc.enable()
    main()


if __name__ == "__main__":
    run()
