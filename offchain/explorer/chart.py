"""The task page's chart, as inline SVG rendered on the server (no script, no front-end build):
validators' reported metric per round, mean as a line, min..max as a band."""

from __future__ import annotations

from html import escape
from typing import Any

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 36


def metric_chart(metrics: list[dict[str, Any]], *, label: str = "validators' accuracy (%)") -> str:
    """`metrics`: [{round, mean, min, max}] in basis points. Empty string when there is nothing to draw."""
    if not metrics:
        return ""
    pct = [
        {"round": m["round"], "mean": m["mean"] / 100, "min": m["min"] / 100, "max": m["max"] / 100} for m in metrics
    ]
    lo: float = min(m["min"] for m in pct)
    hi: float = max(m["max"] for m in pct)
    lo, hi = max(0.0, lo - max(2.0, (hi - lo) * 0.1)), min(100.0, hi + max(2.0, (hi - lo) * 0.1))
    rounds = [m["round"] for m in pct]
    r0, r1 = min(rounds), max(rounds)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(r: float) -> float:
        return LEFT + (plot_w / 2 if r1 == r0 else (r - r0) / (r1 - r0) * plot_w)

    def y(v: float) -> float:
        return TOP + (1 - (v - lo) / ((hi - lo) or 1)) * plot_h

    parts = [
        f'<svg id="accuracy-chart" role="img" aria-label="{escape(label)} per round" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" xmlns="http://www.w3.org/2000/svg" font-size="11" font-family="sans-serif">'
    ]
    for i in range(5):  # horizontal grid with labels
        v = lo + (hi - lo) * i / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#e3e3e3"/>'
            f'<text x="{LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end" fill="#555">{v:.1f}</text>'
        )
    step = max(1, len(rounds) // 10)
    for r in rounds[::step]:
        parts.append(f'<text x="{x(r):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" fill="#555">{r}</text>')
    parts.append(f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 4}" text-anchor="middle" fill="#333">round</text>')
    band = [f"{x(m['round']):.1f},{y(m['max']):.1f}" for m in pct] + [
        f"{x(m['round']):.1f},{y(m['min']):.1f}" for m in reversed(pct)
    ]
    parts.append(f'<polygon class="band" points="{" ".join(band)}" fill="#3b6fd433" stroke="none"/>')
    line = " ".join(f"{x(m['round']):.1f},{y(m['mean']):.1f}" for m in pct)
    parts.append(f'<polyline class="mean" points="{line}" fill="none" stroke="#3b6fd4" stroke-width="2"/>')
    for m in pct:
        parts.append(
            f'<circle class="point" cx="{x(m["round"]):.1f}" cy="{y(m["mean"]):.1f}" r="3.5" fill="#3b6fd4">'
            f"<title>round {m['round']}: mean {m['mean']:.2f}% (min {m['min']:.2f}%, max {m['max']:.2f}%)</title></circle>"
        )
    parts.append(f'<text x="{LEFT}" y="{TOP - 4}" fill="#333">{escape(label)}</text></svg>')
    return "".join(parts)
