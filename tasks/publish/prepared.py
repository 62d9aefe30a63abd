"""The prepared data set's files: the tables, the report and a chart of the monthly table."""

from pathlib import Path

from tasks.calls import step
from tasks.data.prepared import Prepared
from tasks.publish.charts import monthly_chart, write_html
from tasks.publish.outputs import ensure_folder, write_csv, write_json


@step("write-prepared-data")
def write_prepared(prepared: Prepared, out: Path) -> dict[str, Path]:
    """Write monthly.csv, imputed.csv, rejects.csv, report.json and monthly.html into `out`."""
    ensure_folder(out)
    return {
        "monthly": write_csv(prepared.table, out / "monthly.csv", index=True),
        "imputed": write_csv(prepared.mask, out / "imputed.csv", index=True),
        "rejects": write_csv(prepared.rejects, out / "rejects.csv"),
        "report": write_json(prepared.report, out / "report.json"),
        "chart": write_html(
            monthly_chart(prepared.table, "Monthly mean temperature per location"),
            out / "monthly.html",
        ),
    }
