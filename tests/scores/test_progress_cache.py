"""The portal keeps the scores of many learners (an admin's view of every class: every grade of the course)
read from an SQLite gradebook while the file is unchanged (views._cached_scores): a grade given afterwards,
even within the same clock tick, shows at the next view; a kept answer is never another set of learners'."""

from __future__ import annotations

from pathlib import Path

import pytest
from score_world import COURSE_ID, CROWD, LAYOUT, add_crowd, build_gradebook

from graders import scores
from graders.scores import INDEXED_UP_TO, dispose_engines
from hub.services.portal import views

MANY = CROWD[: INDEXED_UP_TO + 50]


@pytest.fixture
def url(tmp_path: Path):
    url = build_gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}")
    add_crowd(url, MANY)
    yield url
    dispose_engines()


def test_a_new_grade_shows_at_the_next_view(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from nbgrader.api import Gradebook

    reads = []
    real = scores.assignment_scores
    monkeypatch.setattr(scores, "assignment_scores", lambda *a: reads.append(a) or real(*a))
    first = views.gradebook_scores(url, MANY, LAYOUT)
    assert views.gradebook_scores(url, MANY, LAYOUT) == first and len(reads) == 1  # unchanged file: kept
    a1, who = next(iter(LAYOUT)), MANY[0]
    for points in (1.0, 2.0):  # two commits in a row: the second within the first's clock tick, as like as not
        with Gradebook(url, course_id=COURSE_ID) as gb:
            gb.find_grade("kiem-tra-1", "bai-1", a1, who).manual_score = points
            gb.db.commit()
        after = views.gradebook_scores(url, MANY, LAYOUT)
        assert after == views.gradebook_scores(url, MANY, LAYOUT)
        assert after[(who, a1)].raw_score == real(url, [who], [a1])[who][a1].raw_score
    assert len(reads) == 3
    fewer = views.gradebook_scores(url, MANY[1:], LAYOUT)  # other learners: read, not the kept answer
    assert len(reads) == 4 and {u for u, _ in fewer} == set(MANY[1:])
    views.gradebook_scores(url, MANY[:5], LAYOUT)
    views.gradebook_scores(url, MANY[:5], LAYOUT)
    assert len(reads) == 6  # a class: read every time
