"""Data stage: find and read the observations, validate them, build the complete monthly table.

raw CSV -> validated observations (+ rejects) -> monthly table -> selected and imputed table
(+ mask) -> per-location series. Only `ingest` reads input files.
"""
