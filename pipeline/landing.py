"""Landing files: where they are (local folder or S3) and how a file becomes lines.

A line is a `\\n`-separated piece of the decompressed file; a final newline does not start
another line; a trailing `\\r` and a byte-order mark at the start of the file are stripped.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from nova.errors import Exit, NovaError

PLATFORM_RE = re.compile(r"(?:^|/)platform=([^/]+)/")
SUFFIXES = (".json", ".jsonl", ".json.gz", ".jsonl.gz")
BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class LandingFile:
    rel_path: str  # relative to the landing root, '/'-separated: the tie-break key
    size: int
    mtime: dt.datetime  # UTC, naive

    @property
    def platform(self) -> str | None:
        m = PLATFORM_RE.search(self.rel_path)
        return m.group(1) if m else None

    @property
    def gzipped(self) -> bool:
        return self.rel_path.endswith(".gz")


@dataclass
class FileLines:
    lines: pa.Array  # large_string, one element per line
    decode_errors: pa.Array  # bool: the line was not valid UTF-8 (kept with escapes)
    checksum: str
    note: str
    received_tail: pa.Array  # `received_at` read from each line's tail (received_tails), else null


def received_tails(lines: pa.Array) -> pa.Array:
    """Engine.RECEIVED_TAIL_PATTERN over the last bytes of each line, in Arrow (C++, off the GIL,
    on the reader threads): the load's SQL then parses only the lines whose tail did not hold it.
    Bytes, not characters: on a line with multi-byte characters the tail is only shorter."""
    from warehouse.engine import Engine

    tails = pc.binary_slice(lines.cast(pa.large_binary()), -Engine.RECEIVED_TAIL_CHARS, 1 << 40)
    pattern = Engine.RECEIVED_TAIL_PATTERN.replace("(", "(?P<v>", 1)
    return pc.struct_field(pc.extract_regex(tails, pattern), "v").cast(pa.large_string())


def _utc(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.UTC).replace(tzinfo=None)


class Landing:
    """A landing root: a local folder, or s3://bucket/prefix read through boto3."""

    def __init__(self, root: str):
        self.root = root
        self.is_s3 = root.startswith("s3://")
        if self.is_s3:
            bucket, _, prefix = root[5:].partition("/")
            self.bucket, self.prefix = bucket, prefix.strip("/")
            import boto3

            self._s3 = boto3.client("s3")

    def files(self) -> Iterator[LandingFile]:
        """Every event file, in path order. Names starting with '.' or '_' (partial uploads) are skipped."""
        found = self._s3_files() if self.is_s3 else self._local_files()
        yield from sorted(found, key=lambda f: f.rel_path)

    def _local_files(self) -> list[LandingFile]:
        root = Path(self.root)
        if not root.exists():
            raise NovaError(f"landing path {root} does not exist", hint="set NOVA_LANDING_PATH or run `nova generate`",
                            code=Exit.DATA)
        out = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if not d.startswith((".", "_"))]
            for name in filenames:
                if name.startswith((".", "_")) or not name.endswith(SUFFIXES):
                    continue
                full = Path(dirpath) / name
                st = full.stat()
                out.append(LandingFile(full.relative_to(root).as_posix(), st.st_size, _utc(st.st_mtime)))
        return out

    def _s3_files(self) -> list[LandingFile]:
        out = []
        paginator = self._s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + "/" if self.prefix else ""):
            for obj in page.get("Contents", []):
                key = obj["Key"]
                rel = key[len(self.prefix) + 1:] if self.prefix else key
                name = rel.rsplit("/", 1)[-1]
                if name.startswith((".", "_")) or not name.endswith(SUFFIXES):
                    continue
                mtime = obj["LastModified"].astimezone(dt.UTC).replace(tzinfo=None)
                out.append(LandingFile(rel, int(obj["Size"]), mtime))
        return out

    def read_bytes(self, f: LandingFile) -> bytes:
        if self.is_s3:
            key = f"{self.prefix}/{f.rel_path}" if self.prefix else f.rel_path
            return self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return (Path(self.root) / f.rel_path).read_bytes()

    def write_bytes(self, f: LandingFile, data: bytes) -> LandingFile:
        """Rewrite a file in place (GDPR erasure); returns its new identity, keeping its mtime."""
        if self.is_s3:
            key = f"{self.prefix}/{f.rel_path}" if self.prefix else f.rel_path
            self._s3.put_object(Bucket=self.bucket, Key=key, Body=data)
            return LandingFile(f.rel_path, len(data), f.mtime)
        path = Path(self.root) / f.rel_path
        tmp = path.with_name("." + path.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        ts = f.mtime.replace(tzinfo=dt.UTC).timestamp()
        os.utime(path, (ts, ts))
        return LandingFile(f.rel_path, len(data), f.mtime)


def decompress(data: bytes, gzipped: bool) -> tuple[bytes, str]:
    """Decompressed bytes; a corrupt or truncated gzip yields what could be read, and a note."""
    if not gzipped:
        return data, ""
    try:
        return gzip.decompress(data), ""
    except (OSError, EOFError, zlib.error) as exc:
        d = zlib.decompressobj(wbits=31)
        try:
            part = d.decompress(data)
        except zlib.error:
            part = b""
        return part, f"corrupt gzip ({exc}); {len(part)} bytes salvaged, the last line is kept as truncated"


def split_lines(data: bytes) -> tuple[list[str], list[bool]]:
    """Lines as text, and per line whether it was invalid UTF-8 (kept with escapes, never JSON)."""
    if data.startswith(BOM):
        data = data[len(BOM):]
    if not data:
        return [], []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return _split_lines_slow(data)
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    if "\r" in text:
        lines = [ln[:-1] if ln.endswith("\r") else ln for ln in lines]
    return lines, [False] * len(lines)


def _split_lines_slow(data: bytes) -> tuple[list[str], list[bool]]:
    raw = data.split(b"\n")
    if raw[-1] == b"":
        raw.pop()
    lines, errors = [], []
    for b in raw:
        if b.endswith(b"\r"):
            b = b[:-1]
        try:
            lines.append(b.decode("utf-8"))
            errors.append(False)
        except UnicodeDecodeError:
            lines.append(b.decode("utf-8", "backslashreplace"))
            errors.append(True)
    return lines, errors


def split_lines_arrow(data: bytes) -> tuple[pa.Array, pa.Array]:
    """`split_lines` as Arrow arrays, split in C++ without a Python object per line (the load's
    hot path). Lines that are not valid UTF-8 are found by their byte offsets and only they are
    decoded in Python (with escapes); a file with a few bad lines stays on the fast path."""
    if data.startswith(BOM):
        data = data[len(BOM):]
    if not data:
        return pa.array([], pa.large_string()), pa.array([], pa.bool_())
    whole = pa.Array.from_buffers(pa.large_binary(), 1, [  # the bytes as one value, not copied
        None, pa.py_buffer(np.array([0, len(data)], dtype=np.int64)), pa.py_buffer(data)])
    parts = pc.split_pattern(whole, pattern=b"\n").flatten()
    if data.endswith(b"\n"):
        parts = parts.slice(0, len(parts) - 1)  # a final newline does not start a line
    if b"\r" in data:
        parts = pc.replace_substring_regex(parts, pattern="\r$", replacement="")
    try:
        return parts.cast(pa.large_string()), pa.repeat(pa.scalar(False), len(parts))
    except pa.ArrowInvalid:
        bad = _invalid_utf8_lines(data)
    if bad is None:  # mostly not text: per line
        text, errors = _split_lines_slow(data)
        return pa.array(text, pa.large_string()), pa.array(errors, pa.bool_())
    mask = np.zeros(len(parts), dtype=bool)
    mask[bad] = True
    fixed = [parts[i].as_py().decode("utf-8", "backslashreplace") for i in bad]
    binary_fixed = pa.array([f.encode() for f in fixed], pa.large_binary())
    lines = pc.replace_with_mask(parts, pa.array(mask), binary_fixed).cast(pa.large_string())
    return lines, pa.array(mask)


def _invalid_utf8_lines(data: bytes, limit: int = 1000) -> list[int] | None:
    """Indexes of the lines holding invalid UTF-8 (None past `limit` of them: hardly text).

    Only lines with a byte above 0x7F can be invalid: numpy finds them, and just those lines
    are decoded strictly."""
    buf = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)
    lines_with_high = np.unique(np.searchsorted(newlines, np.flatnonzero(buf >= 0x80)))
    starts = np.concatenate(([0], newlines + 1))
    ends = np.concatenate((newlines, [len(data)]))
    bad: list[int] = []
    for index in lines_with_high.tolist():
        try:
            data[starts[index]:ends[index]].decode("utf-8")
        except UnicodeDecodeError:
            bad.append(index)
            if len(bad) > limit:
                return None
    return bad


def read_file_lines(landing: Landing, f: LandingFile) -> FileLines:
    data = landing.read_bytes(f)
    checksum = hashlib.sha256(data).hexdigest()
    body, note = decompress(data, f.gzipped)
    lines, errors = split_lines_arrow(body)
    return FileLines(lines, errors, checksum, note, received_tails(lines))
