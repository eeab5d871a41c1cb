"""Lines to landing files: split by platform and hour of arrival, corrupted where asked, written
atomically with the modification time a collector would leave.

Every file is planned first (name, lines, mtime, re-delivery) in the main process, so the output
does not depend on how the rendering is spread: large days are rendered and written by forked
worker processes (the day's arrays are shared copy-on-write), small ones in-process with
compression and disk writes on a thread (zlib and file IO release the GIL).
"""

from __future__ import annotations

import datetime as dt
import gzip
import multiprocessing
import os
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from traffic.definition import BUILTIN_PLATFORMS as PLATFORMS
from traffic.definition import GeneratorConfig
from traffic.formats import Renderer, iso
from traffic.population import IOS
from traffic.traffic import C_EMPTY, C_GARBAGE, HOUR_MS, Lines, Rows, at_least_one

GARBAGE = (
    "<html><head><title>502 Bad Gateway</title></head><body><center>502 Bad Gateway</center></body></html>",
    "null",
    '[{"event":"Feature Used","properties":{}}]',
    '"ok"',
    "\x00\x00\x00\x00\x00\x00\x00\x00",
    "undefined",
    "event=Feature%20Used&type=track&sentAt=2026-11-25T17%3A00%3A02Z",
    '{"messageId":"',
    "Traceback (most recent call last):",
    "1764090000123",
)
UTF8_MARK = "\x01"  # never in a payload; swapped for a lone 0xFF byte after encoding
MAX_PENDING = 3  # files rendered ahead of the writer thread (bounds memory)
PARALLEL_MIN_LINES = 50_000  # below this a day is rendered in-process (forking costs ~0.1 s)


@dataclass
class FilePlan:
    """One landing file: its lines (indices into the day's Lines) and where/when it is delivered."""

    sel: np.ndarray
    platform: int
    old_collector: bool
    targets: list[tuple[Path, int]]  # (path, mtime in seconds); two when the file is delivered twice


@dataclass
class DayJob:
    """Everything needed to render a day's files; forked workers inherit it."""

    renderer: Renderer
    rows: Rows
    lines: Lines
    plans: list[FilePlan]
    gzip_level: int | None

    def text(self, plan: FilePlan) -> bytes:
        lines, sel = self.lines, plan.sel
        row = lines.row[sel]
        valid = np.flatnonzero(row >= 0)
        bodies = self.renderer.bodies(self.rows, row[valid], plan.platform)
        if plan.old_collector:  # the old collector adds nothing
            done = [body + "}" for body in bodies]
        else:
            stamps = iso(lines.recv_ms[sel[valid]], "ms")
            done = [body + ',"received_at":"' + stamp + 'Z"}' for body, stamp in zip(bodies, stamps, strict=True)]
        if len(valid) == len(sel):
            out = done
        else:  # garbage and empty lines sit between the payloads
            arr = np.full(len(sel), "", dtype=object)
            arr[valid] = done
            out = arr.tolist()
        marked = False
        for p in np.flatnonzero(lines.corrupt[sel]).tolist():
            kind, bits, text = int(lines.corrupt[sel[p]]), int(lines.aux[sel[p]]), out[p]
            if kind == 1:  # cut short mid-write
                out[p] = text[: max(1, min(len(text) - 2, int(len(text) * (0.2 + bits % 750 / 1000))))]
            elif kind == 2:  # two objects glued together by a broken collector
                out[p] = text + text
            elif kind == 3:
                out[p] = text.replace('":"', '":"' + UTF8_MARK, 1)
                marked = True
            elif kind == C_GARBAGE:
                out[p] = GARBAGE[bits % len(GARBAGE)]
            elif kind == C_EMPTY:
                out[p] = ""
        data = ("\n".join(out) + "\n").encode("ascii")  # ascii: a non-ASCII slip fails loudly here
        return data.replace(UTF8_MARK.encode(), b"\xff") if marked else data

    def store(self, index: int) -> tuple[int, int]:
        plan = self.plans[index]
        return store(self.text(plan), plan.targets, self.gzip_level)


def store(data: bytes, targets: list[tuple[Path, int]], level: int | None) -> tuple[int, int]:
    """Write atomically (a dot file renamed into place: the loader skips dot files) with its mtime.
    Returns the bytes on disk and before compression."""
    raw = len(data) * len(targets)
    if level is not None:
        data = gzip.compress(data, compresslevel=level, mtime=0)  # mtime=0: same bytes every run
    for path, mtime in targets:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name("." + path.name + ".tmp")
        with open(tmp, "wb", buffering=1 << 20) as fh:
            fh.write(data)
        os.utime(tmp, ns=(mtime * 1_000_000_000, mtime * 1_000_000_000))
        os.replace(tmp, path)
    return len(data) * len(targets), raw


_FORKED: DayJob | None = None  # the job a forked worker inherited


def _store_forked(index: int) -> tuple[int, int]:
    assert _FORKED is not None
    return _FORKED.store(index)


class LandingWriter:
    def __init__(self, config: GeneratorConfig, renderer: Renderer, counts: Counter[str], workers: int = 1):
        self.config, self.renderer, self.counts = config, renderer, counts
        self.workers = workers if "fork" in multiprocessing.get_all_start_methods() else 1
        self.tag = config.run_tag()
        self.suffix = ".jsonl.gz" if config.gzip else ".jsonl"
        self.seq: Counter[Path] = Counter()
        self.thread = ThreadPoolExecutor(max_workers=1)
        self.pending: deque[Future[tuple[int, int]]] = deque()
        self.bytes = self.raw_bytes = 0
        self.files_by_platform: Counter[str] = Counter()
        self.lines_by_platform: Counter[str] = Counter()
        self.received: list[int] = []

    def write_day(self, rows: Rows, lines: Lines, day: dt.date) -> list[FilePlan]:
        plans = self._plan(lines, day)
        job = DayJob(self.renderer, rows, lines, plans, self.config.gzip_level if self.config.gzip else None)
        if self.workers > 1 and len(lines.row) >= PARALLEL_MIN_LINES and len(plans) > 1:
            self._drain()  # no write in flight while forking
            global _FORKED
            _FORKED = job
            try:
                with multiprocessing.get_context("fork").Pool(self.workers) as pool:
                    for sizes in pool.imap_unordered(_store_forked, range(len(plans))):
                        self._count(sizes)
            finally:
                _FORKED = None
        else:
            for plan in plans:
                data = job.text(plan)
                while len(self.pending) >= MAX_PENDING:
                    self._count(self.pending.popleft().result())
                self.pending.append(self.thread.submit(store, data, plan.targets, job.gzip_level))
        return plans

    def _plan(self, lines: Lines, day: dt.date) -> list[FilePlan]:
        """Group lines by platform, collector and hour of arrival, in arrival order; split big groups."""
        rng = np.random.default_rng([self.config.seed, 5, day.toordinal()])
        hour = lines.recv_ms // HOUR_MS
        order = np.lexsort((np.arange(len(hour)), lines.recv_ms, hour, lines.old_coll, lines.plat))
        key = np.stack([lines.plat[order], lines.old_coll[order], hour[order]], axis=1).astype(np.int64)
        cuts = np.flatnonzero(np.any(key[1:] != key[:-1], axis=1)) + 1
        step = self.config.max_lines_per_file
        chunks = [g[i:i + step] for g in (np.split(order, cuts) if len(order) else []) for i in range(0, len(g), step)]
        rate = self.config.quirks.duplicate_file
        twice = at_least_one(rng, rng.random(len(chunks)) < rate, np.ones(len(chunks), bool), rate, min_eligible=20)
        return [self._plan_file(lines, sel, again) for sel, again in zip(chunks, twice.tolist(), strict=True)]

    def _plan_file(self, lines: Lines, sel: np.ndarray, again: bool) -> FilePlan:
        plat, old = int(lines.plat[sel[0]]), bool(lines.old_coll[sel[0]])
        recv = lines.recv_ms[sel]
        start = dt.datetime.fromtimestamp(int(recv[0]) // HOUR_MS * 3600, dt.UTC)
        folder = Path(self.config.out) / f"platform={PLATFORMS[plat]}" / f"dt={start:%Y-%m-%d}" / f"hour={start:%H}"
        seq = self.seq[folder]
        self.seq[folder] += 1
        stem = f"{'legacy' if old else 'events'}-{self.tag}-{seq:04d}"
        mtime = (int(recv.max()) + 999) // 1000 + 2 + seq % 4  # closed a few seconds after its last line
        targets = [(folder / (stem + self.suffix), mtime)]
        if again:  # the collector retried the upload: same bytes under another name, a bit later
            targets.append((folder / (stem + "-redelivered" + self.suffix), mtime + 30 + seq * 37 % 570))
            self.counts["duplicate_files"] += 1
            self.counts["duplicate_file_lines"] += len(sel)
        self.files_by_platform[PLATFORMS[plat]] += len(targets)
        self.lines_by_platform[PLATFORMS[plat]] += len(sel) * len(targets)
        self.received += [int(recv.min()), int(recv.max())]
        if old:
            self.counts["no_received_at"] += len(sel) * len(targets)
        if plat == IOS:
            self.counts["uppercase_ids"] += int((lines.row[sel] >= 0).sum()) * len(targets)
        return FilePlan(sel, plat, old, targets)

    def _count(self, sizes: tuple[int, int]) -> None:
        self.bytes += sizes[0]
        self.raw_bytes += sizes[1]

    def _drain(self) -> None:
        while self.pending:
            self._count(self.pending.popleft().result())

    def close(self) -> None:
        self._drain()
        self.thread.shutdown()
