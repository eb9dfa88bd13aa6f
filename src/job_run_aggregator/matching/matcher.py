"""The best matcher: historical P95/P99 for a job's variant, with origin's fallback rules (issue 6, DESIGN §8).

Origin looks a (name, JobType) key up in its embedded query_results.json; when that misses (or, in later rule
sets, has too few job runs) it walks an ordered list of "next best guessers" (guessers.py) that rewrite the JobType
and takes the first hit; the rule sets are in presets.py, Go's rendering of the keys in golang.py.

Speed (issue 16): rows are indexed by JobType, then by (name, namespace, level). For each rule set and JobType the
guessed JobTypes are computed once and only those with any row are kept ("the chain"), so a lookup is one dict
lookup per candidate that has data; the `tried` record of a match is rebuilt on demand by replaying the walk.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from job_run_aggregator.errors import InputError
from job_run_aggregator.history.results_file import name_column, percentile_value, read_query_results
from job_run_aggregator.matching.golang import go_job_type, go_quote, render_key, render_key_parts
from job_run_aggregator.matching.guessers import MICRO, MINOR, PREVIOUS, SDN, SINGLE, Guesser, arch, combine
from job_run_aggregator.matching.keys import ALERT, BACKEND, JOB_TYPE_FIELDS, DataKey, JobType, job_type_for
from job_run_aggregator.matching.presets import (
    DEFAULT_ALERT_SECONDS,
    DEFAULT_BACKEND_SECONDS,
    PRESETS,
    RULES,
    Preset,
    guessed_job_types,
    preset_for,
    register_preset,
    register_preset_family,
)

__all__ = [  # the matcher's public names, including those re-exported from its parts
    "ALERT", "BACKEND", "DEFAULT_ALERT_SECONDS", "DEFAULT_BACKEND_SECONDS", "MICRO", "MINOR", "PRESETS", "PREVIOUS",
    "RULES", "SDN", "SINGLE", "Attempt", "DataKey", "Guesser", "HistoricalData", "HistoricalRow", "JobType", "Match",
    "Preset", "arch", "combine", "go_quote", "guessed_job_types", "job_type_for", "load_historical", "preset_for",
    "register_preset", "register_preset_family", "render_key",
]

_NAME_FIELDS: dict[str, str] = {"BackendName": BACKEND, "AlertName": ALERT, "Name": BACKEND}
_MAX_CHAINS = 65_536  # per rule set and file: JobTypes come from user input on the web, so the memo is bounded


# ---- data and matches -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HistoricalRow:
    """One query_results.json row; seconds rounded to milliseconds like origin's `%.3fs` parse."""

    key: DataKey
    p95: float
    p99: float
    job_runs: int
    p50: float | None = None
    p75: float | None = None
    master_nodes_updated: str = ""


@dataclass(frozen=True, slots=True)
class Attempt:
    """One step of a match: which guesser, the key it produced and what the lookup found."""

    guesser: str  # "exact" for the job's own key
    key: DataKey | None  # None: the guesser did not apply
    outcome: str  # "matched" | "missing" | "too few job runs" | "not applicable"
    job_runs: int | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "guesser": self.guesser,
            "key": self.key.to_json() if self.key else None,
            "outcome": self.outcome,
            "job_runs": self.job_runs,
        }


# What a match needs to replay its walk (the file, the rule set, the JobType, the (name, namespace, level) looked up
# and the threshold): a plain tuple, because building records is most of a lookup's cost; `Match.tried` and
# `Match.requested_key` are derived from it only when asked for.
_Walk = tuple["HistoricalData", Preset, JobType, tuple[str, str, str], int]


@dataclass(frozen=True, slots=True)
class Match:
    """The answer for one name and JobType: the numbers, the key they came from and origin's log message."""

    found: bool
    p95: float | None
    p99: float | None
    job_runs: int | None
    matched_key: DataKey | None
    message: str
    rules: str
    kind: str
    _walk: _Walk = field(repr=False)

    @property
    def requested_key(self) -> DataKey:
        """The job's own key (what the walk started from)."""
        _, _, job_type, (name, namespace, level), _ = self._walk
        return DataKey(name, job_type, namespace, level)

    @property
    def tried(self) -> tuple[Attempt, ...]:
        """Every step of the walk in order: the exact key, then each guesser up to the one that matched."""
        data, preset, job_type, _, min_job_runs = self._walk
        return data._attempts(preset, job_type, self.requested_key, min_job_runs)

    @property
    def is_fallback(self) -> bool:
        return self.found and self.matched_key != self.requested_key

    def to_json(self) -> dict[str, object]:
        """Render the `match --json` object (issue 6)."""
        return {
            "found": self.found,
            "p95": self.p95,
            "p99": self.p99,
            "job_runs": self.job_runs,
            "matched_key": self.matched_key.to_json() if self.matched_key else None,
            "message": self.message,
            "rules": self.rules,
        }


# One candidate of a chain: is it the exact key, the guesser's name, the JobType, its Go rendering, and the rows of
# that JobType by (name, namespace, level).
_Step = tuple[bool, str, JobType, str, dict[tuple[str, str, str], HistoricalRow]]


@dataclass(frozen=True, slots=True, eq=False)  # compared and hashed by identity: it holds the index
class HistoricalData:
    """A loaded query_results.json, indexed by key for O(1) best matching."""

    kind: str  # BACKEND | ALERT
    path: str
    rows: dict[DataKey, HistoricalRow]
    has_alert_scope: bool = False  # alert rows carry AlertNamespace/AlertLevel
    _by_job_type: dict[JobType, dict[tuple[str, str, str], HistoricalRow]] = field(
        init=False, repr=False, default_factory=dict
    )
    # rule set name → JobType → (the exact JobType's Go rendering, the candidates that have rows)
    _chains: dict[str, dict[JobType, tuple[str, tuple[_Step, ...]]]] = field(
        init=False, repr=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        for key, row in self.rows.items():
            self._by_job_type.setdefault(key.job_type, {})[(key.name, key.namespace, key.level)] = row

    def key_for(self, name: str, job_type: JobType, namespace: str | None = None, level: str | None = None) -> DataKey:
        """Build the lookup key; namespace and level only count for alert data that has them."""
        if self.kind == ALERT and self.has_alert_scope:
            return DataKey(name, job_type, namespace or "", level or "")
        return DataKey(name, job_type)

    def best_match(
        self,
        name: str,
        job_type: JobType,
        rules: str = "current",
        min_job_runs: int = 100,
        namespace: str | None = None,
        level: str | None = None,
    ) -> Match:
        """Find origin's answer for `name` on `job_type` under `rules` (exact key first, then the guessers).

        `min_job_runs` is the threshold of the `2023` and `current` rules (origin's constant 100); `2022` counts
        no runs.
        """
        preset = preset_for(rules)
        scoped = self.kind == ALERT and self.has_alert_scope  # as in key_for
        scope = (name, namespace or "", level or "") if scoped else (name, "", "")
        exact_go, chain = self._chain(preset, job_type)
        walk = (self, preset, job_type, scope, min_job_runs)
        for is_exact, _guesser, _candidate, candidate_go, rows in chain:
            row = rows.get(scope)
            if row is None or not preset.accepts(row.job_runs, self.kind, is_exact, min_job_runs):
                continue
            message = "" if is_exact else (
                f"(no exact match for {render_key_parts(*scope, exact_go, self.kind, rules)},"
                f" fell back to {render_key_parts(*scope, candidate_go, self.kind, rules)})"
            )
            return Match(True, row.p95, row.p99, row.job_runs, row.key, message, rules, self.kind, walk)
        default = preset.default_for(self.kind)
        message = f"(no exact or fuzzy match for jobType={exact_go})"
        return Match(False, default, default, None, None, message, rules, self.kind, walk)

    def match_all(self, job_type: JobType, rules: str = "current", min_job_runs: int = 100) -> list[Match]:
        """Match every name (and alert namespace/level) in the data for `job_type`, sorted by name."""
        scopes = sorted({(k.name, k.namespace, k.level) for k in self.rows})
        return [self.best_match(n, job_type, rules, min_job_runs, ns, lvl) for n, ns, lvl in scopes]

    def _chain(self, preset: Preset, job_type: JobType) -> tuple[str, tuple[_Step, ...]]:
        """The candidates of `job_type` under `preset` that have any row, computed once per rule set and JobType."""
        chains = self._chains.get(preset.name)
        if chains is None:
            chains = self._chains[preset.name] = {}
        found = chains.get(job_type)
        if found is not None:
            return found
        candidates = [(True, "exact", job_type)]
        candidates += [(False, n, c) for n, c in guessed_job_types(preset.name, job_type) if c is not None]
        steps = tuple(
            (is_exact, n, c, go_job_type(c), rows)
            for is_exact, n, c in candidates
            if (rows := self._by_job_type.get(c)) is not None
        )
        if len(chains) >= _MAX_CHAINS:
            chains.clear()
        found = chains[job_type] = (go_job_type(job_type), steps)
        return found

    def _attempts(self, preset: Preset, job_type: JobType, exact: DataKey, min_job_runs: int) -> tuple[Attempt, ...]:
        """Replay a walk step by step, recording every key tried and its outcome (the slow, explaining path)."""
        tried: list[Attempt] = []
        if self._try(exact, "exact", preset, True, min_job_runs, tried):
            return tuple(tried)
        for guesser_name, guessed in guessed_job_types(preset.name, job_type):
            if guessed is None:
                tried.append(Attempt(guesser_name, None, "not applicable"))
                continue
            key = DataKey(exact.name, guessed, exact.namespace, exact.level)
            if self._try(key, guesser_name, preset, False, min_job_runs, tried):
                break
        return tuple(tried)

    def _try(
        self, key: DataKey, guesser: str, preset: Preset, is_exact: bool, min_job_runs: int, tried: list[Attempt]
    ) -> bool:
        row = self.rows.get(key)
        if row is None:
            tried.append(Attempt(guesser, key, "missing"))
            return False
        if not preset.accepts(row.job_runs, self.kind, is_exact, min_job_runs):
            tried.append(Attempt(guesser, key, "too few job runs", row.job_runs))
            return False
        tried.append(Attempt(guesser, key, "matched", row.job_runs))
        return True


# ---- reading query_results.json -------------------------------------------------------------------------------


def load_historical(data: bytes, path: str, kind: str | None = None) -> HistoricalData:
    """Parse any query_results.json format (backend or alert rows; old or current columns) into an index.

    The file is read by the one query_results parser (`history.results_file.read_query_results`), so the matcher
    accepts exactly what export and compare accept: Go's json.Unmarshal rules for origin's structs (JobRuns a JSON
    integer, so `"JobRuns": "123"` is refused as Go refuses it; the name and variant columns strings).

    Args:
        kind: BACKEND or ALERT when the caller knows what the file must hold; None accepts either.

    Raises:
        InputError: not a query_results.json (see read_query_results), an empty name, or rows of the other kind
            than `kind`.
    """
    return historical_data(read_query_results(data, path), path, kind)


def historical_data(parsed: Sequence[Mapping[str, object]], path: str, kind: str | None = None) -> HistoricalData:
    """Index rows as `read_query_results` returns them or `history.percentiles.historical_rows` computes them
    (no bytes in between); `path` labels the data in messages.

    Raises:
        InputError: an empty name, or rows of the other kind than `kind`.
    """
    file_kind: str | None = None
    rows: dict[DataKey, HistoricalRow] = {}
    has_scope = False
    for index, item in enumerate(parsed):
        name_field = name_column(item)
        file_kind = _NAME_FIELDS[name_field]  # one kind per file: the parser refuses mixed name columns
        has_scope = has_scope or "AlertNamespace" in item or "AlertLevel" in item
        row = _row(item, index, name_field, path)
        # MasterNodesUpdated is not part of the key: origin's DataKey is BackendName + the six JobType fields, and
        # its JSON decode drops the column, then fills a map row by row, so a key repeated with Y and N would end
        # up with the last row. The real 2025 export never repeats a key that way (MasterNodesUpdated is Y for
        # every upgrade and fixed per non-upgrade key), so this rule only decides files built by hand. Duplicate
        # keys of any kind: last row wins, as in origin's map fill.
        rows[row.key] = row
    kind_found = file_kind or kind or BACKEND
    if kind is not None and kind_found != kind:
        raise InputError(f"holds {kind_found} rows, expected {kind} rows (is it the other data file?)", path)
    return HistoricalData(kind_found, path, rows, has_scope and kind_found == ALERT)


def _row(item: Mapping[str, object], index: int, name_field: str, path: str) -> HistoricalRow:
    def text(field: str) -> str:
        value = item.get(field)
        if value is None:
            return ""
        if not isinstance(value, str):
            raise InputError(f"row {index}: {field} is {value!r}, expected a string", path)
        return value

    name = text(name_field)
    if not name:
        raise InputError(f"row {index}: {name_field} is empty", path)
    job_type = JobType(*(text(f) for f in JOB_TYPE_FIELDS))
    key = DataKey(name, job_type, text("AlertNamespace"), text("AlertLevel"))
    return HistoricalRow(
        key=key,
        p95=_seconds(item["P95"]),
        p99=_seconds(item["P99"]),
        job_runs=int(item["JobRuns"]),  # type: ignore[call-overload]  # an integer: checked by the parser
        p50=_seconds(item["P50"]) if "P50" in item else None,
        p75=_seconds(item["P75"]) if "P75" in item else None,
        master_nodes_updated=text("MasterNodesUpdated"),
    )


def _seconds(value: object) -> float:
    # origin parses fmt.Sprintf("%.3fs", p) into a time.Duration: correctly rounded to the millisecond. A null
    # percentile is 0 (the export writes it as "0.0").
    return float(f"{percentile_value(value):.3f}")
