"""analyze-historical-data: compare new percentiles with origin's current file (DESIGN §7).

Mirrors ci-tools `pkg/jobrunaggregator/jobrunhistoricaldataanalyzer`: rows are matched per key (name, Release,
FromRelease, Platform, Architecture, Network, Topology, plus MasterNodesUpdated when both sides have it); a P99
that rose by more than the leeway percent is an increase, any P99 that fell is a decrease, and keys present on
one side only are added or missing. The new rows of the compared release become the output file.

Release switch: the new data is compared for the target release when the current file already holds that
release, or when the new data has at least 60% as many target-release rows as the current file has rows of its
release; otherwise for the previous release. When the compared release differs from the current file's
release (a switch), the current rows are shifted to it (4.12 from 4.11 is compared with 4.13 from 4.12), so the
report shows how the variants moved instead of every key as added and missing.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from job_run_aggregator.errors import ConfigError, InputError
from job_run_aggregator.model import Release, format_seconds, release_order
from job_run_aggregator.history.results_file import (
    ALERT_SCOPE_COLUMNS,
    MASTER_NODES_UPDATED,
    check_row,
    name_column,
    percentile_value,
    sort_key,
)
from job_run_aggregator.model import VARIANT_COLUMNS

# The Go tool's --leeway default: P99 may grow by 30% before a reviewer has to look.
DEFAULT_LEEWAY_PERCENT = 30.0
RELEASE_SWITCH_SHARE = 0.6
# Sections list at most this many rows, and the whole report stays under GitHub's 65 536-character body limit.
DEFAULT_MAX_ROWS = 50
DEFAULT_MAX_CHARS = 60_000
_HEADER = (
    "| Name | Release | From | Arch | Network | Platform | Topology | Job Results "
    "| P95 | P95 % change | P99 | P99 % change |\n"
    "|---|---|---|---|---|---|---|---:|---:|---:|---:|---:|\n"
)


@dataclass(frozen=True, slots=True)
class Change:
    """One key's new row and values, with the current values it was compared with.

    For a missing key, `row`, `p95` and `p99` are the current row's and the previous values are None.
    """

    key: str
    row: Mapping[str, object]
    p95: float
    p99: float
    previous_p95: float | None = None
    previous_p99: float | None = None

    @property
    def p95_change(self) -> float | None:
        """Percent change of P95 (infinite when it rose from zero), None without a previous value."""
        return _percent_change(self.previous_p95, self.p95)

    @property
    def p99_change(self) -> float | None:
        """Percent change of P99 (infinite when it rose from zero), None without a previous value."""
        return _percent_change(self.previous_p99, self.p99)

    @property
    def p99_delta(self) -> float:
        """P99 seconds gained (negative: lost) against the current value."""
        return self.p99 - (self.previous_p99 or 0.0)


@dataclass(frozen=True, slots=True)
class Comparison:
    """What analyze-historical-data found; `output_rows` are the new rows to write for `release`."""

    name_column: str
    leeway: float
    target_release: str
    previous_release: str
    release: str  # the release compared and written
    current_release: str | None  # the current file's release it was compared with
    target_rows: int  # new rows of the target release
    current_rows: int  # current rows of the release the target would be compared with
    increases: tuple[Change, ...]  # P99 up by more than the leeway
    decreases: tuple[Change, ...]
    added: tuple[Change, ...]
    missing: tuple[Change, ...]
    within_leeway: int  # P99 up by at most the leeway
    unchanged: int
    ignored_rows: int  # new rows of other releases
    output_rows: tuple[Mapping[str, object], ...]

    @property
    def is_release_switch(self) -> bool:
        return self.current_release is not None and self.release != self.current_release


def compare(
    current_rows: Sequence[Mapping[str, object]],
    new_rows: Sequence[Mapping[str, object]],
    leeway: float = DEFAULT_LEEWAY_PERCENT,
    target_release: str | None = None,
    previous_release: str | None = None,
) -> Comparison:
    """Compare new percentile rows with the current file's rows, applying the release switch rule.

    Args:
        leeway: percent a P99 may rise before it counts as an increase.
        target_release: the release to write; default the newest release in either data set.
        previous_release: the fallback when the target has too little data; default the newest release
            below the target in either data set, else the target's minor version minus one.

    Raises:
        ConfigError: a negative or non-finite leeway.
        InputError: a malformed row, rows of different kinds (backends vs alerts), or a key given twice.
    """
    if not math.isfinite(leeway) or leeway < 0:
        raise ConfigError(f"leeway {leeway} is not a percentage ≥ 0; pass e.g. --leeway {DEFAULT_LEEWAY_PERCENT:g}")
    name = _common_name_column(current_rows, new_rows)
    current_counts = Counter(str(row["Release"]) for row in current_rows)
    new_counts = Counter(str(row["Release"]) for row in new_rows)
    target, previous = _target_and_previous(current_counts, new_counts, target_release, previous_release)
    target_basis = _basis_release(current_counts, target)
    release = target if _has_enough_target_rows(current_counts, new_counts, target) else previous
    basis = _basis_release(current_counts, release)

    compared_new = [row for row in new_rows if row["Release"] == release]
    compared_current = [row for row in current_rows if basis is not None and row["Release"] == basis]
    with_masters = _both_have(MASTER_NODES_UPDATED, compared_new, compared_current)
    # Alert rows keyed by namespace and level too (a3, a4) when both sides carry them.
    with_scope = _both_have(ALERT_SCOPE_COLUMNS[0], compared_new, compared_current)
    new_by_key = _by_key(((row, row) for row in compared_new), name, with_masters, "new", with_scope)
    current_by_key = _by_key(
        ((row, _shifted_row(row, basis, release)) for row in compared_current), name, with_masters, "current",
        with_scope,
    )

    increases: list[Change] = []
    decreases: list[Change] = []
    added: list[Change] = []
    within_leeway = unchanged = 0
    for key, row in new_by_key.items():
        p95, p99 = percentile_value(row["P95"]), percentile_value(row["P99"])
        current = current_by_key.get(key)
        if current is None:
            added.append(Change(sort_key(row), row, p95, p99))
            continue
        change = Change(
            sort_key(row), row, p95, p99, percentile_value(current["P95"]), percentile_value(current["P99"])
        )
        previous_p99 = change.previous_p99 or 0.0
        # Two renderings of one value ("0.77999999999999536" vs "0.78") are not a change.
        if math.isclose(p99, previous_p99, rel_tol=1e-12, abs_tol=1e-9):
            unchanged += 1
        elif p99 < previous_p99:
            decreases.append(change)
        elif (change.p99_change or 0.0) > leeway:
            increases.append(change)
        else:
            within_leeway += 1
    missing = [
        Change(sort_key(original), original, percentile_value(original["P95"]), percentile_value(original["P99"]))
        for key, original in current_by_key.items()
        if key not in new_by_key
    ]

    return Comparison(
        name_column=name,
        leeway=leeway,
        target_release=target,
        previous_release=previous,
        release=release,
        current_release=basis,
        target_rows=new_counts[target],
        current_rows=current_counts[target_basis] if target_basis is not None else 0,
        increases=tuple(sorted(increases, key=lambda c: (-c.p99_delta, c.key))),
        decreases=tuple(sorted(decreases, key=lambda c: (c.p99_delta, c.key))),
        added=tuple(sorted(added, key=lambda c: (-c.p99, c.key))),
        missing=tuple(sorted(missing, key=lambda c: (-c.p99, c.key))),
        within_leeway=within_leeway,
        unchanged=unchanged,
        ignored_rows=len(new_rows) - len(compared_new),
        output_rows=tuple(compared_new),
    )


@dataclass(frozen=True, slots=True)
class ReleaseComparisons:
    """One comparison per release of a file that holds several (origin's newest files hold two)."""

    comparisons: tuple[Comparison, ...]

    @property
    def output_rows(self) -> tuple[Mapping[str, object], ...]:
        return tuple(row for c in self.comparisons for row in c.output_rows)


def compare_releases(
    current_rows: Sequence[Mapping[str, object]],
    new_rows: Sequence[Mapping[str, object]],
    releases: Sequence[str],
    leeway: float = DEFAULT_LEEWAY_PERCENT,
) -> ReleaseComparisons:
    """Compare each of `releases` on its own: its new rows with the current rows of the same release (or, when
    the current file lacks it, of the newest older release, shifted as in a release switch).

    Raises:
        ConfigError: no release given, or a bad leeway.
        InputError: as `compare`.
    """
    if not releases:
        raise ConfigError("no release to compare: give at least one --release")
    results = []
    for release in dict.fromkeys(releases):
        # The release is written whatever its row count: a file of several releases keeps each of them.
        results.append(compare(current_rows, new_rows, leeway, target_release=release, previous_release=release))
    return ReleaseComparisons(tuple(results))


def render_releases_markdown(result: ReleaseComparisons, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """Render one report per release, each under a heading naming it; the whole stays within `max_chars`."""
    if len(result.comparisons) == 1:
        return render_markdown(result.comparisons[0], max_chars=max_chars)
    share = max_chars // len(result.comparisons) - 40
    parts = []
    for c in result.comparisons:
        parts.append(f"### {_kind(c)} {c.release}\n\n{render_markdown(c, max_chars=share, label_release=True)}")
    return "\n".join(parts)


def needs_review_any(result: ReleaseComparisons) -> bool:
    """Tell whether any release's comparison needs a person to look."""
    return any(needs_review(c) for c in result.comparisons)


def needs_review(comparison: Comparison) -> bool:
    """Tell whether a person must look: a P99 rose beyond the leeway, or a key lost its data."""
    return bool(comparison.increases or comparison.missing)


def render_markdown(
    comparison: Comparison,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_chars: int = DEFAULT_MAX_CHARS,
    label_release: bool = False,
) -> str:
    """Render the comparison as a pull-request message: a summary line, then a collapsible table per section.

    Each section lists at most `max_rows` rows (the largest changes first); fewer when needed to keep the
    message within `max_chars`. The output file holds every row. `label_release` names the release in every
    section title (for reports that cover several releases).
    """
    rows = max(max_rows, 0)
    while True:
        text = _markdown(comparison, rows, label_release)
        if len(text) <= max_chars or rows == 0:
            return text
        rows //= 2


def _kind(comparison: Comparison) -> str:
    return "Alert" if comparison.name_column == "AlertName" else "Backend disruption"


def _markdown(comparison: Comparison, max_rows: int, label_release: bool = False) -> str:
    c = comparison
    kind = _kind(c)
    verdict = "review needed" if needs_review(c) else "no review needed"
    summary = (
        f"**{kind}** historical data for **{c.release}** (P99 leeway {c.leeway:g}%): "
        f"{_count(len(c.increases), 'P99 increase')} over leeway, {_count(len(c.decreases), 'P99 decrease')}, "
        f"{len(c.added)} added, {len(c.missing)} missing, "
        f"{_count(c.within_leeway, 'increase')} within leeway, {c.unchanged} unchanged — **{verdict}**.\n"
    )
    parts = [summary]
    share = f"{RELEASE_SWITCH_SHARE:.0%}"
    if c.release != c.target_release:
        parts.append(
            f"\n{c.target_release} has {_count(c.target_rows, 'new row')}, fewer than {share} of the "
            f"{_count(c.current_rows, 'current row')}, so {c.release} is written instead.\n"
        )
    if c.is_release_switch:
        parts.append(
            f"\nRelease switch: the new {c.release} rows are compared with the current {c.current_release} rows "
            f"(releases shifted by one step: {c.current_release} → {c.release}).\n"
        )
    if c.ignored_rows and not label_release:
        parts.append(f"\n{_count(c.ignored_rows, 'new row')} of other releases not part of the output.\n")
    sections = (
        (f"P99 increases over the {c.leeway:g}% leeway", c.increases, "changed"),
        ("P99 decreases", c.decreases, "changed"),
        ("Added: no current data", c.added, "new"),
        ("Missing: no new data, current values shown", c.missing, "missing"),
    )
    for title, changes, kind_of_change in sections:
        if changes:
            parts.append(_section(f"{c.release}: {title}" if label_release else title, changes, kind_of_change,
                                  max_rows))
    return "".join(parts)


def _section(title: str, changes: Sequence[Change], kind_of_change: str, max_rows: int) -> str:
    shown = changes[:max_rows]
    lines = [f"\n<details>\n<summary>{title} ({len(changes)})</summary>\n\n"]
    if shown:
        lines.append(_HEADER)
        lines.extend(_table_row(change, kind_of_change) for change in shown)
    hidden = len(changes) - len(shown)
    if hidden:
        lines.append(f"\n… and {hidden} more; the output file has every row.\n")
    lines.append("\n</details>\n")
    return "".join(lines)


def _table_row(change: Change, kind_of_change: str) -> str:
    row = change.row
    if kind_of_change == "changed":
        p95_change = _format_change(change.p95_change, change.previous_p95)
        p99_change = _format_change(change.p99_change, change.previous_p99)
    else:
        p95_change = p99_change = kind_of_change
    name = row[name_column(row)]
    if ALERT_SCOPE_COLUMNS[0] in row:
        name = f"{name} ({', '.join(str(row.get(column, '')) for column in ALERT_SCOPE_COLUMNS)})"
    cells = (
        name,
        row["Release"],
        row["FromRelease"],
        row["Architecture"],
        row["Network"],
        row["Platform"],
        row["Topology"],
        row["JobRuns"],
        _seconds(change.p95),
        p95_change,
        _seconds(change.p99),
        p99_change,
    )
    return "| " + " | ".join(_cell(value) for value in cells) + " |\n"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ") or " "


def _seconds(value: float) -> str:
    return format_seconds(value, unit="")


def _format_change(percent: float | None, previous: float | None) -> str:
    if percent is None or previous is None:
        return ""
    if percent == 0:
        return "unchanged"
    if math.isinf(percent):
        return f"+∞ (was {_seconds(previous)})"
    return f"{percent:+.1f}% (was {_seconds(previous)})"


def _percent_change(previous: float | None, new: float) -> float | None:
    if previous is None:
        return None
    if previous == 0:
        return 0.0 if new == 0 else math.copysign(math.inf, new)
    return (new - previous) * 100 / previous  # multiply first: a 10 → 13 rise is exactly 30%


def _common_name_column(current_rows: Sequence[Mapping[str, object]], new_rows: Sequence[Mapping[str, object]]) -> str:
    names: dict[str, set[str]] = {}
    for label, rows in (("current", current_rows), ("new", new_rows)):
        names[label] = set()
        for index, row in enumerate(rows):
            try:
                check_row(row)
            except InputError as error:
                raise InputError(f"{label} row {index}: {error.reason}") from None
            names[label].add(name_column(row))
        if len(names[label]) > 1:
            raise InputError(f"{label} rows mix the name columns {', '.join(sorted(names[label]))}")
    if names["current"] and names["new"] and names["current"] != names["new"]:
        raise InputError(
            f"current rows are keyed by {names['current'].pop()} but new rows by {names['new'].pop()}; "
            "compare alerts with alerts and backends with backends"
        )
    return (names["new"] or names["current"] or {"BackendName"}).pop()


def _both_have(column: str, new: Sequence[Mapping[str, object]], current: Sequence[Mapping[str, object]]) -> bool:
    return any(column in row for row in new) and any(column in row for row in current)


def _by_key(
    pairs: Iterable[tuple[Mapping[str, object], Mapping[str, object]]],
    name: str,
    with_masters: bool,
    label: str,
    with_scope: bool = False,
) -> dict[tuple[object, ...], Mapping[str, object]]:
    """Map the key of each (row, row as compared) pair to the row."""
    by_key: dict[tuple[object, ...], Mapping[str, object]] = {}
    for row, compared in pairs:
        key = _key(compared, name, with_masters, with_scope)
        if key in by_key:
            raise InputError(f"{label} data has the key {sort_key(row)} twice")
        by_key[key] = row
    return by_key


def _key(row: Mapping[str, object], name: str, with_masters: bool, with_scope: bool = False) -> tuple[object, ...]:
    scope = tuple(row.get(column) for column in ALERT_SCOPE_COLUMNS) if with_scope else ()
    key = (row[name], *scope, *(row[column] for column in VARIANT_COLUMNS))
    return (*key, row.get(MASTER_NODES_UPDATED)) if with_masters else key


def _shifted_row(row: Mapping[str, object], source: str | None, target: str) -> Mapping[str, object]:
    """Relabel a current row of `source` as if it were of `target` (no-op when they are equal)."""
    if source is None or source == target:
        return row
    shifted = dict(row)
    shifted["Release"] = target
    shifted["FromRelease"] = _shift_from_release(str(row["FromRelease"]), source, target)
    return shifted


def _shift_from_release(from_release: str, source: str, target: str) -> str:
    source_version, target_version = Release.parse(source), Release.parse(target)
    from_version = Release.parse(from_release)
    if from_release == source:
        return target
    if source_version and target_version and from_version and (
        source_version.major == target_version.major == from_version.major
    ):
        return f"{from_version.major}.{from_version.minor + target_version.minor - source_version.minor}"
    return from_release


def _target_and_previous(
    current_counts: Mapping[str, int], new_counts: Mapping[str, int], target: str | None, previous: str | None
) -> tuple[str, str]:
    releases = set(current_counts) | set(new_counts)
    target = target or max(releases, key=_release_order, default="")
    older = [r for r in releases if _release_order(r) < _release_order(target)]
    return target, previous or max(older, key=_release_order, default="") or _shift_release(target, -1)


def _has_enough_target_rows(current_counts: Mapping[str, int], new_counts: Mapping[str, int], target: str) -> bool:
    """Apply the switch rule: the target needs ≥ 60% as many new rows as the current file has of its release."""
    basis = _basis_release(current_counts, target)
    if basis is None or basis == target or _release_order(target) < _release_order(basis):
        return True  # nothing to switch from
    return new_counts[target] > 0 and new_counts[target] >= RELEASE_SWITCH_SHARE * current_counts[basis]


def _basis_release(counts: Mapping[str, int], release: str) -> str | None:
    """Return the current release to compare `release` with: itself, else the newest older one, else the newest."""
    if not counts:
        return None
    older = [r for r in counts if _release_order(r) <= _release_order(release)]
    return max(older or counts, key=_release_order)


_release_order = release_order


def _shift_release(release: str, steps: int) -> str:
    version = Release.parse(release)
    shifted = version.shifted(steps) if version else None
    return str(shifted) if shifted else ""
