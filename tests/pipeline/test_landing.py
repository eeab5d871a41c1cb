"""Line splitting (pure): the Arrow fast path gives exactly the reference reading of a line."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.landing import split_lines, split_lines_arrow

PIECES = st.sampled_from([b"\n", b"\r\n", b"\r", b"{}", b'{"a":"\xc3\xa9"}', b"\xff", b"\xef\xbb\xbf", b" ", b"x"])


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
