"""The journey config (``journey.yml``): its pydantic models, the canonical tables and roles it
maps onto, and the default stages.
"""

from __future__ import annotations

from journeylib.config.model import (
    CesScale,
    FunnelConfig,
    JourneyConfig,
    SourceConfig,
    SourcesConfig,
    StageConfig,
    SurveysConfig,
    config_from_dict,
    load_config,
)

__all__ = [
    "CesScale",
    "FunnelConfig",
    "JourneyConfig",
    "SourceConfig",
    "SourcesConfig",
    "StageConfig",
    "SurveysConfig",
    "config_from_dict",
    "load_config",
]
