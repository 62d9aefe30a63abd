"""`python -m flows` runs the tempcast command line."""

from flows.cli import main

main()
