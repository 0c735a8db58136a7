"""Chart builders: aggregated Polars frames in, Altair charts out (never displayed here).

Every builder returns an Altair chart value; whoever holds it decides how to show it. Style
comes from the one theme in :mod:`journeylib.charts._theme` (``use_theme()`` enables it).
"""

from __future__ import annotations

from journeylib._format import format_value
from journeylib.charts._theme import THEME_NAME, register_theme, use_theme
from journeylib.charts.channels import channel_comparison
from journeylib.charts.funnel import funnel_chart
from journeylib.charts.journey_map import journey_map
from journeylib.charts.optimise import experiment_chart, incident_chart
from journeylib.charts.quality import data_quality_panel
from journeylib.charts.retention import retention_heatmap
from journeylib.charts.scorecards import kpi_scorecards
from journeylib.charts.surveys import survey_distribution
from journeylib.charts.trend import kpi_trend

__all__ = [
    "THEME_NAME",
    "channel_comparison",
    "data_quality_panel",
    "experiment_chart",
    "format_value",
    "funnel_chart",
    "incident_chart",
    "journey_map",
    "kpi_scorecards",
    "kpi_trend",
    "register_theme",
    "retention_heatmap",
    "survey_distribution",
    "use_theme",
]
