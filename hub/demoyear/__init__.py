"""A synthetic school year for demonstrations and reports (`truongso demo year`): classes, people, timetables,
grades in the real gradebooks and certificates in the real registry, seeded and reproducible, recognisable and
removable (`truongso demo remove-year`). See load.py for the order of writes and plan.py for the shape."""

from hub.demoyear.load import LoadResult, RemoveResult, load_year, remove_year

__all__ = ["LoadResult", "RemoveResult", "load_year", "remove_year"]
