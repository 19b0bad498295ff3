"""The filming diagram, drawn in code as SVG: a lifter from the side and the camera on a stand at
hip height, level, 3-4 m away, with the whole body inside its view."""

from __future__ import annotations

_INK = "#0F172A"
_MUTED = "#64748B"
_ACCENT = "#0F766E"
_BAR = "#334155"


def filming_svg(width: int = 520) -> str:
    height = round(width * 0.52)
    s = width / 520
    floor = 232

    def p(x: float, y: float) -> str:
        return f"{x * s:.1f},{y * s:.1f}"

    # lifter standing side-on (facing left), bar on the upper back
    head, neck, hip, knee, ankle, toe = (
        (405, 58),
        (405, 80),
        (402, 150),
        (406, 192),
        (402, 228),
        (386, 230),
    )
    shoulder, elbow, hand = (404, 88), (420, 96), (414, 80)
    bones = [
        (neck, hip),
        (hip, knee),
        (knee, ankle),
        (ankle, toe),
        (shoulder, elbow),
        (elbow, hand),
    ]
    lifter = "".join(
        f'<line x1="{a[0] * s:.1f}" y1="{a[1] * s:.1f}" x2="{b[0] * s:.1f}" y2="{b[1] * s:.1f}" '
        f'stroke="{_INK}" stroke-width="{7 * s:.1f}" stroke-linecap="round"/>'
        for a, b in bones
    )
    lifter += (
        f'<circle cx="{head[0] * s:.1f}" cy="{head[1] * s:.1f}" r="{13 * s:.1f}" fill="{_INK}"/>'
    )
    # barbell seen end-on: plate disc
    lifter += (
        f'<circle cx="{413 * s:.1f}" cy="{84 * s:.1f}" r="{26 * s:.1f}" fill="none" '
        f'stroke="{_BAR}" stroke-width="{5 * s:.1f}"/>'
        f'<circle cx="{413 * s:.1f}" cy="{84 * s:.1f}" r="{4 * s:.1f}" fill="{_BAR}"/>'
    )
    cam_x, cam_y = 70, hip[1]
    camera = (
        # tripod
        f'<polyline points="{p(cam_x - 22, floor)} {p(cam_x, cam_y + 10)} {p(cam_x + 22, floor)}" '
        f'fill="none" stroke="{_MUTED}" stroke-width="{3 * s:.1f}"/>'
        f'<line x1="{cam_x * s:.1f}" y1="{(cam_y + 10) * s:.1f}" x2="{cam_x * s:.1f}" '
        f'y2="{floor * s:.1f}" stroke="{_MUTED}" stroke-width="{3 * s:.1f}"/>'
        # body + lens
        f'<rect x="{(cam_x - 18) * s:.1f}" y="{(cam_y - 12) * s:.1f}" width="{36 * s:.1f}" '
        f'height="{24 * s:.1f}" rx="{4 * s:.1f}" fill="{_ACCENT}"/>'
        f'<circle cx="{(cam_x + 18) * s:.1f}" cy="{cam_y * s:.1f}" r="{7 * s:.1f}" '
        f'fill="{_ACCENT}"/>'
    )
    # field of view covering the whole body, and the level line of sight at hip height
    view = (
        f'<polygon points="{p(cam_x + 24, cam_y)} {p(450, 28)} {p(450, floor + 4)}" '
        f'fill="{_ACCENT}" fill-opacity="0.08" stroke="{_ACCENT}" stroke-opacity="0.35"/>'
        f'<line x1="{(cam_x + 24) * s:.1f}" y1="{cam_y * s:.1f}" x2="{hip[0] * s:.1f}" '
        f'y2="{cam_y * s:.1f}" stroke="{_ACCENT}" stroke-width="{2 * s:.1f}" '
        f'stroke-dasharray="{6 * s:.1f},{5 * s:.1f}"/>'
    )
    floor_line = (
        f'<line x1="{10 * s:.1f}" y1="{floor * s:.1f}" x2="{510 * s:.1f}" y2="{floor * s:.1f}" '
        f'stroke="{_MUTED}" stroke-width="{2 * s:.1f}"/>'
    )
    arrow_y = floor + 16
    distance = (
        f'<line x1="{cam_x * s:.1f}" y1="{arrow_y * s:.1f}" x2="{hip[0] * s:.1f}" '
        f'y2="{arrow_y * s:.1f}" stroke="{_MUTED}" stroke-width="{1.5 * s:.1f}" '
        f'marker-start="url(#fc-arrow)" marker-end="url(#fc-arrow)"/>'
    )
    font = f'font-family="sans-serif" font-size="{13 * s:.1f}"'
    labels = (
        f'<text x="{(cam_x + hip[0]) / 2 * s:.1f}" y="{(arrow_y - 5) * s:.1f}" {font} '
        f'fill="{_INK}" text-anchor="middle">3–4 m</text>'
        f'<text x="{(cam_x + 30) * s:.1f}" y="{(cam_y - 8) * s:.1f}" {font} fill="{_ACCENT}">'
        "camera at hip height, level</text>"
        f'<text x="{300 * s:.1f}" y="{22 * s:.1f}" {font} fill="{_INK}" text-anchor="middle">'
        "whole body in the picture</text>"
        f'<text x="{hip[0] * s:.1f}" y="{(arrow_y + 3) * s:.1f}" {font} fill="{_INK}" '
        'text-anchor="middle" dy="1em">side-on</text>'
    )
    defs = (
        '<defs><marker id="fc-arrow" viewBox="0 0 10 10" refX="5" refY="5" markerWidth="6" '
        f'markerHeight="6" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
        f'fill="{_MUTED}"/></marker></defs>'
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 30 * s:.0f}" '
        f'viewBox="0 0 {width} {height + 30 * s:.0f}" role="img" '
        'aria-label="Filming set-up: camera on a stand at hip height, level, 3 to 4 metres from '
        'the lifter, who stands side-on with the whole body in view.">'
        f"{defs}{view}{floor_line}{camera}{lifter}{distance}{labels}</svg>"
    )
