"""The Review page read as a user sees it in the browser: the headline, the metrics, the rep table
(from the table's accessible cells), the jump-to labels and the flagged-rep cards."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

#: The set's verdict line under the title (components.verdict).
HEADLINE = re.compile(
    r"^(\d+ of .+ flagged: .+|.+ looked good\.|Nothing flagged .+|No complete .+)$"
)
#: A fault's badge on a flagged-rep card: title · value (limit) · confidence.
BADGE = re.compile(r"^(?P<title>.+?) · (?P<value>-?\d+°) \(limit (?P<limit>-?\d+°)\) · \d+% sure$")
#: The review is drawn to its end (a loaded 2-core machine can be slow).
REVIEW_TIMEOUT_MS = 300_000


@dataclass(frozen=True)
class Review:
    headline: str
    metrics: dict[str, str]  # label -> value
    table: list[dict[str, str]]  # one row per rep: column heading -> cell text
    jump: list[str]  # the jump-to labels after "Start" ("Rep 1 ⚠", "Rep 2 ✓")
    cards: dict[int, list[dict[str, str]]]  # flagged rep -> its badges (title, value, limit)

    def column(self, prefix: str) -> str:
        """The table heading that starts with prefix (e.g. "Back rounding")."""
        (heading,) = [h for h in self.table[0] if h.startswith(prefix)]
        return heading

    def checks(self) -> list[str]:
        """The headings of the check columns (each names its limit)."""
        return [h for h in self.table[0] if "(limit " in h]


def wait_for_review(page: Any) -> None:
    """Until the review page has run to its end (its last section is drawn, the app is idle)."""
    page.get_by_role("heading", name="Rep by rep").wait_for(timeout=REVIEW_TIMEOUT_MS)
    page.get_by_role("heading", name="Export").wait_for(timeout=60_000)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=60_000)


def read_review(page: Any) -> Review:
    headlines = [
        t.strip()
        for t in page.locator('[data-testid="stMarkdown"]').all_inner_texts()
        if HEADLINE.match(t.strip())
    ]
    metrics = {}
    for text in page.locator('[data-testid="stMetric"]').all_inner_texts():
        label, *rest = [part for part in text.split("\n") if part.strip()]
        metrics[label] = rest[-1] if rest else ""
    grid = page.locator('[data-testid="stDataFrame"]').first
    # the grid draws its cells after the page's text: wait for its first heading and cell
    grid.locator('[role="columnheader"]').first.wait_for(state="attached", timeout=30_000)
    grid.locator('td[role="gridcell"]').first.wait_for(state="attached", timeout=30_000)
    headings = grid.locator('[role="columnheader"]').all_inner_texts()
    cells = grid.locator('td[role="gridcell"]').all_inner_texts()
    assert headings and len(cells) % len(headings) == 0, (headings, cells)
    table = [
        dict(zip(headings, cells[i : i + len(headings)], strict=True))
        for i in range(0, len(cells), len(headings))
    ]
    jump = [
        t.strip()
        for t in page.locator('[data-testid="stButtonGroup"]').first.inner_text().split("\n")
        if t.strip().startswith("Rep ")
    ]
    cards: dict[int, list[dict[str, str]]] = {}
    for heading in page.get_by_role("heading", name=re.compile(r"^Rep \d+:")).all():
        rep = int(re.findall(r"\d+", heading.inner_text())[0])
        card = heading.locator("xpath=ancestor::div[@data-testid='stVerticalBlock'][2]")
        cards[rep] = [
            m.groupdict()
            for line in card.inner_text().split("\n")
            if (m := BADGE.match(line.strip())) is not None
        ]
    assert len(headlines) == 1, headlines
    return Review(headlines[0], metrics, table, jump, cards)


def assert_agrees(review: Review) -> None:
    """Every way the review tells a rep's verdict says the same, with the same numbers."""
    table = review.table
    flagged = [int(row["Rep"]) for row in table if row["Result"].startswith("⚠")]
    assert review.metrics["Flagged"] == str(len(flagged))
    assert review.jump == [f"Rep {row['Rep']} {'⚠' if row['Result'].startswith('⚠') else '✓'}"
                           for row in table]  # fmt: skip
    assert sorted(review.cards) == flagged, "a card for every flagged rep, and only those"
    if flagged:
        assert review.headline.startswith(f"{len(flagged)} of {len(table)} reps")
    else:
        assert "flagged:" not in review.headline
    rounding = [degrees(row[review.column("Back rounding")]) for row in table]
    judged = [v for v in rounding if v is not None]
    assert review.metrics["Peak back rounding"] == (f"{max(judged)}°" if judged else "–")
    for row in table:
        rep, marked = int(row["Rep"]), []
        for heading in review.checks():
            prefix = heading.split(" (limit")[0]
            cell = row[heading]
            if cell.startswith("⚠"):
                marked.append(prefix)
            limit = degrees(heading)
            value = degrees(cell)
            if prefix in ("Back rounding", "Arching") and value is not None and limit is not None:
                past = value >= limit if cell.startswith("⚠") else value <= limit
                assert past, f"rep {rep}: {prefix} {cell} against its limit {limit}°"
        assert bool(marked) == row["Result"].startswith("⚠"), row
        badges = {b["title"]: b for b in review.cards.get(rep, [])}
        assert len(badges) == len(marked), (rep, marked, badges)
        for prefix in marked:
            cell = row[review.column(prefix)]
            same = [b for b in badges.values() if degrees(b["value"]) == degrees(cell)]
            assert same, f"rep {rep}: the table says {cell}, the card {list(badges.values())}"


def degrees(cell: str) -> int | None:
    """The whole degrees in a table cell or badge ("⚠ 30°" -> 30; "not judged", "–" -> None)."""
    m = re.search(r"(-?\d+)°", cell)
    return int(m.group(1)) if m else None
