"""What an export writes: the format (named, or that of a file like the committed one) and the releases."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from job_run_aggregator.errors import ConfigError
from job_run_aggregator.history.formats import (
    AUTO,
    DISRUPTIONS,
    FileFormat,
    check_data_type,
    format_named,
    format_of_rows,
)
from job_run_aggregator.history.percentiles import HistoryQuery, query_for_format
from job_run_aggregator.jobs.variants import release_key


@dataclass(frozen=True, slots=True)
class LikeFile:
    """A query_results.json read to copy its format and releases (e.g. the file committed in origin)."""

    path: str
    rows: Sequence[Mapping[str, object]]


def resolve_format(format_name: str | None, like: LikeFile | None, data_type: str | None) -> FileFormat | None:
    """Return the format to write: `format_name`, or with "auto" the format of `like`; None keeps the legacy
    flag-driven columns (--percentiles, --split-master-nodes-updated).

    Raises:
        ConfigError: "auto" without a file to copy, or a format of the other data type than `data_type`.
        InputError: the file's rows are in no known format.
    """
    if format_name is None:
        return None
    if format_name == AUTO:
        if like is None:
            raise ConfigError("--format auto copies the format of --like FILE; give --like (e.g. the committed file)")
        file_format = format_of_rows(like.rows, like.path)
    else:
        file_format = format_named(format_name)
    if data_type is not None:
        check_data_type(file_format, data_type)
    return file_format


def releases_of(rows: Sequence[Mapping[str, object]]) -> tuple[str, ...]:
    """The releases the rows hold, oldest first (the order of the releases a file shows for the same key)."""
    return tuple(sorted({str(r["Release"]) for r in rows}, key=_release_order))


def export_releases(given: Sequence[str], like: LikeFile | None) -> tuple[str, ...]:
    """The releases to export: those given (repeatable --release), else those of the --like file.

    Raises:
        ConfigError: none given and no file (or an empty file) to take them from.
    """
    if given:
        return tuple(dict.fromkeys(given))
    if like is not None and like.rows:
        return releases_of(like.rows)
    raise ConfigError("give --release (repeatable), or --like FILE to export the releases that file holds")


def export_data_type(data_type: str | None, file_format: FileFormat | None) -> str:
    """The data type to query: as given, else the format's, else disruptions."""
    if data_type is not None:
        return data_type
    return file_format.data_type if file_format is not None else DISRUPTIONS


def _release_order(release: str) -> tuple[int, int, str]:
    try:
        major, minor = release_key(release)
    except ValueError:  # a release that is no "N.M" version sorts first, by its text
        return (-1, -1, release)
    return (major, minor, "")


def export_query(
    format_name: str | None,
    like: LikeFile | None,
    data_type: str | None,
    releases: Sequence[str],
    percentiles: tuple[int, ...] | None,
    split_master_nodes_updated: bool,
    **options: object,
) -> tuple[HistoryQuery, tuple[str, ...], FileFormat | None]:
    """Resolve export-historical-data's options into the query, the releases and the format to write.

    `percentiles` None means not given. `options` are HistoryQuery's window and filter fields.

    Raises:
        ConfigError: --format together with the column flags it replaces, or any problem of the parts above.
    """
    file_format = resolve_format(format_name, like, data_type)
    chosen_releases = export_releases(releases, like)
    if file_format is not None:
        if percentiles is not None or split_master_nodes_updated:
            raise ConfigError("--format fixes the columns; drop --percentiles and --split-master-nodes-updated")
        return query_for_format(file_format, **options), chosen_releases, file_format  # type: ignore[arg-type]
    q = HistoryQuery(
        data_type=export_data_type(data_type, None),
        percentiles=percentiles or (95, 99),
        split_master_nodes_updated=split_master_nodes_updated,
        **options,  # type: ignore[arg-type]
    )
    return q, chosen_releases, None
