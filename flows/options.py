"""Command-line options built from the settings models, so that each option's name, type,
allowed values, default and help are written once (as pydantic fields).

`run_settings_options` gives a command RunSettings options (the training overrides and the
selection rules flattened into --epochs, --min-month-coverage, ...) and hands it one validated
RunSettings.
"""

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from pydantic.fields import FieldInfo

from tasks.data.rules import SelectionRules
from tasks.errors import TempcastError
from tasks.model.settings import TrainingOverrides, settings_problems
from tasks.settings import RunSettings

NESTED = {"rules": SelectionRules, "training": TrainingOverrides}
LOCATION_HELP = "A location to train (repeat for several). Default: every location the data keeps."
ALL_OPTION = inspect.Parameter(
    "all_locations",
    inspect.Parameter.KEYWORD_ONLY,
    default=False,
    annotation=Annotated[bool, typer.Option("--all", help="Every location the data keeps.")],
)


def option(name: str, field: FieldInfo) -> inspect.Parameter:
    """A keyword-only command parameter for a model field: its flag, type, default and help."""
    default = field.get_default(call_default_factory=True)
    flag, help_text = (
        ("--location", LOCATION_HELP)
        if name == "locations"
        else (f"--{name.replace('_', '-')}", field.description or "")
    )
    annotation = Annotated[
        field.annotation, typer.Option(flag, help=help_text, show_default=default is not None)
    ]
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )


def fields_as_options(names: tuple[str, ...]) -> list[inspect.Parameter]:
    """The named RunSettings fields as options, the nested models' fields flattened."""
    parameters = []
    for name in names:
        model = NESTED.get(name)
        fields = model.model_fields.items() if model else [(name, RunSettings.model_fields[name])]
        parameters += [option(field_name, field) for field_name, field in fields]
    return parameters


def build_settings(values: dict[str, Any]) -> RunSettings:
    """One validated RunSettings from flattened option values (absent ones keep their
    defaults); invalid values are a TempcastError naming them."""
    nested = {
        name: {sub: values.pop(sub) for sub in model.model_fields if sub in values}
        for name, model in NESTED.items()
    }
    training = {key: value for key, value in nested["training"].items() if value is not None}
    try:
        return RunSettings(
            **values,
            rules=SelectionRules(**nested["rules"]),
            training=TrainingOverrides(**training),
        )
    except ValidationError as error:
        raise TempcastError(f"invalid settings: {settings_problems(error)}") from None


def run_settings_options(
    names: tuple[str, ...] = tuple(RunSettings.model_fields),
) -> Callable[[Callable], Callable]:
    """Decorate a command with the named RunSettings fields as options (with --location: also
    --all); the command receives them as one `settings: RunSettings` argument."""

    def decorate(command: Callable) -> Callable:
        generated = fields_as_options(names)
        if "locations" in names:
            generated.append(ALL_OPTION)
        taken = {parameter.name for parameter in generated}
        own = [p for p in inspect.signature(command).parameters.values() if p.name != "settings"]

        @functools.wraps(command)
        def with_settings(**kwargs: Any) -> Any:
            if kwargs.pop("all_locations", False) and kwargs.get("locations"):
                raise TempcastError("use either --location or --all, not both")
            values = {name: kwargs.pop(name) for name in list(kwargs) if name in taken}
            return command(settings=build_settings(values), **kwargs)

        with_settings.__signature__ = inspect.Signature(own + generated)  # type: ignore[attr-defined]
        return with_settings

    return decorate


def only(flag: str, what: str, rows: str = "forecasts") -> Any:
    """A filter option of `tempcast forecasts` (or `observations`): only the rows of `what`."""
    return typer.Option(flag, help=f"Only the {rows} of {what}.", show_default=False)
