"""The best matcher: historical P95/P99 for a job's variant, with origin's fallback rules (issue 6, DESIGN §8).

Origin looks a (name, JobType) key up in its embedded query_results.json; when that misses (or, in later rule
sets, has too few job runs) it walks an ordered list of "next best guessers" that rewrite the JobType and takes
the first hit. Three rule sets are selectable because origin changed them and users still run every one:
`2022` (32 guessers, no run counts, 2.718 s / 3.141 s defaults), `2023` (22 guessers, > 100 runs) and `current`
(previous release only, ≥ 100 runs for the exact key). Lookups are dict lookups on the full key.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from job_run_aggregator.errors import ConfigError, InputError
from job_run_aggregator.jobs.variants import DEFAULT_RELEASES, variant_for

RULES: tuple[str, ...] = ("current", "2023", "2022")
BACKEND = "backend"
ALERT = "alert"
# origin 2022's "no data" answers: greppable on purpose (origin leaves 2.718 unrounded "so we can find this").
DEFAULT_BACKEND_SECONDS = 2.718
DEFAULT_ALERT_SECONDS = 3.141
_NAME_FIELDS: dict[str, str] = {"BackendName": BACKEND, "AlertName": ALERT, "Name": BACKEND}
_JOB_TYPE_FIELDS: tuple[str, ...] = ("Release", "FromRelease", "Platform", "Architecture", "Network", "Topology")


@dataclass(frozen=True, slots=True)
class JobType:
    """origin's platformidentification.JobType: the six variant fields a historical row is keyed on."""

    release: str
    from_release: str
    platform: str
    architecture: str
    network: str
    topology: str

    def go_repr(self) -> str:
        """Render like Go's `%#v` of a platformidentification.JobType."""
        return _go_job_type(self)

    def values(self) -> tuple[str, str, str, str, str, str]:
        return (self.release, self.from_release, self.platform, self.architecture, self.network, self.topology)

    def short(self) -> str:
        """A compact human form: `4.12 from 4.11 aws amd64 ovn ha`."""
        shown = [v or '""' for v in self.values()]
        upgrade = f" from {shown[1]}" if self.from_release else ""
        return f"{shown[0]}{upgrade} {' '.join(shown[2:])}"


@dataclass(frozen=True, slots=True)
class DataKey:
    """A historical row's key; namespace and level are "" for backends and for alert data without them."""

    name: str
    job_type: JobType
    namespace: str = ""
    level: str = ""

    def to_json(self) -> dict[str, str]:
        fields = zip(_JOB_TYPE_FIELDS, self.job_type.values(), strict=True)
        return {"name": self.name, **dict(fields)}


def go_quote(text: str) -> str:
    """Quote a string like Go's strconv.Quote (what `%#v` prints for a string field)."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    out = ['"']
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char in _GO_ESCAPES:
            out.append(_GO_ESCAPES[char])
        elif char.isprintable():
            out.append(char)
        elif ord(char) < 0x80:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) <= 0xFFFF:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    out.append('"')
    return "".join(out)


@lru_cache(maxsize=4096)
def _go_job_type(job_type: JobType) -> str:
    # Cached: the same few hundred JobTypes are rendered into every fallback message.
    fields = zip(_JOB_TYPE_FIELDS, job_type.values(), strict=True)
    return "platformidentification.JobType{" + ", ".join(f"{f}:{go_quote(v)}" for f, v in fields) + "}"


_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def render_key(key: DataKey, kind: str, rules: str) -> str:
    """Render a key like Go's `%#v` of origin's historicaldata.DataKey / AlertDataKey under `rules`."""
    job_type = key.job_type.go_repr()
    if kind == ALERT:
        return (
            f"historicaldata.AlertDataKey{{AlertName:{go_quote(key.name)}, AlertNamespace:{go_quote(key.namespace)},"
            f" AlertLevel:{go_quote(key.level)}, JobType:{job_type}}}"
        )
    # origin's 2022 DataKey called the field Name; it became BackendName later.
    label = "Name" if rules == "2022" else "BackendName"
    return f"historicaldata.DataKey{{{label}:{go_quote(key.name)}, JobType:{job_type}}}"


def job_type_for(job_name: str, releases: Sequence[str] = DEFAULT_RELEASES) -> JobType:
    """Derive the JobType of a job from its name by the Job Primer rules (DESIGN §5).

    Raises:
        InputError: the name mentions no known release.
    """
    variant = variant_for(job_name, releases)
    return JobType(
        variant.release,
        variant.from_release,
        variant.platform,
        variant.architecture,
        variant.network,
        variant.topology,
    )


# ---- guessers -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Guesser:
    """A named JobType rewrite; `apply` returns None when the guess does not apply."""

    name: str
    apply: Callable[[JobType], JobType | None]

    def __call__(self, job_type: JobType) -> JobType | None:
        return self.apply(job_type)


@lru_cache(maxsize=256)
def _major_minor(release: str) -> tuple[int, int] | None:
    # Go's getMajor/getMinor read the first two dot-separated fields ("4.12.3" is 4, 12) and panic on anything
    # else; an unparseable release makes the guess not applicable instead.
    parts = release.split(".")
    if len(parts) < 2 or not all(p.isascii() and p.isdigit() for p in parts[:2]):
        return None
    return int(parts[0]), int(parts[1])


def _micro(job_type: JobType) -> JobType | None:
    to, source = _major_minor(job_type.release), _major_minor(job_type.from_release)
    # origin compares minors only: a 3.12 → 4.12 "upgrade" already counts as micro.
    if not job_type.from_release or to is None or source is None or source[1] == to[1]:
        return None
    return replace(job_type, from_release=f"{to[0]}.{to[1]}")


def _minor(job_type: JobType) -> JobType | None:
    to, source = _major_minor(job_type.release), _major_minor(job_type.from_release)
    if not job_type.from_release or to is None or source is None or source[1] == to[1] - 1 or to[1] == 0:
        return None
    return replace(job_type, from_release=f"{to[0]}.{to[1] - 1}")


def _previous(job_type: JobType) -> JobType | None:
    to = _major_minor(job_type.release)
    # Go would print "5.-1" for the release before 5.0; no data carries such a key, so say "not applicable".
    if to is None or to[1] == 0:
        return None
    from_release = job_type.from_release
    if from_release:
        source = _major_minor(from_release)
        if source is None or source[1] == 0:
            return None
        from_release = f"{to[0]}.{source[1] - 1}"
    return replace(job_type, release=f"{to[0]}.{to[1] - 1}", from_release=from_release)


def _sdn(job_type: JobType) -> JobType | None:
    return None if job_type.network == "sdn" else replace(job_type, network="sdn")


def _single(job_type: JobType) -> JobType | None:
    return job_type if job_type.topology == "single" else None


MICRO = Guesser("micro", _micro)
MINOR = Guesser("minor", _minor)
PREVIOUS = Guesser("previous", _previous)
SDN = Guesser("sdn", _sdn)
SINGLE = Guesser("single", _single)


def arch(architecture: str) -> Guesser:
    """Guess the same job on `architecture`; not applicable when it already runs there."""

    def apply(job_type: JobType) -> JobType | None:
        return None if job_type.architecture == architecture else replace(job_type, architecture=architecture)

    return Guesser(f"arch({architecture})", apply)


def combine(*guessers: Guesser) -> Guesser:
    """Chain guessers left to right; not applicable as soon as one step is."""

    def apply(job_type: JobType) -> JobType | None:
        current = job_type
        for guesser in guessers:
            step = guesser(current)
            if step is None:
                return None
            current = step
        return current

    return Guesser("+".join(g.name for g in guessers), apply)


def _guessers_2022() -> tuple[Guesser, ...]:
    arches = [arch(a) for a in ("amd64", "ppc64le", "s390x", "arm64")]
    tails: list[tuple[Guesser, ...]] = [(MICRO,), (MINOR,), (PREVIOUS,), (PREVIOUS, MICRO), (PREVIOUS, MINOR)]
    return (
        MICRO,
        MINOR,
        PREVIOUS,
        combine(PREVIOUS, MICRO),
        combine(PREVIOUS, MINOR),
        *arches,
        *(combine(a, *tail) for tail in tails for a in arches),
        combine(SINGLE, SDN),
        combine(SINGLE, SDN, PREVIOUS),
        combine(SINGLE, SDN, PREVIOUS, MICRO),
    )


# ---- presets --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Preset:
    """One of origin's rule sets: the guesser order, the job-run thresholds and the no-match answer."""

    name: str
    guessers: tuple[Guesser, ...]
    counts_runs: bool
    strict_exact: bool  # backends: exact needs JobRuns > min (else ≥); alerts always need ≥
    strict_fallback: bool  # backends: a fallback needs JobRuns > min (else ≥); alerts always need ≥
    default_backend: float | None  # P95 = P99 when nothing matched; None = no data
    default_alert: float | None

    def accepts(self, job_runs: int, kind: str, is_exact: bool, min_job_runs: int) -> bool:
        """Tell whether a present row has enough job runs to be used."""
        # origin compares with one constant (100) for both steps; `min_job_runs` replaces it in both.
        if not self.counts_runs:
            return True
        strict = kind == BACKEND and (self.strict_exact if is_exact else self.strict_fallback)
        return job_runs > min_job_runs if strict else job_runs >= min_job_runs

    def default_for(self, kind: str) -> float | None:
        return self.default_alert if kind == ALERT else self.default_backend


_ALL_2022 = _guessers_2022()
PRESETS: dict[str, Preset] = {
    "2022": Preset("2022", _ALL_2022, False, False, False, DEFAULT_BACKEND_SECONDS, DEFAULT_ALERT_SECONDS),
    "2023": Preset(
        "2023", tuple(g for g in _ALL_2022 if "minor" not in g.name.split("+")), True, True, True, None, None
    ),
    "current": Preset("current", (PREVIOUS,), True, False, True, None, None),
}


def preset_for(rules: str) -> Preset:
    """Return the rule set named `rules`.

    Raises:
        ConfigError: unknown name.
    """
    try:
        return PRESETS[rules]
    except KeyError:
        raise ConfigError(f"--rules {rules!r}: unknown rule set; choose one of {', '.join(RULES)}") from None


@lru_cache(maxsize=8192)
def guessed_job_types(rules: str, job_type: JobType) -> tuple[tuple[str, JobType | None], ...]:
    """Each guesser of a rule set applied to `job_type`, in order; cached because every backend of a run asks
    for the same JobType's chain (this is most of a lookup's cost)."""
    return tuple((g.name, g(job_type)) for g in preset_for(rules).guessers)


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
    tried: tuple[Attempt, ...]
    requested_key: DataKey
    kind: str = BACKEND

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


@dataclass(frozen=True, slots=True, eq=False)  # compared and hashed by identity: it holds the index
class HistoricalData:
    """A loaded query_results.json, indexed by key for O(1) best matching."""

    kind: str  # BACKEND | ALERT
    path: str
    rows: dict[DataKey, HistoricalRow]
    has_alert_scope: bool = False  # alert rows carry AlertNamespace/AlertLevel

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
        exact = self.key_for(name, job_type, namespace, level)
        tried: list[Attempt] = []
        row = self._try(exact, "exact", preset, True, min_job_runs, tried)
        if row is not None:
            return self._found(row, "", rules, tried, exact)
        for guesser_name, guessed in guessed_job_types(preset.name, job_type):
            if guessed is None:
                tried.append(Attempt(guesser_name, None, "not applicable"))
                continue
            key = DataKey(exact.name, guessed, exact.namespace, exact.level)
            row = self._try(key, guesser_name, preset, False, min_job_runs, tried)
            if row is not None:
                message = (
                    f"(no exact match for {render_key(exact, self.kind, rules)},"
                    f" fell back to {render_key(key, self.kind, rules)})"
                )
                return self._found(row, message, rules, tried, exact)
        default = preset.default_for(self.kind)
        return Match(
            found=False,
            p95=default,
            p99=default,
            job_runs=None,
            matched_key=None,
            message=f"(no exact or fuzzy match for jobType={job_type.go_repr()})",
            rules=rules,
            tried=tuple(tried),
            requested_key=exact,
            kind=self.kind,
        )

    def match_all(self, job_type: JobType, rules: str = "current", min_job_runs: int = 100) -> list[Match]:
        """Match every name (and alert namespace/level) in the data for `job_type`, sorted by name."""
        scopes = sorted({(k.name, k.namespace, k.level) for k in self.rows})
        return [self.best_match(n, job_type, rules, min_job_runs, ns, lvl) for n, ns, lvl in scopes]

    def _try(
        self, key: DataKey, guesser: str, preset: Preset, is_exact: bool, min_job_runs: int, tried: list[Attempt]
    ) -> HistoricalRow | None:
        row = self.rows.get(key)
        if row is None:
            tried.append(Attempt(guesser, key, "missing"))
            return None
        if not preset.accepts(row.job_runs, self.kind, is_exact, min_job_runs):
            tried.append(Attempt(guesser, key, "too few job runs", row.job_runs))
            return None
        tried.append(Attempt(guesser, key, "matched", row.job_runs))
        return row

    def _found(self, row: HistoricalRow, message: str, rules: str, tried: list[Attempt], exact: DataKey) -> Match:
        return Match(True, row.p95, row.p99, row.job_runs, row.key, message, rules, tuple(tried), exact, self.kind)


# ---- reading query_results.json -------------------------------------------------------------------------------


def load_historical(data: bytes, path: str, kind: str | None = None) -> HistoricalData:
    """Parse any query_results.json format (backend or alert rows; old or current columns) into an index.

    Args:
        kind: BACKEND or ALERT when the caller knows what the file must hold; None accepts either.

    Raises:
        InputError: not JSON, not an array of row objects, a row without a name or with a bad value, or rows
            of the other kind than `kind`.
    """
    try:
        document = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"not valid JSON ({error}); expected a query_results.json array", path) from None
    if not isinstance(document, list):
        raise InputError(f"expected a JSON array of rows, found {type(document).__name__}", path)
    file_kind: str | None = None
    rows: dict[DataKey, HistoricalRow] = {}
    has_scope = False
    for index, item in enumerate(document):
        if not isinstance(item, dict):
            raise InputError(f"row {index}: expected an object, found {type(item).__name__}", path)
        name_field = next((f for f in _NAME_FIELDS if f in item), None)
        if name_field is None:
            raise InputError(f"row {index}: no BackendName, AlertName or Name", path)
        row_kind = _NAME_FIELDS[name_field]
        file_kind = file_kind or row_kind
        if row_kind != file_kind:
            raise InputError(f"row {index}: {name_field} in a file of {file_kind} rows", path)
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


def _row(item: dict[str, object], index: int, name_field: str, path: str) -> HistoricalRow:
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
    job_type = JobType(*(text(f) for f in _JOB_TYPE_FIELDS))
    key = DataKey(name, job_type, text("AlertNamespace"), text("AlertLevel"))
    return HistoricalRow(
        key=key,
        p95=_seconds(item, "P95", index, path, required=True) or 0.0,
        p99=_seconds(item, "P99", index, path, required=True) or 0.0,
        job_runs=_job_runs(item.get("JobRuns"), index, path),
        p50=_seconds(item, "P50", index, path, required=False),
        p75=_seconds(item, "P75", index, path, required=False),
        master_nodes_updated=text("MasterNodesUpdated"),
    )


def _seconds(item: dict[str, object], field: str, index: int, path: str, required: bool) -> float | None:
    if field not in item:
        if required:
            raise InputError(f"row {index}: {field} missing", path)
        return None
    value = item[field]
    if value is None:
        return 0.0  # the export writes a NULL percentile as "0.0"
    problem = f"row {index}: {field} is {value!r}, expected a number of seconds"
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InputError(problem, path)
    try:
        seconds = float(value)
    except ValueError:
        raise InputError(problem, path) from None
    if not math.isfinite(seconds):
        raise InputError(f"row {index}: {field} is {value!r}, expected a finite number of seconds", path)
    # origin parses fmt.Sprintf("%.3fs", p) into a time.Duration: correctly rounded to the millisecond.
    return float(f"{seconds:.3f}")


def _job_runs(value: object, index: int, path: str) -> int:
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise InputError(f"row {index}: JobRuns is {value!r}, expected a whole number", path)
