"""The pieces that decide what the host accepts, without Docker: frames, schema, sanitising, transactions."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path

import pytest

from graders.autograde.findings import KINDS, Finding
from graders.autograde.gradebook import open_gradebook, transaction
from graders.autograde.results import InvalidResult, safe_output, validate_result
from graders.autograde.runner import clean, read_job
from graders.autograde.sandbox import MARKER, SandboxSpec, container_options, parse_frame
from graders.autograde.sanitize import clean_html, clean_markdown, clean_output, svg_is_safe
from graders.autograde.scan import scan_source

KEY = b"k" * 32


def frame(payload: bytes, key: bytes = KEY) -> bytes:
    mac = hmac.new(key, payload, hashlib.sha256).hexdigest().encode()
    return b"\n" + MARKER + b" " + mac + b" " + str(len(payload)).encode() + b"\n" + payload + b"\n"


def test_frame_is_accepted_only_with_the_key() -> None:
    assert parse_frame(frame(b'{"a": 1}'), KEY) == ({"a": 1}, "", False)
    result, problem, _ = parse_frame(frame(b'{"a": 1}', b"x" * 32), KEY)
    assert result is None and "signature" in problem
    result, problem, _ = parse_frame(frame(b'{"a": 1}')[:-5], KEY)
    assert result is None and "truncated" in problem
    result, _, foreign = parse_frame(b"noise" + frame(b"{}"), KEY)
    assert result == {} and foreign
    assert parse_frame(b"", KEY)[0] is None


def good_result() -> tuple[dict, dict]:
    job = {"notebooks": [{"name": "nb", "cells": [{"i": 2, "src": "x", "test": True}]}]}
    result = {
        "protocol": 2, "warm_seconds": 1.0, "elapsed": 0.5,
        "notebooks": [{
            "name": "nb", "status": "completed", "detail": "", "language_info": {"name": "python"},
            "cells": [{"i": 2, "status": "ok", "execution_count": 1, "truncated": False, "check_before": 0,
                       "check_after": 1, "checker": {"status": "ok", "findings": []}, "outputs": [
                           {"output_type": "stream", "name": "stdout", "text": "hi"},
                           {"output_type": "execute_result", "execution_count": 1, "metadata": {"x": 1},
                            "data": {"text/plain": "1", "image/png": "AAA"}}]}],
            "checks": [{"pos": p, "status": "error", "canary": True, "report": True, "findings": []} for p in (0, 1)],
            "events": [], "limits": {"oom_kills": 0, "memory_max": 0, "pids_max": 0},
        }],
    }  # fmt: skip
    return job, result


def test_a_well_formed_result_is_accepted() -> None:
    job, result = good_result()
    assert validate_result(result, job) is result


@pytest.mark.parametrize(
    "damage",
    [
        lambda r: r.update(extra=1),
        lambda r: r.update(protocol=1),
        lambda r: r["notebooks"][0]["cells"][0]["checker"].update(verdict="pass"),
        lambda r: r["notebooks"][0].update(name="other"),
        lambda r: r["notebooks"][0]["cells"][0].update(i=3),
        lambda r: r["notebooks"][0]["cells"][0].update(check_after=7),
        lambda r: r["notebooks"][0]["cells"][0]["outputs"].append({"output_type": "stream", "name": "x", "text": ""}),
        lambda r: r["notebooks"][0]["cells"][0]["outputs"].append({"output_type": "pickle", "data": "gASV"}),
        lambda r: r["notebooks"][0]["cells"][0]["outputs"][0].update(source="print(1)"),  # never cell sources
        lambda r: r["notebooks"][0]["cells"][0].update(metadata={"nbgrader": {"grade": False}}),
        lambda r: r["notebooks"][0]["cells"][0]["outputs"][1]["data"].update({"not a mime": "x"}),
        lambda r: r["notebooks"][0].update(cells=[]),
    ],
)
def test_anything_off_schema_or_off_job_is_rejected(damage) -> None:
    job, result = good_result()
    damage(result)
    with pytest.raises(InvalidResult):
        validate_result(result, job)


def test_only_display_keys_of_outputs_are_kept() -> None:
    out = safe_output({"output_type": "display_data", "data": {"image/png": "A"},
                       "metadata": {"image/png": {"width": 3, "onload": "x"}, "isolated": True}})  # fmt: skip
    assert out == {"output_type": "display_data", "data": {"image/png": "A"}, "metadata": {"image/png": {"width": 3}}}


def test_html_keeps_tables_and_loses_scripts() -> None:
    html = (
        '<div><style>.x{background:url(http://evil)}</style><table class="dataframe"><tr><td>1</td></tr></table>'
        '<script>alert(1)</script><img src=x onerror=alert(2)><a href="jav&#x61;script:alert(3)">a</a></div>'
    )
    cleaned = clean_html(html)
    assert "<table" in cleaned and "<td>1</td>" in cleaned
    for bad in ("<script", "onerror", "javascript", "url(", "alert(1)"):
        assert bad not in cleaned.lower(), bad


def test_markdown_stays_markdown() -> None:
    md = "> *English:* **đậm** | a | b |\n|---|---|\nx < 5 & y\n<b>hi</b> [l](https://example.org)"
    assert clean_markdown(md) == md  # markdown that renders clean is kept as written
    # With active parts it becomes its cleaned rendering (issue 10: sanitise what nbconvert renders).
    active = md.replace("<b>", '<b onclick="x()">').replace("https://example.org", "javascript:alert(1)")
    cleaned = clean_markdown(active)
    assert "<strong>đậm</strong>" in cleaned and "<b>hi</b>" in cleaned
    assert "javascript" not in cleaned and "onclick" not in cleaned


def test_active_outputs_are_dropped() -> None:
    out, active = clean_output({"output_type": "display_data", "metadata": {},
                                "data": {"application/javascript": "alert(1)", "text/plain": "x"}})  # fmt: skip
    assert active and out["data"] == {"text/plain": "x"}
    assert svg_is_safe('<svg xmlns="http://www.w3.org/2000/svg"><path d="M0 0"/></svg>')
    assert not svg_is_safe('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    assert not svg_is_safe('<svg xmlns="http://www.w3.org/2000/svg"><a href="javascript:x"/></svg>')
    assert not svg_is_safe("<svg")


def test_static_scan() -> None:
    assert scan_source("import pandas as pd\ndf = pd.read_csv('data/x.csv')\ndf.head()") == []
    found = scan_source(
        "import os, math\nmath.isclose = lambda *a: True\nget_ipython().showtraceback = None\nos._exit(0)"
    )
    assert {"assigns math.isclose", "showtraceback", "os._exit()", "get_ipython()"} <= set(found)
    assert scan_source("%matplotlib inline\nx = (") == []  # magics dropped, syntax errors ignored


def test_runner_job_framing(tmp_path: Path) -> None:
    r, w = os.pipe()
    payload = json.dumps({"notebooks": []}).encode()
    os.write(w, b"TS-JOB %d\n" % len(payload) + payload)
    assert read_job(r, 5, 1 << 20) == {"notebooks": []}
    os.write(w, b"TS-JOB 999999999\n")
    assert read_job(r, 5, 1 << 20) is None  # larger than allowed
    os.close(w)
    assert read_job(r, 5, 1 << 20) is None  # the host went away: EOF
    os.close(r)


def test_runner_replaces_lone_surrogates() -> None:
    state = {"non_utf8": False}
    assert clean({"a": ["ok \udcff"]}, state) == {"a": ["ok \ufffd"]} and state["non_utf8"]


def test_every_finding_is_bilingual() -> None:
    for kind, (severity, text) in KINDS.items():
        assert severity in ("tamper", "limit", "restored", "active", "info"), kind
        assert text.vi and text.en and text.vi != text.en, kind
    assert Finding("always_equal", "nb", "kt1", "X.__eq__").line().startswith("nb/kt1: ")


def test_container_isolation_options() -> None:
    opts = container_options(SandboxSpec(image="img", name_prefix="p"), "p-1")
    assert opts["network_mode"] == "none" and opts["read_only"] and opts["user"] == "1001:1001"
    assert opts["cap_drop"] == ["ALL"] and "no-new-privileges" in opts["security_opt"]
    assert opts["mem_limit"] == opts["memswap_limit"] and opts["pids_limit"] and opts["nano_cpus"]
    assert set(opts["tmpfs"]) == {"/tmp", "/home/grader/work"} and "volumes" not in opts and "mounts" not in opts
    assert opts["log_config"]["Type"] == "none"


def _gradebook(tmp_path: Path):
    gb = open_gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}", "c")
    gb.add_assignment("a")
    gb.add_notebook("nb", "a")
    gb.add_grade_cell("t", "nb", "a", max_score=2, cell_type="code")
    gb.add_source_cell("t", "nb", "a", cell_type="code", source="assert True", locked=True, checksum="x")
    return gb


def test_a_submission_is_written_in_one_transaction(tmp_path: Path) -> None:
    gb = _gradebook(tmp_path)
    with pytest.raises(RuntimeError), transaction(gb):
        gb.update_or_create_student("hv1")  # nbgrader commits inside: we only flush
        gb.update_or_create_submission("a", "hv1")
        gb.find_grade("t", "nb", "a", "hv1").auto_score = 2
        raise RuntimeError("killed half-way")
    assert [s.id for s in gb.students] == []
    with transaction(gb):
        gb.update_or_create_student("hv1")
        gb.update_or_create_submission("a", "hv1")
        gb.find_grade("t", "nb", "a", "hv1").auto_score = 2
    gb.close()
    gb = open_gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}", "c")
    assert gb.find_submission("a", "hv1").score == 2
    gb.close()


@pytest.mark.parametrize(("status", "oom_kills", "memory_max", "expected"), [
    ("died", 1, 5, ["out_of_memory"]),
    ("unresponsive", 1, 5, ["out_of_memory"]),  # stalled in memory reclaim, then killed: the same cause (issue 10)
    ("unresponsive", 0, 5, ["out_of_memory"]),  # stalled in reclaim and given up before the OOM killer came
    ("unresponsive", 0, 0, ["unresponsive"]),
    ("died", 0, 0, ["kernel_died"]),
    ("died", 0, 5, ["kernel_died"]),  # at the limit once, but nothing was killed for memory
])  # fmt: skip
def test_a_kernel_stopped_by_memory_has_one_finding_however_it_stopped(status, oom_kills, memory_max, expected) -> None:
    import nbformat

    from graders.autograde.finish import interpret
    from graders.autograde.prepare import NotebookContext, PreparedNotebook, Submission
    from graders.autograde.sandbox import SandboxOutcome

    job, result = good_result()
    nb_result = result["notebooks"][0]
    nb_result["cells"][0].update(status=status, outputs=[])
    nb_result["limits"].update(oom_kills=oom_kills, memory_max=memory_max)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"x{i}") for i in range(3)])
    nb.cells[2].metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "t", "points": 1}
    prepared = PreparedNotebook("nb", nb, NotebookContext("nb"), job["notebooks"][0]["cells"])
    sub = Submission("an", Path("."), notebooks=[prepared])
    interpret(sub, SandboxOutcome(result=result), job)
    assert [(f.kind, f.cell) for f in prepared.ctx.findings] == [(kind, "t") for kind in expected]
    assert prepared.ctx.verdicts[2]["ename"] == "TruongSoNotRun"
