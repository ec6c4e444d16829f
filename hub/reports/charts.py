"""Server-side charts as inline SVG strings (matplotlib, no JavaScript: the portal's pages run none).

Made for paper as much as for screens: every series has a hatch as well as a colour, values are written on the
bars, axes carry labels. The output is deterministic (fixed hash salt derived from the chart's own inputs, no date
in the metadata), so the same figures give byte-identical SVG, and text stays text (escaped by matplotlib's XML
writer, searchable, small). Thread-safe: each chart draws on its own `Figure`, never through pyplot's global state.
"""

from __future__ import annotations

import hashlib
import html
import io
import re
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")  # no display in a service; harmless if already set

from matplotlib import dates as mdates
from matplotlib import rc_context
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

# Colours that stay distinct in grey print, each paired with a hatch so no meaning rests on colour alone.
COLOURS = ("#0b5cad", "#e07b00", "#107c41", "#7a3e9d", "#a4262c", "#5f6b7a")
HATCHES = ("", "//", "..", "xx", "\\\\", "--")
MAX_LABEL = 40  # characters shown of a category label; longer names are cut with an ellipsis

_RC = {
    "svg.fonttype": "none",  # text as <text>, not paths: smaller, selectable, escaped
    "font.family": "DejaVu Sans",  # has every Vietnamese diacritic
    "font.size": 9,
    "text.parse_math": False,  # a "$" in a unit's name is a dollar sign, not TeX
    "axes.spines.top": False,
    "axes.spines.right": False,
    "hatch.linewidth": 0.6,
}


def _salt(*parts: object) -> str:
    """A per-chart hash salt: same inputs, same ids; different charts on one page, different ids."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def _short(label: str) -> str:
    label = " ".join(str(label).split())
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _render(fig: Figure, title: str, salt: str) -> str:
    buffer = io.StringIO()
    with rc_context({**_RC, "svg.hashsalt": salt}):
        FigureCanvasSVG(fig).print_svg(buffer, metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]  # drop the XML prolog and DOCTYPE: the string goes inside an HTML page
    # matplotlib numbers its groups (figure_1, axes_1…) per drawing: prefix every id, and every reference to one,
    # with this chart's salt so that several charts in one page keep unique ids
    svg = re.sub(r'(id="|url\(#|href="#)([^")]+)', lambda m: f"{m.group(1)}c{salt[:8]}-{m.group(2)}", svg)
    label = html.escape(title, quote=True)
    return svg.replace("<svg ", f'<svg class="chart" role="img" aria-label="{label}" ', 1)


def _figure(width: float, height: float) -> Figure:
    with rc_context(_RC):
        return Figure(figsize=(width, height), layout="constrained")


def _no_data(ax) -> None:
    ax.text(0.5, 0.5, "Không có dữ liệu / No data", ha="center", va="center", transform=ax.transAxes, color="#5f6b7a")
    ax.set_xticks([])
    ax.set_yticks([])


def bar_chart(
    labels: list[str],
    series: dict[str, list[float]],
    title: str,
    y_label: str = "",
    horizontal: bool | None = None,
) -> str:
    """Bars for each label, one bar per series (grouped when there are several), the value written on each bar.

    By default many or long labels turn the chart on its side (horizontal bars) so names stay readable;
    `horizontal` decides it instead (months read better upright)."""
    labels = [_short(label) for label in labels]
    names = list(series)
    for name in names:
        if len(series[name]) != len(labels):
            raise ValueError(f"series {name!r} has {len(series[name])} values for {len(labels)} labels")
    if horizontal is None:
        horizontal = len(labels) > 8 or any(len(label) > 14 for label in labels)
    with rc_context(_RC):
        if horizontal:
            fig = _figure(7.2, max(2.4, 0.9 + 0.28 * len(labels) * max(1, len(names))))
        else:
            fig = _figure(min(9.6, max(4.8, 1.0 + 0.9 * len(labels) * max(1, len(names)) ** 0.5)), 3.2)
        ax = fig.add_subplot()
        ax.set_title(title)
        if not labels or not names:
            _no_data(ax)
        else:
            width = 0.8 / len(names)
            positions = range(len(labels))
            for index, name in enumerate(names):
                offsets = [p - 0.4 + width * (index + 0.5) for p in positions]
                style = {
                    "color": COLOURS[index % len(COLOURS)],
                    "hatch": HATCHES[index % len(HATCHES)],
                    "edgecolor": "#1d2733",
                    "linewidth": 0.4,
                    "label": name,
                }
                values = [float(v) for v in series[name]]
                bars = (
                    ax.barh(offsets, values, width, **style) if horizontal else ax.bar(offsets, values, width, **style)
                )
                ax.bar_label(bars, labels=[_number(v) for v in values], padding=2, fontsize=7.5)
            if horizontal:
                ax.set_yticks(list(positions), labels)
                ax.invert_yaxis()  # first label on top, as in the table beside it
                ax.set_xlabel(y_label)
                ax.margins(x=0.12)
            else:
                ax.set_xticks(
                    list(positions),
                    labels,
                    rotation=30 if len(labels) > 5 else 0,
                    ha="right" if len(labels) > 5 else "center",
                )
                ax.set_ylabel(y_label)
                ax.margins(y=0.12)
            if len(names) > 1:
                ax.legend(fontsize=8, frameon=False)
        return _render(fig, title, _salt("bar", labels, series, title, y_label, horizontal))


def histogram(
    values: list[float],
    bins: list[float],
    title: str,
    x_label: str,
    marker: float | None = None,
    marker_label: str = "",
) -> str:
    """How many values fall in each bin (counts written on the bars); `marker` draws a vertical dashed line with
    its value and `marker_label` beside it, e.g. the pass mark ("Điểm đạt / Pass mark")."""
    if len(bins) < 2 or list(bins) != sorted(bins):
        raise ValueError("bins must be at least two increasing edges")
    with rc_context(_RC):
        fig = _figure(6.0, 3.0)
        ax = fig.add_subplot()
        ax.set_title(title)
        counts, _edges, bars = ax.hist(
            [float(v) for v in values], bins=list(bins), color=COLOURS[0], edgecolor="#1d2733", linewidth=0.4
        )
        ax.bar_label(bars, labels=[_number(c) if c else "" for c in counts], padding=2, fontsize=7.5)
        ax.set_xlabel(x_label)
        ax.set_ylabel("Số người / Count")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlim(bins[0], bins[-1])
        ax.margins(y=0.15)
        if marker is not None:
            ax.axvline(marker, color="#a4262c", linestyle="--", linewidth=1.2)
            ax.annotate(
                f"{marker_label} {_number(marker)}".strip(),
                xy=(marker, 1),
                xycoords=("data", "axes fraction"),
                xytext=(3, -2),
                textcoords="offset points",
                va="top",
                color="#a4262c",
                fontsize=8,
            )
        if not values:
            ax.text(0.5, 0.5, "Không có dữ liệu / No data", ha="center", va="center", transform=ax.transAxes)
        return _render(fig, title, _salt("hist", values, bins, title, x_label, marker, marker_label))


def timeline(times: Sequence[datetime], deadline: datetime | None, title: str, zone: str) -> str:
    """Submissions over time: the cumulative count as a step line, the deadline as a labelled dashed line, both
    in the school's time zone; how many came after the deadline is written on the chart."""
    tz = ZoneInfo(zone)
    local = sorted(t.astimezone(tz) for t in times)
    with rc_context(_RC):
        fig = _figure(6.4, 3.0)
        ax = fig.add_subplot()
        ax.set_title(title)
        if not local:
            _no_data(ax)
        else:
            counts = list(range(1, len(local) + 1))
            ax.step(local, counts, where="post", color=COLOURS[0], linewidth=1.6)
            ax.plot(local, counts, linestyle="none", marker="o", markersize=2.5, color=COLOURS[0])
            ax.set_ylabel("Đã nộp (cộng dồn)\nSubmitted (cumulative)")
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_ylim(0, len(local) * 1.15 + 0.5)
            locator = mdates.AutoDateLocator(tz=tz, minticks=3, maxticks=9)
            ax.xaxis.set_major_locator(locator)
            ax.xaxis.set_major_formatter(mdates.DateFormatter("%d/%m %H:%M", tz=tz))
            for label in ax.get_xticklabels():
                label.set_rotation(20)
                label.set_horizontalalignment("right")
            ax.set_xlabel(f"Thời gian ({zone}) / Time")
        if deadline is not None:
            when = deadline.astimezone(tz)
            ax.axvline(when, color="#a4262c", linestyle="--", linewidth=1.2)
            late = sum(1 for t in local if t > when)
            ax.annotate(
                f"Hạn nộp / Deadline {when:%d/%m %H:%M}\nNộp muộn / Late: {late}",
                xy=(mdates.date2num(when), 1),
                xycoords=("data", "axes fraction"),
                xytext=(-4, -2),
                textcoords="offset points",
                ha="right",
                va="top",
                color="#a4262c",
                fontsize=8,
            )
            if local:
                lo, hi = min(local[0], when), max(local[-1], when)
                pad = (hi - lo) * 0.05 or (hi - lo).__class__(hours=1)
                ax.set_xlim(lo - pad, hi + pad)
        return _render(fig, title, _salt("timeline", [t.isoformat() for t in local], deadline, title, zone))
