"""Report parameters are code: check them against the notebook before a kernel starts.

Papermill writes each parameter into the notebook as ``name = value``, so a name is code. Only
the names a notebook declares in its cell tagged ``parameters`` are accepted
(``papermill.inspect_notebook``), and each value must fit the annotation written there
(``trend_periods: int = 8  # ...``). Notebooks that declare ``config_path`` are journeylib
reports: their ``period``, ``as_of``, ``grain``, ``comparison``, ``filters``, ``funnel``,
``trend_periods``, ``trend_kpis`` and ``config_path`` are checked with the rules
:class:`journeylib.report.ReportContext` applies in the kernel
(:mod:`journeylib.report.inputs`), so a bad value is one line, not an IPython traceback. The
parameters of the notebook suite are checked the same way: ``window`` (a conversion window or
None), ``cohort_grain`` (a grain), ``cohorts`` and ``value_cohorts`` (whole numbers of at
least 1), and ``breakdown``, ``channel_column`` and ``campaign_column`` (dimension columns of
the events).

The command line (``journey report run``), :func:`journeylib.report.run.run_report` and the
schedule (when it loads a job) all call :func:`check_parameters`.

Examples
--------
>>> check_parameters("notebooks/journey_report.ipynb", {"trend_periods": 12})  # doctest: +SKIP
{'trend_periods': 12}
>>> check_parameters("notebooks/journey_report.ipynb", {"trend_periods": "many"})  # doctest: +SKIP
Traceback (most recent call last):
ParameterError: parameter 'trend_periods' of journey_report.ipynb: expected int, got 'many' (str)
"""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from journeylib.errors import ConfigError, JourneyError
from journeylib.report._annotations import checker, type_name, writable

__all__ = [
    "NotebookError",
    "NotebookParameter",
    "ParameterError",
    "check_parameters",
    "check_report_data",
    "notebook_parameters",
    "parse_text_value",
    "read_notebook",
]

PARAMETERS_TAG = "parameters"
#: The parameter whose presence makes a notebook a journeylib report (its rules apply).
REPORT_MARKER = "config_path"
_NULLS = ("null", "~", "None")
#: Parameters of the notebook suite holding a count of periods or cohorts.
COUNT_PARAMETERS = ("cohorts", "value_cohorts")
#: Parameters of the notebook suite naming a dimension column of the events.
DIMENSION_PARAMETERS = ("breakdown", "channel_column", "campaign_column")


class NotebookError(JourneyError):
    """A path given as a report notebook is not one (missing, a folder, not JSON, no parameters)."""


class ParameterError(JourneyError):
    """A parameter the notebook does not declare, or a value that does not fit its annotation.

    ``parameter`` names it (None when the problem is not one parameter's).
    """

    def __init__(self, message: str, *, parameter: str | None = None) -> None:
        super().__init__(message)
        self.parameter = parameter


@dataclass(frozen=True)
class NotebookParameter:
    """One declared parameter: its annotation (None when not annotated), default and comment."""

    name: str
    annotation: str | None
    default: str
    help: str


def read_notebook(path: str | os.PathLike[str]) -> Any:
    """Read a notebook and check it is a report notebook (it has a cell tagged ``parameters``).

    Raises
    ------
    NotebookError
        When the path is missing, a folder, not an ``.ipynb``, not JSON nbformat reads, a
        dashboard notebook (served by ``journey dashboard``), or the notebook has no parameters
        cell. The message never quotes the file's content.
    """
    import nbformat

    notebook = Path(path)
    if notebook.is_dir():
        raise NotebookError(f"report notebook {notebook} is a folder, not a notebook (.ipynb)")
    if not notebook.is_file():
        raise NotebookError(f"report notebook {notebook} does not exist")
    if notebook.suffix != ".ipynb":
        raise NotebookError(
            f"{notebook} is not a report notebook: expected a Jupyter notebook (.ipynb)"
        )
    try:
        node = nbformat.read(notebook, as_version=4)
    except (UnicodeDecodeError, json.JSONDecodeError, nbformat.reader.NotJSONError):
        raise NotebookError(f"report notebook {notebook} is not a notebook: not JSON") from None
    except OSError as exc:
        raise NotebookError(f"report notebook {notebook} cannot be read: {exc.strerror}") from None
    except Exception as exc:  # nbformat's own errors: validation, unknown version, bad keys
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise NotebookError(
            f"report notebook {notebook} is not a notebook nbformat reads: {reason[:200]}"
        ) from None
    from journeylib.report.notebooks import DASHBOARD, notebook_kind

    if notebook_kind(node) == DASHBOARD:
        raise NotebookError(
            f"{notebook} is a dashboard notebook, not a report: serve it with "
            "`journey dashboard [CONFIG]`"
        )
    if not any(PARAMETERS_TAG in cell.get("metadata", {}).get("tags", []) for cell in node.cells):
        raise NotebookError(
            f"report notebook {notebook} has no cell tagged '{PARAMETERS_TAG}' "
            "(the first code cell, holding the parameters and their defaults)"
        )
    return node


def notebook_parameters(path: str | os.PathLike[str]) -> dict[str, NotebookParameter]:
    """The parameters a notebook declares, in order, as ``papermill --help-notebook`` lists them.

    Read with Papermill's parameter inspector, as ``papermill.inspect_notebook`` does (a
    notebook naming no kernel is read as the ``python3`` kernel a run uses).

    Examples
    --------
    >>> notebook_parameters("notebooks/journey_report.ipynb")["trend_periods"].annotation
    ... # doctest: +SKIP
    'int'
    """
    from papermill.translators import papermill_translators

    node = read_notebook(path)
    # what papermill.inspect_notebook does, with the kernel a run uses when none is named
    spec = node.metadata.get("kernelspec", {})
    kernel = spec.get("name") or "python3"
    language = spec.get("language") or node.metadata.get("language_info", {}).get("name")
    translator = papermill_translators.find_translator(kernel, language or "python")
    cell = next(c for c in node.cells if PARAMETERS_TAG in c.get("metadata", {}).get("tags", []))
    return {
        parameter.name: NotebookParameter(
            name=parameter.name,
            annotation=None
            if parameter.inferred_type_name == "None"
            else parameter.inferred_type_name,
            default=parameter.default,
            help=parameter.help,
        )
        for parameter in translator.inspect(cell)
    }


def parse_text_value(text: str, annotation: str | None) -> Any:
    """A command-line value as the parameter's annotation wants it.

    A text parameter (``str``, ``Optional[str]``) takes the text as typed (``-p title 2026`` is
    the title "2026"; ``null`` or ``~`` is None for an optional one); any other reads as YAML
    (``7``, ``[a, b]``, ``{platform: [ios]}``), dates staying ``YYYY-MM-DD`` text.

    Examples
    --------
    >>> parse_text_value("2026", "str"), parse_text_value("2026", "int")
    ('2026', 2026)
    >>> parse_text_value("{platform: [ios]}", "dict[str, list[str]]")
    {'platform': ['ios']}
    """
    import yaml

    accepts = checker(annotation) if annotation else None
    if accepts is not None and accepts(text):
        if text in _NULLS and accepts(None):
            return None
        return text
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(parsed, datetime | date):
        return text
    return parsed


# --------------------------------------------------------------------------- the check


def check_parameters(
    notebook: str | os.PathLike[str],
    parameters: Mapping[str, Any],
    *,
    from_text: bool = False,
) -> dict[str, Any]:
    """Check parameters against a notebook before it runs; returns them as they will be written.

    Parameters
    ----------
    notebook
        The report notebook (``.ipynb`` with a cell tagged ``parameters``).
    parameters
        Name -> value. Names must be declared by the notebook; values must fit the annotation
        of their declaration (an unannotated one takes any text, number, list or mapping).
    from_text
        Values are command-line text, read by :func:`parse_text_value` for their annotation.

    Returns
    -------
    dict
        The parameters, with dates written as ``YYYY-MM-DD`` text.

    Raises
    ------
    NotebookError
        When ``notebook`` is not a report notebook.
    ParameterError
        Naming the parameter: unknown (with the list of known ones), or of the wrong type.
    DataError, ConfigError
        When a report parameter breaks its rule (a malformed period, a comparison of another
        grain, filters of the wrong shape, a ``config_path`` that is not a valid config).
    """
    path = Path(notebook)
    declared = notebook_parameters(path)
    known = ", ".join(declared) or "(none)"
    checked: dict[str, Any] = {}
    for name, value in parameters.items():
        if not isinstance(name, str) or name not in declared:
            raise ParameterError(
                f"{path.name} has no parameter {name!r}; its parameters: {known}",
                parameter=str(name),
            )
        annotation = declared[name].annotation
        if from_text and isinstance(value, str):
            value = parse_text_value(value, annotation)
        where = f"parameter {name!r} of {path.name}"
        try:
            value = writable(value, where)
        except TypeError as exc:
            raise ParameterError(str(exc), parameter=name) from None
        accepts = checker(annotation) if annotation else None
        if accepts is not None and not accepts(value):
            raise ParameterError(
                f"{where}: expected {annotation}, got {value!r} ({type_name(value)})",
                parameter=name,
            )
        checked[name] = value
    if REPORT_MARKER in declared:
        _check_report_rules(path, _merged(declared, checked))
    return checked


def _merged(declared: Mapping[str, NotebookParameter], given: Mapping[str, Any]) -> dict:
    """The values the notebook will run with: its literal defaults, then the given ones."""
    values: dict[str, Any] = {}
    for name, parameter in declared.items():
        try:
            values[name] = ast.literal_eval(parameter.default)
        except (ValueError, SyntaxError):
            continue
    return {**values, **given}


def _located(name: str, error: JourneyError) -> ParameterError:
    text = str(error)
    if isinstance(error, ConfigError):
        text = "; ".join(line.strip().removeprefix("- ") for line in text.splitlines())
    return ParameterError(text, parameter=name)


def _check_report_rules(notebook: Path, values: Mapping[str, Any]) -> None:
    """The report rules of :mod:`journeylib.report.inputs`, on the values a run would use."""
    from journeylib.report.inputs import (
        check_comparison,
        check_count,
        check_dimension,
        check_funnel,
        check_grain_parameter,
        check_kpi_names,
        check_trend_periods,
        check_window,
        load_report_config,
        normalise_filters,
        period_grain,
        report_period,
    )
    from journeylib.report.period import RELATIVE, check_as_of, check_grain

    def rule(name: str, check: Callable[[Any], Any]) -> Any:
        if name not in values:
            return None
        try:
            return check(values[name])
        except JourneyError as exc:
            raise _located(name, exc) from None

    grain = rule("grain", check_grain) or "week"
    as_of = rule("as_of", check_as_of)
    period = values.get("period", "last_full_week")
    resolved = None
    if "period" in values and period not in RELATIVE:
        resolved = rule(
            "period",
            lambda text: report_period(
                text, grain=grain, as_of=as_of or "now", timezone="UTC", data_end=None
            ),
        )
    if isinstance(period, str):
        days = resolved.days if resolved is not None and resolved.is_range else None
        rule(
            "comparison",
            lambda text: check_comparison(text, period_grain(period, grain), days=days),
        )
    rule("filters", normalise_filters)
    rule("trend_periods", check_trend_periods)
    rule("trend_kpis", lambda names: check_kpi_names(names, "trend_kpis"))
    rule("window", check_window)
    rule("cohort_grain", lambda value: check_grain_parameter(value, "cohort_grain"))
    for count in COUNT_PARAMETERS:
        rule(count, lambda value, count=count: check_count(value, count))
    config = rule("config_path", lambda text: load_report_config(text, base_dir=notebook.parent))
    if config is not None:
        rule("funnel", lambda name: check_funnel(name, config))
        for column in DIMENSION_PARAMETERS:
            rule(column, lambda value, column=column: check_dimension(value, config, column))


def check_report_data(notebook: str | os.PathLike[str], parameters: Mapping[str, Any]) -> None:
    """Refuse a report whose period holds no event, from the data's timestamps alone.

    ``parameters`` are checked ones (:func:`check_parameters`). Only the events source's
    timestamp column (and filter columns) is read; database sources are left to the kernel.

    Raises
    ------
    EmptyPeriodError
        Naming the period and the data's range (and the filters).
    """
    from journeylib.periods import local_bound
    from journeylib.report._data_range import EmptyPeriodError, empty_period_message, event_span
    from journeylib.report.inputs import load_report_config, normalise_filters, report_period

    path = Path(notebook)
    declared = notebook_parameters(path)
    if REPORT_MARKER not in declared:
        return
    values = _merged(declared, parameters)
    config = load_report_config(values[REPORT_MARKER], base_dir=path.parent)
    filters = normalise_filters(values.get("filters"))
    span = event_span(config, filters)
    if span is None:
        return
    period = report_period(
        values.get("period", "last_full_week"),
        grain=values.get("grain", "week"),
        as_of=values.get("as_of", "now"),
        timezone=config.timezone,
        data_end=span.last,
    )
    start = local_bound(period.start, config.timezone)
    end = local_bound(period.end, config.timezone)
    if span.count(start, end) == 0:
        raise EmptyPeriodError(empty_period_message(period, span.first, span.last, filters))
