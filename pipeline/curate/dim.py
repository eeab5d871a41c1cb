"""dim_feature (SCD2) and feature_ancestors (the hierarchy closure) from the registry catalog.

Deciding is pure (`dim_rows`, `diff_dim`, `closure`, `hierarchy_changed`); `sync_dim` and
`sync_closure` apply the decision. feature_ancestors always holds the closure the roll-ups were
computed with, so comparing it with the catalog tells whether the roll-ups are still true.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from contracts.model import Catalog
from pipeline.curate.models import ts_lit
from warehouse.engine import Engine
from warehouse.session import Warehouse

DIM_ATTRS = ("feature_id", "name", "parent_id", "path", "depth", "owner", "status", "platforms")
Pair = tuple[str, str, int]  # (feature_id, ancestor_id, depth_diff)


class DimRow(NamedTuple):
    feature_id: str
    name: str
    parent_id: str | None
    path: str
    depth: int
    owner: str
    status: str
    platforms: str


def chains(catalog: Catalog) -> dict[str, list[str]]:
    """Each feature then its ancestors, nearest first (Catalog.ancestors, with one index for all)."""
    index = catalog.by_id()
    out: dict[str, list[str]] = {}
    for f in catalog.features:
        chain: list[str] = []
        cur: str | None = f.id
        while cur is not None and cur in index and cur not in chain:  # stops on cycles, as ancestors()
            chain.append(cur)
            cur = index[cur].parent
        out[f.id] = chain
    return out


def dim_rows(catalog: Catalog) -> dict[str, DimRow]:
    """The current version of every feature; depth 0 is a top-level area (= its number of ancestors)."""
    index, out = catalog.by_id(), {}
    for fid, chain in chains(catalog).items():
        f = index[fid]
        path = " > ".join(index[a].name for a in reversed(chain))
        out[fid] = DimRow(fid, f.name, f.parent, path, len(chain) - 1, f.owner, f.status.value,
                          ",".join(f.platforms))
    return out


def diff_dim(current: dict[str, DimRow], wanted: dict[str, DimRow]) -> tuple[list[str], list[DimRow]]:
    """(ids whose current version closes, versions that open): a changed feature does both."""
    close = sorted(fid for fid, row in current.items() if wanted.get(fid) != row)
    open_ = [row for fid, row in sorted(wanted.items()) if current.get(fid) != row]
    return close, open_


def closure(catalog: Catalog) -> set[Pair]:
    return {(fid, a, i) for fid, chain in chains(catalog).items() for i, a in enumerate(chain)}


def hierarchy_changed(old: set[Pair], new: set[Pair]) -> bool:
    """Whether roll-ups computed with `old` are wrong under `new`. A feature new to the catalog has no
    events curated yet, so its pairs change nothing; any other added or removed pair does."""
    known = {f for f, _, _ in old}
    return bool(old - new) or any(f in known for f, _, _ in new - old)


def _value(engine: Engine, v: Any) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, dt.datetime):
        return ts_lit(engine, v)
    return engine.lit(str(v))


def _insert(wh: Warehouse, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    values = [f"({', '.join(_value(wh.engine, v) for v in row)})" for row in rows]
    if values:
        wh.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES " + ",\n".join(values))
    return len(values)


def sync_dim(wh: Warehouse, catalog: Catalog, now: dt.datetime) -> tuple[int, int]:
    """Close the current version of changed or removed features and open the new ones (SCD2).
    Returns (opened, closed)."""
    current = {r[0]: DimRow(*r) for r in wh.query(
        f"SELECT {', '.join(DIM_ATTRS)} FROM dim_feature WHERE is_current")}
    close, open_ = diff_dim(current, dim_rows(catalog))
    if close:
        wh.execute(f"UPDATE dim_feature SET valid_to = {ts_lit(wh.engine, now)}, is_current = FALSE "
                   f"WHERE is_current AND feature_id IN {wh.engine.in_list(close)}")
    opened = _insert(wh, "dim_feature", [*DIM_ATTRS, "valid_from", "valid_to", "is_current"],
                     ([*row, now, None, True] for row in open_))
    return opened, len(close)


def stored_closure(wh: Warehouse) -> set[Pair]:
    return {(f, a, int(d)) for f, a, d in wh.query("SELECT feature_id, ancestor_id, depth_diff FROM feature_ancestors")}


def sync_closure(wh: Warehouse, catalog: Catalog, *, force: bool = False) -> bool:
    """Store the catalog's closure; True when the roll-ups must be recomputed in full."""
    old, new = stored_closure(wh), closure(catalog)
    if old == new and not force:
        return False
    wh.execute("DELETE FROM feature_ancestors")
    _insert(wh, "feature_ancestors", ["feature_id", "ancestor_id", "depth_diff"], sorted(new))
    return hierarchy_changed(old, new)


def pending_hierarchy_change(wh: Warehouse, catalog: Catalog) -> bool:
    """Whether the next run recomputes every roll-up (read only: what `plan` reports)."""
    return hierarchy_changed(stored_closure(wh), closure(catalog))
