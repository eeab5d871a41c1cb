"""Registries to break: copies of the shipped YAML in a temp dir, edited as data or as text."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import yaml

import contracts
from contracts.registry import Registry, contract_files, load_registry

SHIPPED = Path(contracts.__file__).resolve().parent
# libyaml: the pure-Python dumper takes seconds on the 400-feature catalog
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def file_of(name: str) -> str:
    """`web` → platforms/web.yaml, `catalog` → catalog/features.yaml."""
    return "catalog/features.yaml" if name == "catalog" else f"platforms/{name}.yaml"


@cache
def shipped() -> Registry:
    return load_registry(SHIPPED)


class RegistryCopy:
    def __init__(self, root: Path) -> None:
        self.root = root
        for rel in contract_files(SHIPPED):
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(SHIPPED / rel, root / rel)

    def edit(self, name: str, fn: Callable[[dict[str, Any]], None]) -> RegistryCopy:
        """Edit a file as data (comments are lost, which no test needs)."""
        path = self.root / file_of(name)
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
        fn(data)
        path.write_text(yaml.dump(data, Dumper=_DUMPER, sort_keys=False, allow_unicode=True), encoding="utf-8")
        return self

    def replace(self, name: str, old: str, new: str) -> RegistryCopy:
        """Edit a file as text, keeping every other line where it was."""
        path = self.root / file_of(name)
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {path}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
        return self

    def line_of(self, name: str, fragment: str) -> int:
        lines = (self.root / file_of(name)).read_text(encoding="utf-8").splitlines()
        return next(i for i, line in enumerate(lines, 1) if fragment in line)

    def load(self) -> Registry:
        return load_registry(self.root)


def feature(catalog: dict[str, Any], fid: str) -> dict[str, Any]:
    return next(f for f in catalog["features"] if f["id"] == fid)


def set_version(version: str) -> Callable[[dict[str, Any]], None]:
    def edit(d: dict[str, Any]) -> None:
        d["version"] = version

    return edit
