"""Timing and accuracy comparisons: long runs that never belong in the test suite."""
