"""The checker's side of the bridge (graders/autograde/checker.py), on the host: what a learner's kernel sends
is read as data or not at all.

The two files run inside the sandbox; here they are loaded as modules (the responder does not serve without
the runner's SOCKET). Values go through the responder's pickler and the checker's DataUnpickler as they do
between the two processes; hostile pickles are written by hand, as learner code that replaced the responder's
pickler would send them.
"""

from __future__ import annotations

import datetime
import decimal
import fractions
import importlib.util
import pickle
import sys
from pathlib import Path, PurePosixPath

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from sklearn.linear_model import LinearRegression

HERE = Path(__file__).resolve().parents[2] / "graders" / "autograde"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"ts_{name}_under_test", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


checker = _load("checker")
responder = _load("responder")


def through(value):
    return checker.load_data(responder.dumps(("ok", value)), bridge=None)[1]


def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "ma": ["DV001", "DV002", None], "so": [1, 2, 3], "ty_le": [1.5, np.nan, 3.25],
        "nguyen": pd.array([1, None, 3], dtype="Int64"), "ngay": pd.to_datetime(["2023-02-09", None, "2023-12-31"]),
        "dung": [True, False, True], "loai": pd.Categorical(["a", "b", "a"]),
        "chu": pd.array(["x", None, "z"], dtype="string"),
    })  # fmt: skip


VALUES = {
    "scalars": [1, -(2**80), 1.5, float("inf"), 2j, "Hà Nội", b"\x00\xff", None, True, bytearray(b"ab")],
    "containers": {"a": [1, (2, 3)], "b": {1, 2}, "c": frozenset({"x"}), 4: range(3)},
    "numpy": [np.arange(6).reshape(2, 3), np.float64(2.5), np.int64(7), np.array(["a", "bc"]), np.bool_(True)],
    "times": [
        datetime.date(2023, 1, 2),
        datetime.datetime(2026, 12, 20, 10, tzinfo=datetime.UTC),
        pd.Timestamp(2023, 2, 9),
        pd.NaT,
        pd.Timedelta(days=2),
    ],
    "other": [Path("/tmp/x.csv"), PurePosixPath("a/b"), decimal.Decimal("1.10"), fractions.Fraction(1, 3)],
}


@pytest.mark.parametrize("name", sorted(VALUES))
def test_plain_data_comes_back_equal_and_of_the_same_type(name: str) -> None:
    value = VALUES[name]
    got = through(value)
    assert type(got) is type(value)
    assert repr(got) == repr(value)


def test_tables_come_back_equal_with_their_dtypes() -> None:
    df = frame()
    for value in (df, df["ty_le"].rename("ty le"), df.set_index(["ma", "so"]), df["loai"].value_counts(),
                  df.pivot_table(index="ma", columns="dung", values="so", aggfunc="sum")):  # fmt: skip
        got = through(value)
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(got, value)
        else:
            pd.testing.assert_series_equal(got, value)
    assert through(pd.NA) is pd.NA


def test_a_fitted_model_is_rebuilt_as_the_checker_s_own_class() -> None:
    x = np.array([[1.0, 2.0], [2.0, 1.0], [3.0, 5.0], [4.0, 2.0]])
    model = LinearRegression().fit(x, np.array([1.0, 2.0, 4.0, 3.0]))
    got = through(model)
    assert type(got) is LinearRegression
    np.testing.assert_allclose(got.predict(x), model.predict(x))


def test_functions_and_charts_stay_behind_as_handles() -> None:
    def ham(x):
        return x + 1

    fig, ax = plt.subplots()
    try:
        got_fn, got_ax, in_list = through([ham, ax, [ax]])
    finally:
        plt.close(fig)
    assert type(got_fn) is checker.Remote and type(got_ax) is checker.Remote
    assert got_fn.__class__ is checker.Remote  # a learner function is no library class
    assert isinstance(got_ax, Axes)  # a real Axes of the learner's kernel answers isinstance as one
    assert got_ax == in_list[0] and got_ax != got_fn and got_ax != 5  # identity, never a learner __eq__


def test_library_modules_and_functions_are_the_checker_s_own() -> None:
    got = through({"np": np, "ham": np.mean})
    assert got["np"] is np and got["ham"] is np.mean
    planted = type(sys)("ts_planted_module")  # as if learner code had put its own module in the way
    planted.__file__ = __file__
    sys.modules["ts_planted_module"] = planted
    try:
        for ref in (checker.LibraryRef("ts_planted_module"), checker.LibraryRef("antigravity")):
            with pytest.raises(checker.BridgeError):
                checker.resolve(ref)
    finally:
        del sys.modules["ts_planted_module"]


MARKER = "/tmp/truongso-checker-test-marker"


def _global(module: str, name: str) -> bytes:
    return f"c{module}\n{name}\n".encode()


HOSTILE = {
    "os.system": _global("os", "system") + f"(S'touch {MARKER}'\ntR.".encode(),
    "posix.system": _global("posix", "system") + f"(S'touch {MARKER}'\ntR.".encode(),
    "eval": _global("builtins", "eval") + f"(S'open({MARKER!r}, \"w\")'\ntR.".encode(),
    "getattr": _global("builtins", "getattr") + b"(" + _global("builtins", "object") + b"S'__subclasses__'\ntR.",
    "subprocess": _global("subprocess", "Popen") + f"((S'touch'\nS'{MARKER}'\nltR.".encode(),
    "read_pickle": _global("pandas", "read_pickle") + b"(S'/tmp/x.pkl'\ntR.",
    "pandas.eval": _global("pandas.core.computation.eval", "eval") + b"(S'1+1'\ntR.",
    "numpy.load": _global("numpy", "load") + b"(S'/tmp/x.npy'\ntR.",
    "partial": _global("functools", "partial") + _global("os", "system") + b"\x85R.",
    "type": _global("builtins", "type") + b"(S'X'\n)}tR.",
    "memmap": _global("numpy", "memmap") + f"(S'{MARKER}'\ntR.".encode(),
    "excel-writer": _global("pandas", "ExcelWriter") + f"(S'{MARKER}.xlsx'\ntR.".encode(),
    # a library function named by reference (persistent id) and then called by the pickle itself
    "called-reference": b"\x80\x05"
    + b"(X\x01\x00\x00\x00rX\x02\x00\x00\x00osX\x06\x00\x00\x00systemtQ"
    + f"(X{len(MARKER) + 6:c}\x00\x00\x00touch {MARKER}tR.".encode("latin-1"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_pickle_that_would_run_something_is_refused(case: str) -> None:
    Path(MARKER).unlink(missing_ok=True)
    with pytest.raises(checker.BridgeError):
        checker.load_data(HOSTILE[case], None)
    assert not Path(MARKER).exists()


def test_state_cannot_replace_a_method() -> None:
    """A DataFrame whose pickled state adds an instance attribute `equals` (a class that makes truthy objects)
    would pass `assert df.equals(expected)`: refused."""
    df = pd.DataFrame({"a": [1]})
    state = df.__getstate__()
    state["equals"] = slice
    forged = pickle.dumps(("ok", df)).replace(pickle.dumps(df.__getstate__())[2:-1], b"")  # not needed below

    class Forge:
        def __reduce__(self):
            return (pd.DataFrame, (), state)

    data = pickle.dumps(("ok", Forge()), protocol=5)
    assert forged  # the honest one loads
    with pytest.raises(checker.BridgeError, match=r"replaces DataFrame\.equals"):
        checker.load_data(data, None)


def test_remote_equality_and_order_never_ask_the_learner() -> None:
    class NoBridge:
        def ask(self, *request):
            raise AssertionError(f"asked the learner's kernel: {request[0]}")

    a, b = checker.Remote(NoBridge(), 1, None, "x.A"), checker.Remote(NoBridge(), 2, None, "x.A")
    assert a == a and a != b and a != 1 and hash(a) != hash(b)
    with pytest.raises(TypeError):
        a < b  # noqa: B015
