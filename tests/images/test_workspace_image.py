"""The learner image: stack, nbgrader learner extensions only, Vietnamese UI and locale, non-root."""

from __future__ import annotations

import json
import re

import pytest

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def workspace(built) -> str:
    return built.report.images["workspace"]


def test_stack_imports(workspace, run_image) -> None:
    run = run_image(workspace, ["python", "-c", "import pandas, matplotlib, sklearn, nbgrader; print('ok')"])
    assert run.status == 0 and run.stdout.strip() == "ok", run


def test_runs_as_non_root_under_tini(workspace, run_image, docker_client) -> None:
    assert docker_client.images.get(workspace).attrs["Config"]["User"] == "1000:1000"
    run = run_image(workspace, ["sh", "-c", 'id -u; id -un; echo "$HOME"; cat /proc/1/comm'])
    assert run.status == 0 and run.stdout.split() == ["1000", "hocvien", "/home/hocvien", "tini"], run


def test_singleuser_is_the_hub_version(workspace, run_image) -> None:
    run = run_image(workspace, ["jupyterhub-singleuser", "--version"])
    assert run.status == 0 and run.stdout.strip() == "6.1.1", run


def test_default_command(workspace, docker_client) -> None:
    cfg = docker_client.images.get(workspace).attrs["Config"]
    assert cfg["Cmd"] == ["jupyterhub-singleuser"]
    assert cfg["Entrypoint"] == ["tini", "-g", "--"]


def test_nbgrader_learner_extensions_only(workspace, run_image) -> None:
    run = run_image(workspace, ["sh", "-c", "jupyter labextension list 2>&1; jupyter server extension list 2>&1"])
    out = ANSI.sub("", run.stdout)
    assert run.status == 0, run
    assert re.search(r"@jupyter/nbgrader v0\.9\.6 enabled\s+OK", out), out
    disabled = out.split("Disabled extensions:", 1)[1].split("\n\n", 1)[0].split()
    for plugin in ("formgrader", "create-assignment", "course-list"):
        assert f"@jupyter/nbgrader:{plugin}" in disabled, out
    for plugin in ("assignment-list", "validate-assignment"):
        assert f"@jupyter/nbgrader:{plugin}" not in disabled, out
    for ext, state in [
        ("assignment_list", "enabled"),
        ("validate_assignment", "enabled"),
        ("formgrader", "disabled"),
        ("course_list", "disabled"),
    ]:
        assert re.search(rf"nbgrader\.server_extensions\.{ext} {state}", out), (ext, out)


def test_locale_vi_vn(workspace, run_image) -> None:
    run = run_image(
        workspace,
        ["sh", "-c", "locale -a; python -c 'import locale; print(locale.setlocale(locale.LC_ALL, \"\"))'"],
    )
    assert run.status == 0 and "vi_VN.utf8" in run.stdout.split(), run
    assert run.stdout.split()[-1] == "vi_VN.UTF-8", run
    assert not run.stderr.strip(), run


PLOT = """
import json, warnings
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib import font_manager
title = "Dân số các tỉnh: Hà Nội, Đà Nẵng, Thừa Thiên Huế — ước tính năm 2024"
sizes = {}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    for family in ("DejaVu Sans", "Noto Sans"):
        plt.rcParams["font.family"] = family
        fig, ax = plt.subplots()
        ax.bar(["Hà Nội", "Đà Nẵng", "Huế"], [8.4, 1.2, 0.7])
        ax.set_title(title)
        ax.set_ylabel("Triệu người")
        path = f"/tmp/{family.replace(' ', '_')}.png"
        fig.savefig(path)
        with open(path, "rb") as fh:
            sizes[family] = fh.read(8) == b"\\x89PNG\\r\\n\\x1a\\n"
noto = font_manager.findfont("Noto Sans", fallback_to_default=False)
print(json.dumps({"warnings": [str(w.message) for w in caught], "png": sizes, "noto": noto}))
"""


def test_vietnamese_plot_renders_without_missing_glyphs(workspace, run_image) -> None:
    run = run_image(workspace, ["python", "-c", PLOT])
    assert run.status == 0, run
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["warnings"] == [], result
    assert result["png"] == {"DejaVu Sans": True, "Noto Sans": True}, result
    assert result["noto"].startswith("/usr/share/fonts/truetype/noto/"), result
    assert "Matplotlib is building the font cache" not in run.stderr, "font cache should be prebuilt"


LAB = """
import json, subprocess, time, urllib.error, urllib.request
token = "truongso-test"
log = open("/tmp/lab.log", "w")
lab = subprocess.Popen(["jupyter", "lab", "--no-browser", "--ip=127.0.0.1", "--port=8888",
                        "--IdentityProvider.token=" + token], stdout=log, stderr=log)
def get(path):
    req = urllib.request.Request("http://127.0.0.1:8888" + path, headers={"Authorization": "token " + token})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, ""
for _ in range(240):
    try:
        if get("/api/status")[0] == 200:
            break
    except OSError:
        time.sleep(0.25)
out = {}
status, body = get("/lab/api/settings/@jupyterlab/translation-extension:plugin")
# overrides.json changes the schema's default; the user's own settings (empty) come on top.
out["settings"] = [status, json.loads(body)["schema"]["properties"]["locale"]["default"] if status == 200 else None]
status, body = get("/lab/api/translations/")
out["languages"] = [status, sorted(json.loads(body)["data"]) if status == 200 else None]
status, body = get("/lab/api/translations/vi_VN")
data = json.loads(body)["data"] if status == 200 else {}
out["jupyterlab_vi"] = [status, data.get("jupyterlab", {}).get("Settings", [""])[0]]
status, body = get("/lab")
page = json.loads(body.split('id="jupyter-config-data" type="application/json">', 1)[1].split("</script>", 1)[0])
out["disabled"] = page["disabledExtensions"]
out["locked"] = page.get("lockedExtensions")
out["formgrader"] = get("/formgrader")[0]
out["assignments"] = get("/assignments")[0]
lab.terminate()
lab.wait(20)
print(json.dumps(out))
"""


def test_lab_serves_vietnamese_and_hides_instructor_tools(workspace, run_image) -> None:
    """A real JupyterLab in the image (loopback only, no network): what a learner's browser gets."""
    run = run_image(workspace, ["python", "-c", LAB], timeout=240)
    assert run.status == 0, run
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["settings"] == [200, "vi_VN"], out
    assert out["languages"][0] == 200 and "vi_VN" in out["languages"][1], out
    assert out["jupyterlab_vi"] == [200, "Cài đặt"], out
    assert "@jupyter/nbgrader:formgrader" in out["disabled"], out
    assert "@jupyter/nbgrader:assignment-list" not in out["disabled"], out
    for plugin in ("formgrader", "create-assignment", "course-list"):  # the plugin manager cannot undo it
        assert f"@jupyter/nbgrader:{plugin}" in out["locked"], out
    assert out["formgrader"] == 404, out
    assert out["assignments"] != 404, out  # the learner's assignment list API is served
