"""journeylib: customer-journey KPI reporting on Polars, Altair, Papermill and Voila.

>>> import journeylib
>>> journey = journeylib.load("data/sample/journey.yml")  # doctest: +SKIP
>>> journey.kpis(grain="week")  # doctest: +SKIP
"""

from __future__ import annotations

from journeylib.config import JourneyConfig, config_from_dict, load_config
from journeylib.errors import ConfigError, DataError, JourneyError, SchemaError, SourceError
from journeylib.journey import Journey, load

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DataError",
    "Journey",
    "JourneyConfig",
    "JourneyError",
    "SchemaError",
    "SourceError",
    "__version__",
    "config_from_dict",
    "load",
    "load_config",
]
