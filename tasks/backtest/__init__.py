"""Backtest stage: forecasts made as of past months, scored against what happened next."""
