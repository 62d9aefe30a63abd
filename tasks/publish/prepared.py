"""The prepared data set's files: the tables, the report and a chart of the monthly table."""

from pathlib import Path

from tasks.calls import step
from tasks.data.prepared import Prepared
from tasks.places import FILES
from tasks.publish.charts import monthly_chart, write_html
from tasks.publish.outputs import ensure_folder, write_csv, write_json


@step("write-prepared-data")
def write_prepared(prepared: Prepared, out: Path) -> dict[str, Path]:
    """Write the monthly table, the imputation mask, the rejects, the report and the chart of
    the monthly table into `out` (their names: tasks.places.FILES)."""
    ensure_folder(out)
    return {
        "monthly": write_csv(prepared.table, out / FILES.monthly, index=True),
        "imputed": write_csv(prepared.mask, out / FILES.imputed, index=True),
        "rejects": write_csv(prepared.rejects, out / FILES.rejects),
        "report": write_json(prepared.report, out / FILES.report),
        "chart": write_html(
            monthly_chart(prepared.table, "Monthly mean temperature per location"),
            out / FILES.monthly_chart,
        ),
    }
