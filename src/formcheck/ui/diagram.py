"""The filming diagram, drawn in code as SVG, in two views:

* elevation (as if standing beside the set-up): the camera on a stand at hip height, level, 3-4 m
  from the lifter, the whole body inside its view;
* plan (from above): the camera looks at the lifter's side, at right angles to where they face.
"""

from __future__ import annotations

_INK = "#0F172A"
_MUTED = "#64748B"
_ACCENT = "#0F766E"
_PLATE = "#334155"
_W, _H = 720, 300


def _line(
    x1: float, y1: float, x2: float, y2: float, colour: str, width: float, extra: str = ""
) -> str:
    return (
        f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}" '
        f'stroke-width="{width:.1f}" stroke-linecap="round" {extra}/>'
    )


def _text(x: float, y: float, text: str, colour: str = _INK, anchor: str = "middle",
          size: int = 13, weight: str = "normal") -> str:  # fmt: skip
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" fill="{colour}" text-anchor="{anchor}" '
        f'font-family="sans-serif" font-size="{size}" font-weight="{weight}">{text}</text>'
    )


def _camera(x: float, y: float, floor: float, facing: int = 1) -> str:
    """A camera on a tripod, lens pointing right (facing=1) at height y."""
    tripod = (
        f'<polyline points="{x - 20:.1f},{floor:.1f} {x:.1f},{y + 14:.1f} {x + 20:.1f},'
        f'{floor:.1f}" fill="none" stroke="{_MUTED}" stroke-width="3"/>'
        + _line(x, y + 14, x, floor, _MUTED, 3)
    )
    body = (
        f'<rect x="{x - 17:.1f}" y="{y - 12:.1f}" width="34" height="24" rx="4" fill="{_ACCENT}"/>'
        f'<rect x="{x + 17 * facing - (0 if facing > 0 else 9):.1f}" y="{y - 7:.1f}" width="9" '
        f'height="14" rx="2" fill="{_ACCENT}"/>'
    )
    return tripod + body


def _lifter_front(cx: float, floor: float) -> str:
    """A lifter seen from the front, bar on the back (plates at both ends), standing tall."""
    hip_y, shoulder_y, head_y = floor - 96, floor - 160, floor - 184
    parts = [
        _line(cx - 12, hip_y, cx - 15, floor - 4, _INK, 8),  # legs
        _line(cx + 12, hip_y, cx + 15, floor - 4, _INK, 8),
        f'<rect x="{cx - 20:.1f}" y="{shoulder_y:.1f}" width="40" height="{hip_y - shoulder_y + 6:.1f}" '
        f'rx="10" fill="{_INK}"/>',  # trunk
        f'<circle cx="{cx:.1f}" cy="{head_y:.1f}" r="13" fill="{_INK}"/>',
        _line(cx - 70, shoulder_y + 2, cx + 70, shoulder_y + 2, _PLATE, 4),  # the bar
        f'<rect x="{cx - 78:.1f}" y="{shoulder_y - 16:.1f}" width="9" height="36" rx="2" '
        f'fill="{_PLATE}"/>',
        f'<rect x="{cx + 69:.1f}" y="{shoulder_y - 16:.1f}" width="9" height="36" rx="2" '
        f'fill="{_PLATE}"/>',
        _line(cx - 20, shoulder_y + 6, cx - 34, shoulder_y + 2, _INK, 6),  # hands on the bar
        _line(cx + 20, shoulder_y + 6, cx + 34, shoulder_y + 2, _INK, 6),
    ]
    return "".join(parts)


def _elevation() -> str:
    floor, cam_x, lifter_x = 250.0, 60.0, 330.0
    hip_y = floor - 96
    edge_x = lifter_x + 12  # the picture's edges, drawn to just behind the lifter
    view = (
        f'<polygon points="{cam_x + 26:.1f},{hip_y:.1f} {edge_x:.1f},{floor - 222:.1f} '
        f'{edge_x:.1f},{floor + 12:.1f}" fill="{_ACCENT}" fill-opacity="0.08" '
        f'stroke="{_ACCENT}" stroke-opacity="0.35"/>'
    )
    sight = _line(cam_x + 26, hip_y, lifter_x - 25, hip_y, _ACCENT, 2, 'stroke-dasharray="6,5"')
    arrow_y = floor + 22
    parts = [
        view,
        _line(10, floor, 440, floor, _MUTED, 2),
        _camera(cam_x, hip_y, floor),
        _lifter_front(lifter_x, floor),
        sight,
        _line(
            cam_x,
            arrow_y,
            lifter_x,
            arrow_y,
            _MUTED,
            1.5,
            'marker-start="url(#fc-arrow)" marker-end="url(#fc-arrow)"',
        ),
        _text((cam_x + lifter_x) / 2, arrow_y - 6, "3–4 m"),
        _text(cam_x + 32, hip_y - 10, "camera at hip height, level", _ACCENT, "start", 12),
        _text(edge_x, floor - 228, "whole body in the picture", _INK, "end", 12),
        _text(220, 294, "Beside the set-up", _MUTED, "middle", 12, "bold"),
    ]
    return "".join(parts)


def _plan() -> str:
    """From above: the lifter's shoulders and bar, the way they face, and the camera looking at
    their side."""
    ox, cy = 470.0, 150.0
    lifter_x = ox + 160
    parts = [
        _text(ox + 130, 294, "From above", _MUTED, "middle", 12, "bold"),
        # camera (from above: a box with a lens pointing right)
        f'<rect x="{ox + 10:.1f}" y="{cy - 12:.1f}" width="30" height="24" rx="4" fill="{_ACCENT}"/>',
        f'<rect x="{ox + 40:.1f}" y="{cy - 6:.1f}" width="8" height="12" rx="2" fill="{_ACCENT}"/>',
        _line(ox + 50, cy, lifter_x - 80, cy, _ACCENT, 2, 'stroke-dasharray="6,5"'),
        # lifter from above, facing up the page: the bar across the shoulders, in line with the
        # camera's line of sight, so the camera sees the lifter's side
        _line(lifter_x - 70, cy, lifter_x + 70, cy, _PLATE, 4),
        f'<rect x="{lifter_x - 76:.1f}" y="{cy - 16:.1f}" width="8" height="32" rx="2" '
        f'fill="{_PLATE}"/>',
        f'<rect x="{lifter_x + 68:.1f}" y="{cy - 16:.1f}" width="8" height="32" rx="2" '
        f'fill="{_PLATE}"/>',
        f'<ellipse cx="{lifter_x:.1f}" cy="{cy:.1f}" rx="34" ry="15" fill="{_INK}"/>',
        f'<circle cx="{lifter_x:.1f}" cy="{cy - 2:.1f}" r="11" fill="#CBD5E1"/>',
        _line(lifter_x, cy - 24, lifter_x, cy - 66, _INK, 2.5, 'marker-end="url(#fc-arrow-ink)"'),
        _text(lifter_x + 10, cy - 50, "you face", _INK, "start", 12),
        _text(ox + 95, cy + 34, "camera sees", _ACCENT, "middle", 12),
        _text(ox + 95, cy + 50, "your side", _ACCENT, "middle", 12),
    ]
    return "".join(parts)


def filming_svg(width: int = 720) -> str:
    """The diagram as an SVG document, scaled to `width` pixels (it keeps its aspect)."""
    height = round(width * _H / _W)
    defs = (
        "<defs>"
        '<marker id="fc-arrow" viewBox="0 0 10 10" refX="5" refY="5" markerWidth="6" '
        f'markerHeight="6" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
        f'fill="{_MUTED}"/></marker>'
        '<marker id="fc-arrow-ink" viewBox="0 0 10 10" refX="5" refY="5" markerWidth="6" '
        f'markerHeight="6" orient="auto"><path d="M 0 0 L 10 5 L 0 10 z" fill="{_INK}"/></marker>'
        "</defs>"
    )
    divider = _line(455, 20, 455, 280, "#E2E8F0", 1.5)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {_W} {_H}" role="img" aria-label="Filming set-up: camera on a stand at '
        "hip height, level, 3 to 4 metres away, looking at the lifter's side with the whole body "
        f'in view.">{defs}{_elevation()}{divider}{_plan()}</svg>'
    )
