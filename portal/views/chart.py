"""The office's chart of SMS per day, drawn on the server as SVG geometry for a template.

Bars are the messages recorded each day (left axis); the line is the delivery rate of the
messages that have an outcome (right axis, 0-100 %), broken on days without one. Days with no
messages are drawn as empty slots, so the axis keeps its dates.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 48, 16, 40  # room for the axes' labels


@dataclass(frozen=True)
class Bar:
    day: date
    sent: int
    delivered: int
    failed: int
    rate: float | None  # delivered / (delivered + failed), None without an outcome
    x: float
    y: float
    width: float
    height: float
    label_x: float
    labelled: bool  # its date is written under the axis (every n-th day, counted from today)

    @property
    def rate_percent(self) -> int | None:
        return None if self.rate is None else round(self.rate * 100)


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float
    bars: list[Bar]
    sends_ticks: list[Tick]
    rate_ticks: list[Tick]
    rate_lines: list[str]  # SVG "x,y x,y" point lists, one per run of days with a rate
    rate_points: list[tuple[float, float]]
    total_sent: int
    total_delivered: int
    total_failed: int


def nice_ceiling(value: int) -> int:
    """The axis maximum: 1, 2, 5 or 10 times a power of ten, at least `value` (and 1)."""
    if value <= 1:
        return 1
    magnitude = 1
    while magnitude * 10 < value:
        magnitude *= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def daily_chart(days: Sequence, *, width: int = WIDTH, height: int = HEIGHT) -> Chart:
    """The geometry of the chart of `days` (notifications.selectors.DailyDelivery, oldest
    first): one bar per day, the delivery-rate line, both axes' ticks."""
    plot_w = width - LEFT - RIGHT
    plot_h = height - TOP - BOTTOM
    bottom = TOP + plot_h
    top_sends = nice_ceiling(max((day.sent for day in days), default=0))
    slot = plot_w / max(len(days), 1)
    bar_w = slot * 0.6
    label_every = max(1, -(-len(days) // 7))  # at most 7 dates, so that they never overlap

    bars = []
    for index, day in enumerate(days):
        bar_h = plot_h * day.sent / top_sends
        x = LEFT + index * slot + (slot - bar_w) / 2
        bars.append(
            Bar(
                day=day.day,
                sent=day.sent,
                delivered=day.delivered,
                failed=day.failed,
                rate=day.delivery_rate,
                x=round(x, 1),
                y=round(bottom - bar_h, 1),
                width=round(bar_w, 1),
                height=round(bar_h, 1),
                label_x=round(LEFT + index * slot + slot / 2, 1),
                labelled=(len(days) - 1 - index) % label_every == 0,
            )
        )

    lines, points, run = [], [], []
    for bar in bars:
        if bar.rate is None:
            if run:
                lines.append(" ".join(run))
            run = []
            continue
        point = (bar.label_x, round(bottom - plot_h * bar.rate, 1))
        points.append(point)
        run.append(f"{point[0]},{point[1]}")
    if run:
        lines.append(" ".join(run))

    # A middle line only where it falls on a whole number of messages.
    values = (0, top_sends // 2, top_sends) if top_sends % 2 == 0 else (0, top_sends)
    sends_ticks = [
        Tick(round(bottom - plot_h * value / top_sends, 1), str(value)) for value in values
    ]
    rate_ticks = [
        Tick(round(bottom - plot_h * fraction, 1), f"{round(fraction * 100)} %")
        for fraction in (0, 0.5, 1)
    ]
    return Chart(
        width=width,
        height=height,
        plot_left=LEFT,
        plot_right=LEFT + plot_w,
        plot_top=TOP,
        plot_bottom=bottom,
        bars=bars,
        sends_ticks=sends_ticks,
        rate_ticks=rate_ticks,
        rate_lines=lines,
        rate_points=points,
        total_sent=sum(day.sent for day in days),
        total_delivered=sum(day.delivered for day in days),
        total_failed=sum(day.failed for day in days),
    )
