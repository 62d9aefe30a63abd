"""Configuration: one typed object per concern, passed down explicitly (no hidden globals)."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tasks.errors import TempcastError

SelectionMethod = Literal["auto", "article"]


class SelectionRules(BaseModel):
    """How the `auto` selection judges months and locations.

    A leading or trailing month is kept only when at least `min_month_coverage` of the locations
    have data in it; a location is dropped when more than `max_missing_share` of the kept months
    are missing, when one gap is longer than `max_gap_months`, or when it has no data in the
    first or last kept month (a gap at an edge cannot be interpolated).
    """

    model_config = ConfigDict(frozen=True)

    min_month_coverage: float = Field(0.75, gt=0, le=1)
    max_missing_share: float = Field(0.10, ge=0, lt=1)
    max_gap_months: int = Field(3, ge=1)


Scaling = Literal["none", "standard", "climatology"]
Validation = Literal["random", "latest", "holdout"]
Strategy = Literal["per_location", "global"]
RecipeName = Literal["default", "article"]


class TrainingConfig(BaseModel):
    """Everything that decides how models are built and trained; logged as run parameters.

    `scaling` "none" feeds °C as they are (the recipe); "standard" standardises each location
    with the mean and spread of its training months; "climatology" makes the networks forecast
    standardised anomalies from the location's smooth climatology (a mean and `harmonics`
    annual harmonics fit on the months known at the forecast origin), so that an untrained
    network with a `zero_head` forecasts the climatology itself.

    `validation` "random" holds out the last `validation_split` of the training windows (Keras'
    validation_split, as the recipe); "latest" holds out the `validation_windows` most recent
    windows of each location; "holdout" holds out each location's latest window, fits on the
    windows whose targets end before it starts (no overlap), chooses the number of epochs there
    (the fewest whose error is within one standard error of the best, counting zero epochs),
    then refits on every training window for that many epochs.
    `patience` enables early stopping on the validation loss with the best weights restored.
    `strategy` "per_location" trains one network per location; "global" trains one network on
    every location's windows at once and wraps it per location.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    recipe: RecipeName
    timestep: int = Field(18, ge=1)
    horizon: int = Field(18, ge=1)
    units: int = Field(32, ge=1)
    dropout: float = Field(0.0, ge=0, lt=1)
    zero_head: bool = False
    harmonics: int = Field(2, ge=1, le=6)
    learning_rate: float = Field(1e-3, gt=0)
    batch_size: int = Field(1, ge=1)
    epochs: int = Field(1000, ge=1)
    scaling: Scaling = "none"
    validation: Validation = "random"
    validation_split: float = Field(0.2, ge=0, lt=1)
    validation_windows: int = Field(3, ge=1)
    patience: int | None = Field(None, ge=1)
    shuffle: bool = True
    seed: int = 42
    strategy: Strategy = "per_location"
    ensemble: int = Field(1, ge=1)


RECIPES: dict[str, dict] = {
    "article": {
        "recipe": "article",
        "units": 32,
        "learning_rate": 1e-3,
        "batch_size": 1,
        "epochs": 1000,
        "scaling": "none",
        "validation": "random",
        "validation_split": 0.2,
        "patience": None,
        "shuffle": True,
        "strategy": "per_location",
        "ensemble": 1,
    },
    "default": {
        "recipe": "default",
        "units": 32,
        "dropout": 0.3,
        "zero_head": True,
        "harmonics": 2,
        "learning_rate": 3e-4,
        "batch_size": 256,
        "epochs": 30,
        "scaling": "climatology",
        "validation": "holdout",
        "patience": None,
        "shuffle": True,
        "strategy": "global",
        "ensemble": 1,
    },
}


class TrainingOverrides(BaseModel):
    """Explicit settings that override a recipe's values; None keeps the recipe's value."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    epochs: int | None = None
    units: int | None = None
    timestep: int | None = None
    horizon: int | None = None
    seed: int | None = None
    learning_rate: float | None = None
    batch_size: int | None = None
    scaling: Scaling | None = None
    patience: int | None = None
    ensemble: int | None = None
    strategy: Strategy | None = None


def training_config(
    recipe: RecipeName = "default", overrides: TrainingOverrides | None = None
) -> TrainingConfig:
    """The named recipe with the explicit overrides applied."""
    if recipe not in RECIPES:
        raise TempcastError(f"unknown recipe {recipe!r} (choose {', '.join(RECIPES)})")
    given = (overrides or TrainingOverrides()).model_dump(exclude_none=True)
    try:
        return TrainingConfig(**{**RECIPES[recipe], **given})
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise TempcastError(f"invalid training settings: {problems}") from None
