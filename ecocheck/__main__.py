"""`python -m ecocheck …` runs the command line, as the `ecocheck` command does."""

from engine.cli import main

if __name__ == "__main__":
    main()
