"""The prepared data set: the complete monthly table, its imputation mask, and the report."""

import hashlib
from dataclasses import dataclass
from typing import Any

import pandas as pd

from tasks.calls import Call, as_task
from tasks.data.impute import Imputed, impute_gaps
from tasks.data.ingest import IngestResult
from tasks.data.monthly import build_monthly_table
from tasks.data.months import describe_months
from tasks.data.rules import SelectionMethod, SelectionRules
from tasks.data.selection import Selection, select_data


@dataclass(frozen=True)
class Prepared:
    """Everything the training steps need from the data half of the pipeline."""

    table: pd.DataFrame
    mask: pd.DataFrame
    rejects: pd.DataFrame
    report: dict[str, Any]

    @property
    def locations(self) -> list[str]:
        """Kept locations, in table order."""
        return [str(name) for name in self.table.index]

    @property
    def months(self) -> list[str]:
        """Kept months, 'YYYY-MM', in order."""
        return [str(month) for month in self.table.columns]

    @property
    def digest(self) -> str:
        """A short content hash of the complete table, to tell data versions apart."""
        return self.report["data_digest"]


def table_digest(table: pd.DataFrame) -> str:
    """SHA-256 (first 16 hex digits) of the table's labels and exact values."""
    hasher = hashlib.sha256()
    hasher.update("|".join(map(str, table.index)).encode())
    hasher.update("|".join(map(str, table.columns)).encode())
    hasher.update(table.to_numpy(dtype="float64").tobytes())
    return hasher.hexdigest()[:16]


def build_report(
    ingested: IngestResult,
    selection: Selection,
    imputed: Imputed,
    as_of: pd.Period | None,
    method: SelectionMethod,
) -> dict[str, Any]:
    """The facts a user needs to trust the table: counts, drops with reasons, imputed cells."""
    mask = imputed.mask
    imputed_months = {
        str(location): [str(month) for month in row.index[row.to_numpy()]]
        for location, row in mask.iterrows()
        if row.any()
    }
    months = [str(month) for month in imputed.table.columns]
    return {
        "data_file": str(ingested.path),
        **ingested.counts(),
        "rejects_by_reason": ingested.rejects_by_reason(),
        "data_ends": str(ingested.last_date.date()) if ingested.last_date is not None else None,
        "as_of": str(as_of) if as_of is not None else None,
        "selection": method,
        "locations_kept": len(imputed.table),
        "months_kept": len(months),
        "months": describe_months(months),
        "locations_dropped": selection.locations_dropped,
        "months_dropped": selection.months_dropped,
        "imputed_cells": imputed.cells,
        "imputed": imputed_months,
        "data_digest": table_digest(imputed.table),
    }


def prepare_data(
    ingested: IngestResult,
    method: SelectionMethod,
    rules: SelectionRules | None = None,
    as_of: pd.Period | None = None,
    call: Call = as_task,
) -> Prepared:
    """The data steps after ingest, each a Prefect task (called as `call` says): the monthly
    table cut at `as_of`, the choice of locations and months, the imputation of gaps."""
    data_end = ingested.last_date
    if as_of is not None and data_end is not None:
        data_end = min(data_end, as_of.end_time.normalize())
    monthly = call(build_monthly_table, ingested.accepted, as_of)
    selected = call(select_data, monthly, method, data_end, rules)
    imputed = call(impute_gaps, selected.table)
    return Prepared(
        table=imputed.table,
        mask=imputed.mask,
        rejects=ingested.rejects,
        report=build_report(ingested, selected, imputed, as_of, method),
    )
