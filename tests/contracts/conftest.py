"""Fixtures of the contract tests (helpers live in tests/contracts/helpers.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.contracts.helpers import RegistryCopy


@pytest.fixture
def make_copy(tmp_path: Path) -> Callable[[str], RegistryCopy]:
    def make(name: str = "head") -> RegistryCopy:
        root = tmp_path / name
        root.mkdir()
        return RegistryCopy(root)

    return make
