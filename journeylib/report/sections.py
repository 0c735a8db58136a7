"""The sections of a report, in the order the report notebook shows them.

:class:`ReportSections` is the half of :class:`journeylib.report.context.ReportContext` that
shows: each ``show_*`` method asks the context for its numbers (``current``, ``scores``,
``kpi_table`` and the :class:`journeylib.journey.Journey` it holds), builds the charts of
:mod:`journeylib.charts` and hands them to :mod:`journeylib.report.display`.
"""

from __future__ import annotations

import hashlib
import html
import os
import platform
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from journeylib.kpis import kpi_label
from journeylib.periods import Grain, local_bound, periods_before
from journeylib.report import _optimise_sections, display
from journeylib.report.story import headline_sentences
from journeylib.report.tables import kpi_classes, kpi_rows, thousands

__all__ = ["ReportSections"]


class ReportSections:
    """The ``show_*`` sections of a report; mixed into ``ReportContext``, whose data they read."""

    def show_header(self) -> None:
        """Title, period and the run marker the report runner reads."""
        display.show(
            {
                "text/html": (
                    f'<h1>{html.escape(self.title)}</h1><p class="meta">'
                    f"{html.escape(self.journey.config.name)} · "
                    f"{html.escape(self.period.description)}</p>"
                ),
                "text/plain": f"{self.title}: {self.period.description}",
            },
            "run",
            period=self.period.label,
            title=f"{self.title} — {self.period.description}",
        )

    def show_headline(self) -> None:
        """The overall score, the biggest significant movers, targets and data quality."""
        this, before = self.scores()
        sentences = headline_sentences(
            self.current(),
            period_start=self.period.start,
            period_text=self.period.description,
            previous_label=self.previous_label,
            overall=this.overall,
            previous_overall=before.overall,
            currency=self.currency,
            quarantined=self.journey.quality.rows_quarantined,
            findings=_optimise_sections.finding_sentences(self),
        )
        display.show_headline(sentences)

    def show_journey_map(self) -> None:
        """Stage scores as a journey map, and what the score left out."""
        from journeylib.charts import journey_map

        this, _ = self.scores()
        display.show_section(
            "Journey score",
            "Each KPI with a target scores 100 × value / target (capped at 100; inverted when "
            "lower is better); stages and the overall score are weighted means.",
        )
        display.show_chart(journey_map(this.stages), name="journey-map", title="Stage scores")
        left_out = this.kpis.filter(pl.col("left_out_reason").is_not_null())
        sentences = [
            f"Left out of the score ({reason}, {len(names)}): "
            + ", ".join(kpi_label(name) for name in names)
            + "."
            for (reason,), names in (
                (key, group["kpi"].to_list())
                for key, group in left_out.group_by("left_out_reason", maintain_order=True)
            )
        ]
        sentences += [item + "." for item in this.left_out if item.startswith("stage ")]
        if sentences:
            display.show_text("\n\n".join(sentences))

    def show_stage(self, stage: str) -> None:
        """A stage's KPIs against the previous period and target: scorecards and a table."""
        from journeylib.charts import kpi_scorecards

        rows = self.current().filter(pl.col("stage") == stage)
        display.show_section(stage.capitalize())
        if rows.height == 0:
            display.show_text(f"The journey config puts no KPI in the {stage} stage.")
            return
        display.show_chart(
            kpi_scorecards(rows, currency=self.currency),
            name=f"scorecards-{stage}",
            title=f"{stage.capitalize()} KPIs",
            email=False,
        )
        display.show_table(
            kpi_rows(rows, self.currency),
            name=f"kpis-{stage}",
            classes=kpi_classes,
            headers={"kpi": "KPI", "previous": f"previous ({self.previous_label})"},
        )

    def show_stages(self) -> None:
        """Every stage of the journey, in the config's order."""
        for stage in self.journey.config.stages:
            self.show_stage(stage.name)

    def show_trends(self, kpis: Sequence[str]) -> None:
        """Trend charts with confidence bands and target lines for chosen KPIs."""
        from journeylib.charts import kpi_trend

        display.show_section(
            "Trends", f"The last {self.trend_periods} {self.period.grain}s, with 95% intervals."
        )
        table = self.kpi_table()
        for kpi in kpis:
            rows = table.filter(pl.col("kpi") == kpi)
            if rows.height and rows["available"].any():
                display.show_chart(
                    kpi_trend(rows, kpi, currency=self.currency),
                    name=f"trend-{kpi}",
                    title=f"{kpi_label(kpi)} by {self.period.grain}",
                    email=False,
                )

    def show_funnel(self) -> None:
        """The configured funnel for entries in the report period."""
        from journeylib.charts import funnel_chart

        funnels = self.journey.config.funnels
        if not funnels:
            display.show_text("The journey config defines no funnel.")
            return
        name = self.funnel_name or next(iter(funnels))
        display.show_section(
            "Funnel",
            f"Entries in {self.period.description}; window "
            f"{funnels[name].window_text} (steps may complete after the period).",
        )
        steps = self.journey.funnel(
            name, start=self.period.start, end=self.period.end, filters=self.filters
        )
        display.show_chart(funnel_chart(steps), name="funnel", title=f"Funnel '{name}'")
        in_progress = int(steps["in_progress"].sum())
        if in_progress:
            display.show_text(
                f"{in_progress:,} users are still inside their conversion window and counted as "
                "in progress, not as lost."
            )

    def show_friction(self) -> None:
        """Where the funnel loses users, the segments converting worse and the period's
        incidents with their charts (:mod:`journeylib.report._optimise_sections`)."""
        _optimise_sections.show_friction(self)

    def show_experiments(self) -> None:
        """The readout of every experiment the config declares (nothing when none)."""
        _optimise_sections.show_experiments(self)

    def show_retention(self, cohorts: int = 8) -> None:
        """Weekly (or monthly) cohort retention for the last cohorts before the period end."""
        from journeylib.charts import retention_heatmap

        grain: Grain = "month" if self.period.grain == "month" else "week"
        display.show_section(
            "Retention",
            f"Share of each {grain}'s new users active again k {grain}s later; blank cells are "
            "not fully observed yet.",
        )
        start = periods_before(self.period.end, grain, cohorts)
        matrix = self.journey.retention(
            start=start, end=self.period.end, grain=grain, max_offset=cohorts, filters=self.filters
        )
        display.show_chart(retention_heatmap(matrix), name="retention", title="Cohort retention")

    def show_channels(self, column: str = "channel") -> None:
        """Cost per conversion against conversion rate per channel, for the report period."""
        from journeylib.charts import channel_comparison

        display.show_section("Channels")
        schema = self.journey.tables["events"].collect_schema()
        if column not in schema:
            display.show_text(f"The events have no {column!r} column to compare.")
            return
        table = self.journey.kpis(
            start=self.period.start,
            end=self.period.end,
            grain=self.period.grain,
            by=column,
            filters=self.filters,
            kpis=["conversion_rate", "cost_per_conversion", "unique_visitors"],
        )
        display.show_chart(channel_comparison(table), name="channels", title="Channels")

    def show_surveys(self) -> None:
        """NPS and CSAT answer distributions in the report period."""
        from journeylib.charts import survey_distribution
        from journeylib.kpis.surveys import score_distribution

        display.show_section("Voice of the customer")
        surveys = self.journey.tables.get("surveys")
        if surveys is None:
            display.show_text(
                "No surveys table is configured: NPS, CSAT and CES are not available."
            )
            return
        scale = self.journey.config.surveys.ces
        distribution = score_distribution(
            surveys,
            start=local_bound(self.period.start, self.journey.config.timezone),
            end=local_bound(self.period.end, self.journey.config.timezone),
            ces_min=int(scale.min),
            ces_max=int(scale.max),
        ).collect()
        for survey in ("nps", "csat"):
            display.show_chart(
                survey_distribution(distribution, survey=survey),
                name=f"survey-{survey}",
                title=f"{survey.upper()} answers",
                email=False,
            )

    def quality_table(self) -> pl.DataFrame:
        """The data-quality frame, each table's source shown relative to the config."""
        return self.journey.quality.to_frame().with_columns(
            pl.col("table").replace_strict(self._source_locations(), default=None).alias("source")
        )

    def show_quality(self) -> None:
        """The data-quality summary: quarantined rows per table and rule, duplicates, notes."""
        from journeylib.charts import data_quality_panel

        display.show_section("Data quality")
        quality = self.journey.quality
        frame = self.quality_table()
        display.show_chart(
            data_quality_panel(frame), name="data-quality", title="Data quality", email=False
        )
        display.show_table(
            frame.select(
                "table",
                "source",
                "rows_read",
                "rows_kept",
                "rows_quarantined",
                "duplicates_removed",
                "rule",
                "column",
                "count",
                "examples",
            ),
            name="data-quality",
            formats={
                c: thousands
                for c in (
                    "rows_read",
                    "rows_kept",
                    "rows_quarantined",
                    "duplicates_removed",
                    "count",
                )
            },
        )
        notes = [note for table in quality.tables for note in table.notes]
        if quality.missing:
            notes.append(
                "Not configured: "
                + ", ".join(quality.missing)
                + " (their KPIs are reported as not available)."
            )
        if notes:
            display.show_text("\n\n".join(notes))

    def show_glossary(self) -> None:
        """Every KPI shown, with its definition, unit and direction, from the registry."""
        from journeylib.kpis import get_kpi, unit_words

        display.show_section("Glossary")
        shown = self.current()["kpi"].unique(maintain_order=True).to_list()
        config = self.journey.config
        rows = []
        for name in shown:
            kpi = get_kpi(name)
            doc = kpi.doc
            if kpi.direction == "config":
                scale = config.surveys.ces
                doc = f"{kpi.doc} (scale {scale.min:g}–{scale.max:g})"
            rows.append(
                {
                    "kpi": kpi_label(name),
                    "stage": kpi.stage,
                    "definition": doc,
                    "unit": unit_words(kpi.unit, currency=self.currency),
                    "better": kpi.direction_in(config),
                }
            )
        display.show_table(pl.DataFrame(rows), name="glossary", headers={"kpi": "KPI"})

    def show_run_metadata(self) -> None:
        """Parameters, data fingerprint, versions and run time: what makes the run reproducible."""
        import journeylib

        display.show_section("About this report")
        first, last = self.journey.time_range
        rows = [
            ("journey", self.journey.config.name),
            ("period", f"{self.period.start} to {self.period.end} (end excluded)"),
            *((f"parameter {k}", repr(v)) for k, v in self._shown_parameters().items()),
            *(
                (f"source of {table} (relative to the config)", location)
                for table, location in self._source_locations().items()
            ),
            ("events (validated)", f"{self._event_count():,}"),
            ("data time range (UTC)", f"{first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M}"),
            ("data content hash (sha256 of the source files)", self._content_hash()),
            ("journeylib", journeylib.__version__),
            ("polars", pl.__version__),
            ("python", platform.python_version()),
            ("generated at (UTC)", datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")),
            ("run time", f"{time.monotonic() - self.started:.1f} s"),
        ]
        display.show_table(
            pl.DataFrame(rows, schema=["item", "value"], orient="row"), name="run-metadata"
        )

    def _shown_parameters(self) -> dict[str, Any]:
        """The parameters as shown: the config by its file name, not where it was on disk."""
        shown = dict(self.parameters)
        if isinstance(shown.get("config_path"), str):
            shown["config_path"] = Path(shown["config_path"]).name
        return shown

    def _source_locations(self) -> dict[str, str]:
        """Each table's source, its path relative to the config file (never absolute)."""
        config = self.journey.config
        base = config.source_file.parent if config.source_file is not None else Path.cwd()
        shown = {}
        for table, source in config.sources.present().items():
            if source.path is None:
                shown[table] = source.location
                continue
            relative = Path(os.path.relpath(Path(source.path).resolve(), base.resolve()))
            name = relative.as_posix() if not relative.is_absolute() else relative.name
            shown[table] = (
                f"{name} ({source.table or 'query'})" if source.kind == "duckdb" else name
            )
        return shown

    def _event_count(self) -> int:
        return self.journey.tables["events"].select(pl.len()).collect().item()

    def _content_hash(self) -> str:
        digest = hashlib.sha256()
        files = []
        for source in self.journey.config.sources.present().values():
            if source.path is None:
                return "not available for database sources"
            path = Path(source.path)
            files += sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            digest.update(file.name.encode())
            with file.open("rb") as handle:
                for chunk in iter(lambda h=handle: h.read(1 << 20), b""):
                    digest.update(chunk)
        return digest.hexdigest()[:16]
