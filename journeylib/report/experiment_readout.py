"""The experiment readout report (``notebooks/experiment_readout.ipynb``): one A/B test read on
its KPIs, with the sections the notebook shows.

The numbers are :meth:`journeylib.Journey.experiment`'s, the function ``journey experiment``
calls; the settings default to an experiment the config declares (``experiments:``), and
every parameter given overrides its declared value.

Examples
--------
>>> readout = ExperimentReport.create("data/sample/journey.yml", experiment="checkout_test")
... # doctest: +SKIP
>>> readout.show_verdicts()  # doctest: +SKIP
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from journeylib import Journey, load
from journeylib._format import format_count
from journeylib.config import JourneyConfig
from journeylib.errors import DataError
from journeylib.optimise import ExperimentResult
from journeylib.optimise.experiments import COMPARISON_COLUMNS, VARIANT_COLUMNS
from journeylib.optimise.sentences import format_percent
from journeylib.report import display

__all__ = [
    "ExperimentReport",
    "check_readout_parameters",
    "parse_experiment_period",
    "readout_settings",
]

_PERIOD = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")


def parse_experiment_period(text: str) -> tuple[date | None, date | None]:
    """``YYYY-MM-DD..YYYY-MM-DD`` (end exclusive) as two dates; ``""`` as ``(None, None)``.

    Examples
    --------
    >>> parse_experiment_period("2026-07-03..2026-10-01")
    (datetime.date(2026, 7, 3), datetime.date(2026, 10, 1))
    """
    if not text:
        return None, None
    match = _PERIOD.match(text.strip())
    if match is None:
        raise DataError(
            f"experiment_period {text!r}: expected YYYY-MM-DD..YYYY-MM-DD (end exclusive), "
            "or empty for the declared experiment's period"
        )
    try:
        start, end = (date.fromisoformat(part) for part in match.groups())
    except ValueError as exc:
        raise DataError(f"experiment_period {text!r}: {exc}") from None
    if start >= end:
        raise DataError(f"experiment_period {text!r} is empty: {start} is not before {end}")
    return start, end


def readout_settings(
    config: JourneyConfig,
    *,
    experiment: str | None = None,
    variant: str | None = None,
    kpis: Sequence[str] = (),
    experiment_period: str = "",
    control: str | None = None,
    expected_split: Sequence[float] | None = None,
) -> dict[str, Any]:
    """The readout's settings: the declared experiment's, overridden by those given.

    Raises
    ------
    DataError
        An experiment the config does not declare, no variant column or KPI, an unknown
        KPI, a bad period.
    """
    from journeylib.kpis import check_kpi_names

    declared = config.experiments
    if experiment is None and not variant and len(declared) == 1:
        experiment = next(iter(declared))
    if experiment is not None and experiment not in declared:
        names = ", ".join(declared) or "none"
        raise DataError(
            f"experiment {experiment!r} is not declared in the config's experiments "
            f"(declared: {names})"
        )
    spec = declared.get(experiment) if experiment else None
    start, end = parse_experiment_period(experiment_period)
    variant = variant or (spec.variant if spec else None)
    kpis = list(kpis) or (list(spec.kpis) if spec else [])
    if not variant:
        raise DataError("no variant column: set variant, or experiment to a declared one")
    if not kpis:
        raise DataError("no KPI to read: set kpis, or experiment to a declared one")
    check_kpi_names(kpis, config)
    return {
        "name": experiment or variant,
        "variant": variant,
        "kpis": kpis,
        "start": start or (spec.start if spec else None),
        "end": end or (spec.end if spec else None),
        "control": control or (spec.control if spec else None),
        "expected_split": list(expected_split or (spec.expected_split if spec else []) or [])
        or None,
    }


def check_readout_parameters(
    notebook: str | os.PathLike[str], parameters: Mapping[str, Any]
) -> None:
    """Refuse the readout's parameters before the kernel starts (a notebook declaring
    ``experiment_period``); ``parameters`` are checked ones.

    Raises
    ------
    DataError
        As :func:`readout_settings`.
    """
    from journeylib.report.inputs import load_report_config
    from journeylib.report.parameters import _merged, notebook_parameters

    path = Path(notebook)
    declared = notebook_parameters(path)
    if "experiment_period" not in declared:
        return
    values = _merged(declared, parameters)
    config = load_report_config(values.get("config"), base_dir=path.parent)
    readout_settings(
        config,
        experiment=values.get("experiment"),
        variant=values.get("variant"),
        kpis=values.get("kpis") or (),
        experiment_period=values.get("experiment_period") or "",
        control=values.get("control"),
        expected_split=values.get("expected_split"),
    )


@dataclass
class ExperimentReport:
    """One experiment's readout and the sections that show it."""

    journey: Journey
    name: str
    result: ExperimentResult
    title: str

    @classmethod
    def create(
        cls,
        config: str,
        *,
        experiment: str | None = None,
        variant: str | None = None,
        kpis: Sequence[str] = (),
        experiment_period: str = "",
        control: str | None = None,
        expected_split: Sequence[float] | None = None,
        cuped: bool = False,
        sequential: bool = False,
        title: str | None = None,
    ) -> ExperimentReport:
        """Load the journey and read the experiment (parameters as the notebook names them).

        Raises
        ------
        DataError
            An experiment the config does not declare, no variant column or KPI, a bad
            period; and whatever :func:`journeylib.optimise.read_experiment` refuses.
        """
        from journeylib.charts import use_theme
        from journeylib.report.inputs import load_report_config

        use_theme()
        journey = load(load_report_config(config))
        settings = readout_settings(
            journey.config,
            experiment=experiment,
            variant=variant,
            kpis=kpis,
            experiment_period=experiment_period,
            control=control,
            expected_split=expected_split,
        )
        name, variant, kpis = settings["name"], settings["variant"], settings["kpis"]
        result = journey.experiment(
            variant,
            kpis,
            start=settings["start"],
            end=settings["end"],
            control=settings["control"],
            expected_split=settings["expected_split"],
            cuped=cuped,
            sequential=sequential,
        )
        return cls(
            journey=journey,
            name=name,
            result=result,
            title=title or f"Experiment readout: {name}",
        )

    @property
    def period_label(self) -> str:
        """``2026-07-03_2026-10-31``: the report's folder under ``reports/experiment_readout``."""
        return f"{self.result.start.isoformat()}_{self.result.end.isoformat()}"

    def show_header(self) -> None:
        """Title, period and the run marker the report runner reads."""
        span = f"{self.result.start.isoformat()} to {self.result.end.isoformat()}"
        display.show(
            {
                "text/html": (
                    f'<h1>{html.escape(self.title)}</h1><p class="meta">'
                    f"{html.escape(self.journey.config.name)} · {html.escape(span)}</p>"
                ),
                "text/plain": f"{self.title}: {span}",
            },
            "run",
            period=self.period_label,
            title=f"{self.title} — {span}",
        )

    def show_verdicts(self) -> None:
        """The verdict of every KPI, first: what the reader needs to decide."""
        display.show_headline([readout.verdict for readout in self.result.readouts])

    def show_assignment(self) -> None:
        """Users per variant, those excluded, and the sample ratio check."""
        result = self.result
        srm = result.srm
        display.show_section(
            "Assignment",
            f"Each user counts in the {result.variant_column} they were first seen with; "
            f"{format_count(result.excluded_users)} users seen in two variants are excluded. "
            f"Sample ratio check (chi-square against the expected split): p = "
            f"{srm.p_value:.3g}"
            + (
                ", below 0.001: the split is off and no result can be trusted."
                if srm.flagged
                else ", no mismatch."
            ),
        )
        observed = pl.DataFrame(
            {
                "variant": list(srm.observed),
                "users": [int(n) for n in srm.observed.values()],
                "expected": [float(srm.expected[v]) for v in srm.observed],
            }
        )
        display.show_table(
            observed,
            name="assignment",
            formats={"users": format_count, "expected": lambda v: format_count(round(v))},
        )

    def show_readouts(self) -> None:
        """Per KPI: the variants with their intervals (chart with interval bars), the lifts
        with their intervals and p-values (Holm-adjusted), the projection and the power."""
        from journeylib.charts import experiment_chart

        for readout in self.result.readouts:
            rate = readout.unit == "rate"
            value = _percent if rate else _number
            lift = _points if rate else _signed
            display.show_section(readout.kpi, readout.verdict)
            display.show_chart(
                experiment_chart(readout.variants, kpi=readout.kpi, rate=rate),
                name=f"experiment-{readout.kpi}",
                title=f"{readout.kpi} by variant (95% intervals)",
            )
            display.show_table(
                readout.variants.select(VARIANT_COLUMNS),
                name=f"variants-{readout.kpi}",
                formats={"users": format_count, "value": value, "ci_low": value, "ci_high": value},
            )
            columns = [
                *COMPARISON_COLUMNS,
                "projected",
                "projected_ci_low",
                "projected_ci_high",
            ]
            display.show_table(
                readout.comparisons.select(c for c in columns if c in readout.comparisons.columns),
                name=f"comparisons-{readout.kpi}",
                formats={
                    "lift": lift,
                    "lift_ci_low": lift,
                    "lift_ci_high": lift,
                    "relative_lift": _percent,
                    "p_value": _p,
                    "p_value_adjusted": _p,
                    "projected": value,
                    "projected_ci_low": value,
                    "projected_ci_high": value,
                },
                headers={"p_value_adjusted": "p (Holm)"},
            )
            if readout.mde is not None:
                display.show_text(
                    f"Minimum detectable effect at this size (alpha 0.05, power 0.8): "
                    f"{lift(readout.mde).lstrip('+')}."
                )


def _percent(value: Any) -> str:
    return format_percent(value)


def _number(value: Any) -> str:
    return f"{value:,.2f}"


def _points(value: Any) -> str:
    return f"{100 * value:+.1f} points"


def _signed(value: Any) -> str:
    return f"{value:+,.2f}"


def _p(value: Any) -> str:
    return f"{value:.2g}"
