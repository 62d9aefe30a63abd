"""Training settings: one typed object, its complete named recipes, and the overrides a user gives.

Every setting's type, allowed values, limits and help text are written once, here, as pydantic
fields; the recipes are complete `TrainingConfig`s; `TrainingOverrides` and the command-line
options are built from these fields.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from tasks.errors import TempcastError

Scaling = Literal["none", "standard", "climatology"]
Validation = Literal["random", "rolling"]
Strategy = Literal["per_location", "global"]
TrainWindows = Literal["before_test", "known_at_origin"]
RecipeName = Literal["default", "article"]


class TrainingConfig(BaseModel):
    """Everything that decides how models are built and trained; logged as run parameters."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    recipe: RecipeName = Field(description="The named recipe these settings start from.")
    timestep: int = Field(ge=1, description="Months in each input window.")
    horizon: int = Field(ge=1, description="Months forecast.")
    units: int = Field(ge=1, description="LSTM units per direction.")
    dropout: float = Field(ge=0, lt=1, description="Dropout on the LSTMs' inputs while training.")
    harmonics: int = Field(
        ge=1, le=6, description="Annual harmonics of the smooth climatology (climatology scaling)."
    )
    learning_rate: float = Field(gt=0, description="Adam learning rate.")
    batch_size: int = Field(ge=1, description="Windows per training step.")
    epoch_windows: int | None = Field(
        None,
        ge=1,
        description="The most training windows one epoch sees; with more, each epoch takes the"
        " next ones of a seeded shuffle, so every window is used before any is used again"
        " (None: every window, every epoch).",
    )
    epochs: int = Field(
        ge=1,
        description="Training epochs: exactly these with random validation, at most these with"
        " rolling validation (which chooses how many).",
    )
    scaling: Scaling = Field(
        description="none: °C as they are (the tutorial); standard: each location standardised"
        " on its training months; climatology: the networks forecast standardised anomalies from"
        " the location's smooth climatology and are told the calendar month of every month."
    )
    validation: Validation = Field(
        description="random: Keras' validation_split of the training windows (the tutorial);"
        " rolling: a rolling-origin validation over the last validation_months origins chooses"
        " the epochs and the forecast steps the networks' correction is used for (climatology"
        " scaling only)."
    )
    validation_split: float = Field(
        ge=0, lt=1, description="Share of the training windows held out (random validation)."
    )
    validation_months: int = Field(
        ge=1, description="Origins in the rolling validation: the last this many months."
    )
    correction_months: int = Field(
        ge=0,
        description="The most forecast months (the first ones) the networks' correction may be"
        " used for (rolling validation): monthly anomalies carry a few months of memory.",
    )
    shuffle: bool = Field(description="Shuffle the training windows every epoch.")
    seed: int = Field(description="Seed of every random source.")
    strategy: Strategy = Field(
        description="global: one set of networks for all locations; per_location: one each."
    )
    ensemble: int = Field(ge=1, description="Networks trained together and averaged per model.")
    refit: bool = Field(
        description="After the evaluation fit, fit the same settings again on everything known"
        " at as_of (the production fit that is registered and forecasts)."
    )
    train_windows: TrainWindows = Field(
        description="before_test: the evaluation fit trains on windows that end before the test"
        " window's first month (the tutorial); known_at_origin: on every window whose target is"
        " known at the test window's forecast origin."
    )

    @model_validator(mode="after")
    def _consistent(self) -> "TrainingConfig":
        if self.validation == "rolling" and self.scaling != "climatology":
            raise ValueError("rolling validation needs climatology scaling")
        if self.epoch_windows is not None and self.validation == "random":
            raise ValueError("epoch_windows needs rolling validation")
        return self


RECIPES: dict[RecipeName, TrainingConfig] = {
    # The tutorial, exactly: one network per location on unscaled °C, batch size 1, 1000 epochs.
    "article": TrainingConfig(
        recipe="article",
        timestep=18,
        horizon=18,
        units=32,
        dropout=0.0,
        harmonics=2,
        learning_rate=1e-3,
        batch_size=1,
        epochs=1000,
        scaling="none",
        validation="random",
        validation_split=0.2,
        validation_months=12,
        correction_months=18,
        shuffle=True,
        seed=42,
        strategy="per_location",
        ensemble=1,
        refit=False,
        train_windows="before_test",
    ),
}
# The smooth climatology of every month known at as_of, plus a calendar-aware correction from
# networks trained on every location at once, used only where validation favours it.
RECIPES["default"] = TrainingConfig(
    **{
        **RECIPES["article"].model_dump(),
        "recipe": "default",
        "dropout": 0.3,
        "batch_size": 256,
        "epochs": 15,
        "epoch_windows": 4096,
        "scaling": "climatology",
        "validation": "rolling",
        "correction_months": 3,
        "strategy": "global",
        "refit": True,
        "train_windows": "known_at_origin",
    }
)

OVERRIDABLE = [name for name in TrainingConfig.model_fields if name != "recipe"]

TrainingOverrides = create_model(
    "TrainingOverrides",
    __config__=ConfigDict(frozen=True, extra="forbid"),
    __doc__="Explicit settings that override a recipe's values; None keeps the recipe's value.",
    **{
        name: (
            TrainingConfig.model_fields[name].annotation | None,
            Field(None, description=TrainingConfig.model_fields[name].description),
        )
        for name in OVERRIDABLE
    },
)


def settings_problems(error: ValidationError) -> str:
    """A pydantic validation error as one line: 'field: problem; field: problem'."""
    return "; ".join(
        f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg'].removeprefix('Value error, ')}"
        for e in error.errors()
    )


def training_config(
    recipe: RecipeName = "default", overrides: BaseModel | None = None
) -> TrainingConfig:
    """The named recipe with the explicit overrides applied."""
    if recipe not in RECIPES:
        raise TempcastError(f"unknown recipe {recipe!r} (choose {', '.join(RECIPES)})")
    given = overrides.model_dump(exclude_none=True) if overrides is not None else {}
    try:
        return TrainingConfig(**{**RECIPES[recipe].model_dump(), **given})
    except ValidationError as error:
        raise TempcastError(f"invalid training settings: {settings_problems(error)}") from None
