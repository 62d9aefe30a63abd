"""The unit pipeline: plan the units of work, fit, evaluate, track, register, promote, forecast.

Train, retrain and backfill all run their units through `tasks.pipeline.units.run_units`.
"""
