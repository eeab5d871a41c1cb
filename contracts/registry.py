"""Reading the registry from disk: YAML with line numbers, validated into the contract model."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError

from contracts.model import PLATFORM_NAME, Catalog, PlatformContract

CATALOG_FILE = Path("catalog") / "features.yaml"
PLATFORM_DIR = Path("platforms")
RULES_FILE = Path("registry.yaml")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml is ~15x faster on the catalog


class Rules(BaseModel):
    max_lateness_hours: int = 72
    clock_ahead_tolerance_minutes: int = 5
    # A client or send time further than this from the line's received_at is not a time.
    plausible_time_days: int = Field(366, ge=1, le=3650)


@dataclass(frozen=True)
class Problem:
    """A lint finding, located in a file."""

    file: str
    line: int
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.severity}: {self.message}"


class RegistryError(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class Registry:
    root: Path
    catalog: Catalog
    contracts: dict[str, PlatformContract]
    rules: Rules = field(default_factory=Rules)
    # (file, key path) -> line, to locate findings of later checks
    lines: dict[tuple[str, tuple[Any, ...]], int] = field(default_factory=dict)

    def line_of(self, file: str, *loc: Any) -> int:
        for n in range(len(loc), -1, -1):
            hit = self.lines.get((file, tuple(loc[:n])))
            if hit is not None:
                return hit
        return 1


def _line_map(node: yaml.Node, loc: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    out[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = k.value
            out[(*loc, key)] = k.start_mark.line + 1
            _line_map(v, (*loc, key), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            _line_map(v, (*loc, i), out)


def read_yaml(path: Path, rel: str) -> tuple[Any, dict[tuple[Any, ...], int]]:
    """Parse a YAML file, returning the data and a key-path → line map."""
    text = path.read_text(encoding="utf-8")
    try:
        # one pass with libyaml when present: the node gives the lines, the same node the data
        loader = _LOADER(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise RegistryError([Problem(rel, line, f"invalid YAML: {getattr(exc, 'problem', exc)}")]) from exc
    lines: dict[tuple[Any, ...], int] = {}
    if node is not None:
        _line_map(node, (), lines)
    return data, lines


def _validate(model: type[BaseModel], data: Any, rel: str, lines: dict[tuple[Any, ...], int]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            line = next((lines[loc[:n]] for n in range(len(loc), -1, -1) if loc[:n] in lines), 1)
            where = ".".join(str(p) for p in loc) or "(top level)"
            problems.append(Problem(rel, line, f"{where}: {err['msg']}"))
        raise RegistryError(problems) from exc


def load_registry(root: Path | str) -> Registry:
    """Load catalog, rules and every platform contract; raise RegistryError with all schema errors."""
    root = Path(root)
    if not root.is_dir():
        raise RegistryError([Problem(str(root), 1, "contracts directory not found (set NOVA_CONTRACTS_PATH)")])
    problems: list[Problem] = []
    all_lines: dict[tuple[str, tuple[Any, ...]], int] = {}

    def load(model: type[BaseModel], rel_path: Path) -> Any:
        rel = str(rel_path)
        path = root / rel_path
        if not path.exists():
            problems.append(Problem(rel, 1, "file is missing"))
            return None
        try:
            data, lines = read_yaml(path, rel)
            all_lines.update({(rel, k): v for k, v in lines.items()})
            return _validate(model, data, rel, lines)
        except RegistryError as exc:
            problems.extend(exc.problems)
            return None

    catalog = load(Catalog, CATALOG_FILE)
    rules = load(Rules, RULES_FILE) if (root / RULES_FILE).exists() else Rules()
    contracts: dict[str, PlatformContract] = {}
    for platform in platform_names(root):
        rel = PLATFORM_DIR / f"{platform}.yaml"
        if not re.match(PLATFORM_NAME, platform):
            problems.append(Problem(str(rel), 1, f"platform file name {platform!r} is not a platform name "
                                                 "(lower-case letters, digits and _, starting with a letter)"))
            continue
        contract = load(PlatformContract, rel)
        if contract is not None:
            if contract.platform != platform:
                problems.append(Problem(str(rel), all_lines.get((str(rel), ("platform",)), 1),
                                        f"file declares platform {contract.platform!r}: "
                                        f"the file of a platform is platforms/<platform>.yaml"))
            contracts[platform] = contract
    if not contracts and not problems:
        problems.append(Problem(str(PLATFORM_DIR), 1, "no platform contract (platforms/<platform>.yaml)"))
    if problems:
        raise RegistryError(problems)
    return Registry(root=root, catalog=catalog, contracts=contracts, rules=rules or Rules(), lines=all_lines)


def platform_names(root: Path) -> list[str]:
    """The platforms of a registry: one per `platforms/*.yaml` file, sorted by name."""
    return sorted(p.stem for p in (Path(root) / PLATFORM_DIR).glob("*.yaml") if not p.name.startswith("."))


def contract_files(root: Path) -> list[Path]:
    """Every file of the registry, relative to its root (what `diff` compares)."""
    files = [CATALOG_FILE, RULES_FILE] + [PLATFORM_DIR / f"{p}.yaml" for p in platform_names(root)]
    return [f for f in files if (root / f).exists()]
