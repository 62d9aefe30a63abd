"""Publish stage: result files written safely, reports, charts and forecasts."""
