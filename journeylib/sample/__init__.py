"""A seeded synthetic company with documented stories, written as a journey folder."""

from __future__ import annotations

from journeylib.sample.company import SampleResult, Story, generate_sample

__all__ = [
    "SampleResult",
    "Story",
    "generate_sample",
]
