"""`python -m flows` runs the tempcast command line."""

from flows.cli import main

if __name__ == "__main__":  # not when a spawned helper process imports the main module again
    main()
