"""The published forecasts: forecasts.csv, the charts and the Prefect `forecasts` artifact carry
the quantiles and the chance of a warmer-than-median month of the forecasts frame."""

import numpy as np
import pandas as pd

import tasks.publish.forecasts as forecasts_module
from tests.support.forecasts import CONTRACT_COLUMNS, forecast_frame


def test_forecasts_csv_and_the_artifact_show_the_distribution(tmp_path, monkeypatch):
    shown, attached = {}, []
    monkeypatch.setattr(forecasts_module, "create_table_artifact", lambda **kw: shown.update(kw))
    monkeypatch.setattr(
        forecasts_module, "attach_files", lambda run, files, folder: attached.extend(files)
    )
    frame = pd.concat(
        [
            forecast_frame("Alpha", "2016-12", "3", [20.12345, 21.0, 19.5], spread=0.8),
            forecast_frame("Bravo", "2016-12", "1", [10.0, 9.87654, 9.0], spread=1.3),
        ],
        ignore_index=True,
    )
    months = [str(m) for m in pd.period_range("2015-01", "2016-12", freq="M")]
    history = pd.DataFrame(np.full((2, 24), 15.0), index=["Alpha", "Bravo"], columns=months)
    files = forecasts_module.publish_forecasts.fn(frame, history, tmp_path, "run")

    written = pd.read_csv(files["csv"], dtype={"as_of": str, "model_version": str})
    assert written.columns.tolist() == CONTRACT_COLUMNS
    pd.testing.assert_frame_equal(written, frame, check_dtype=False)
    rows = shown["table"]
    assert list(rows[0]) == CONTRACT_COLUMNS and len(rows) == 6
    assert rows[0]["forecast"] == rows[0]["q50"] == 20.123
    assert rows[4]["q10"] == round(float(frame.loc[4, "q10"]), 3)
    assert rows[4]["p_above_median"] == 0.6
    assert attached == list(files.values()) and files["png"].stat().st_size > 0
    assert "95% interval" in files["html"].read_text()
