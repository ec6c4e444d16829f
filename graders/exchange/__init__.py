"""nbgrader exchange classes that talk to the hub's exchange service (hub.services.exchange).

In an nbgrader_config.py::

    from graders.exchange import use_hub_exchange
    use_hub_exchange(c)
"""

from __future__ import annotations

from typing import Any

from graders.exchange.base import Exchange
from graders.exchange.instructor import ExchangeCollect, ExchangeReleaseAssignment, ExchangeReleaseFeedback
from graders.exchange.learner import ExchangeFetchAssignment, ExchangeFetchFeedback, ExchangeList, ExchangeSubmit

__all__ = [
    "Exchange",
    "ExchangeCollect",
    "ExchangeFetchAssignment",
    "ExchangeFetchFeedback",
    "ExchangeList",
    "ExchangeReleaseAssignment",
    "ExchangeReleaseFeedback",
    "ExchangeSubmit",
    "use_hub_exchange",
]

OPERATIONS = {
    "exchange": "Exchange",
    "fetch_assignment": "ExchangeFetchAssignment",
    "fetch_feedback": "ExchangeFetchFeedback",
    "release_assignment": "ExchangeReleaseAssignment",
    "release_feedback": "ExchangeReleaseFeedback",
    "list": "ExchangeList",
    "submit": "ExchangeSubmit",
    "collect": "ExchangeCollect",
}


def use_hub_exchange(c: Any) -> None:
    """Point every nbgrader exchange operation at our classes (nbgrader's ExchangeFactory plugin point)."""
    for trait, cls in OPERATIONS.items():
        setattr(c.ExchangeFactory, trait, f"graders.exchange.{cls}")
