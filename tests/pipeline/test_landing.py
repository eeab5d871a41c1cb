"""Line splitting (pure): the Arrow fast path gives exactly the reference reading of a line, and
the `received_at` the load reads from a line's tail in Arrow is the one the SQL reads."""

from __future__ import annotations

import duckdb
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.landing import received_tails, split_lines, split_lines_arrow
from warehouse.engine import DuckDBEngine

# Includes a cut multi-byte sequence (\xc3 alone) and U+FFFD itself, a valid character.
PIECES = st.sampled_from([b"\n", b"\r\n", b"\r", b"{}", b'{"a":"\xc3\xa9"}', b"\xff", b"\xef\xbb\xbf", b" ", b"x",
                          b"\xc3", "\ufffd".encode()])


@settings(max_examples=300, deadline=None)
@given(st.lists(PIECES, max_size=12))
def test_arrow_split_equals_reference(pieces: list[bytes]) -> None:
    data = b"".join(pieces)
    lines, errors = split_lines_arrow(data)
    assert (lines.to_pylist(), errors.to_pylist()) == tuple(map(list, split_lines(data)))


def test_reading_rules() -> None:
    lines, errors = split_lines_arrow(b"\xef\xbb\xbfa\r\n\nb\xff\n")
    assert lines.to_pylist() == ["a", "", "b\\xff"]  # BOM and CR stripped, empty line kept
    assert errors.to_pylist() == [False, False, True]
    assert split_lines_arrow(b"a")[0].to_pylist() == ["a"]  # no final newline
    assert split_lines_arrow(b"\n")[0].to_pylist() == [""]  # one empty line
    assert split_lines_arrow(b"")[0].to_pylist() == []


def test_a_file_that_is_mostly_not_text_keeps_every_line() -> None:
    data = b"\xff\xfe\n" * 1500 + b'{"ok":1}\n'
    lines, errors = split_lines_arrow(data)
    assert len(lines) == 1501
    assert errors.to_pylist() == [True] * 1500 + [False]
    assert lines[0].as_py() == "\\xff\\xfe" and lines[1500].as_py() == '{"ok":1}'


TAIL_LINES = [
    '{"a":1,"received_at":"2026-11-16T08:00:00.123Z"}',
    '{"a":1, "received_at" : "2026-11-16T08:00:00Z" } ',
    '{"a":"é","received_at":"2026-11-16T08:00:00+02:00"}',
    '{"a":{"received_at":"nested"}}',  # a nested member is not the collector's
    '{"received_at":"first","a":1}',  # not last: found by the full parse
    '{"a":"' + "é" * 60 + '","received_at":"2026-11-16T08:00:00Z"}',  # multi-byte tail
    '{"a":1}',
    "not json",
    '{"a":"x\\"received_at\\":\\"fake\\"}"}',
]


def test_received_tail_in_arrow_reads_what_the_sql_reads() -> None:
    e = DuckDBEngine()
    con = duckdb.connect()
    con.register("t", pa.table({"raw": pa.array(TAIL_LINES, pa.large_string()),
                                "tail": received_tails(pa.array(TAIL_LINES, pa.large_string()))}))
    rows = con.execute(f"SELECT {e.received_text_of_line('raw', 'tail')}, {e.received_text_of_line('raw')} "
                       "FROM t").fetchall()
    assert [a for a, _ in rows] == [b for _, b in rows]
    assert [a for a, _ in rows] == ["2026-11-16T08:00:00.123Z", "2026-11-16T08:00:00Z", "2026-11-16T08:00:00+02:00",
                                    None, "first", "2026-11-16T08:00:00Z", None, None, None]
