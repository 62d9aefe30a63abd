"""`python -m flows` runs the tempcast command line."""

from flows.cli import main

if __name__ == "__main__":  # the usual guard (multiprocessing never re-runs a `-m` main)
    main()
