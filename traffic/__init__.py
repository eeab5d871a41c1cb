"""`nova generate`: realistic landing files of NovaSuite feature usage, quirks and incidents included.

    from traffic import GeneratorConfig, generate
    summary = generate(GeneratorConfig(out=Path("data/landing"), days=7, seed=1))

The summary carries the truth about the run: how often each quirk was injected and the state
each line should end in under SEMANTICS.md (`summary.expected`).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import numpy as np

import contracts
from config import get_settings
from contracts.model import Catalog
from contracts.registry import Registry, load_registry
from traffic.definition import (
    BUILTIN_PLATFORMS,
    DEFAULT_NEW_PLATFORM_SHARE,
    FATES,
    QUIRK_COUNTS,
    GenerationSummary,
    GeneratorConfig,
    Incident,
    QuirkRates,
    quirk_rates,
)
from traffic.formats import Renderer, iso
from traffic.generic import GenericPlatform
from traffic.population import FeatureModel, Population
from traffic.traffic import DayTraffic
from traffic.truth import expected_for_files
from traffic.writer import LandingWriter, store

__all__ = ["GenerationSummary", "GeneratorConfig", "Incident", "QuirkRates", "generate", "load_catalog",
           "quirk_rates"]


def load_generator_registry() -> Registry:
    """The configured registry, else the one shipped with the package."""
    root = get_settings().contracts_path
    if not (Path(root) / "catalog" / "features.yaml").exists():
        root = Path(contracts.__file__).parent
    return load_registry(root)


def load_catalog() -> Catalog:
    """The configured registry's catalog, else the one shipped with the package."""
    return load_generator_registry().catalog


def platform_mix(config: GeneratorConfig, platforms: list[str]) -> dict[str, float]:
    """The mix over the registry's platforms: a built-in platform without a contract sends nothing
    (its files would only be quarantined), a contract the generator has no profile for gets the
    default profile's share unless the mix names it."""
    mix = {p: s for p, s in config.platform_mix.items() if p in platforms}
    for p in platforms:
        if p not in BUILTIN_PLATFORMS and p not in mix:
            mix[p] = DEFAULT_NEW_PLATFORM_SHARE
    return mix


def generate(config: GeneratorConfig, catalog: Catalog | None = None,
             registry: Registry | None = None) -> GenerationSummary:
    """Write the landing files of `config` and return what was written and the truth about it.

    The platforms are those of `registry` (default: the configured one) when no catalog is given."""
    started = time.perf_counter()
    if catalog is None:
        registry = registry or load_generator_registry()
        catalog = registry.catalog
    if registry is not None:
        unknown = sorted({i.platform for i in config.incidents if i.platform} - set(registry.contracts))
        if unknown:
            raise ValueError(f"incident platform {', '.join(unknown)}: not a platform of the registry "
                             f"({', '.join(registry.contracts)})")
        mix = platform_mix(config, list(registry.contracts))
        if mix != config.platform_mix:
            if sum(mix.values()) <= 0:
                raise ValueError("no platform of the registry has a share in the platform mix")
            config = config.model_copy(update={"platform_mix": mix})
    fm = FeatureModel.build(catalog, config.seed)
    pop = Population.build(config, len(fm.areas))
    counts: Counter[str] = Counter()
    expected: Counter[str] = Counter()
    traffic = DayTraffic(config, pop, fm, counts)
    writer = LandingWriter(config, Renderer(fm, pop), counts, workers=config.workers)
    others = [GenericPlatform(registry.contracts[p], share, config, pop, fm,
                              np.array([p in f.platforms for f in catalog.features]))
              for p, share in config.other_platforms().items()] if registry is not None else []
    level = config.gzip_level if config.gzip else None
    try:
        for day_index, day in enumerate(config.days_list()):
            rows = traffic.rows(day, day_index)
            lines = traffic.lines(rows, day)
            files = writer.write_day(rows, lines, day)
            expected += expected_for_files(rows, lines, files)
            for other in others:  # the default profile: clean events, each expected to stage
                for path, data, n, mtime, received in other.files(day, writer.tag, writer.suffix):
                    writer._count(store(data, [(path, mtime)], level))
                    writer.received += received
                    writer.files_by_platform[other.c.platform] += 1
                    writer.lines_by_platform[other.c.platform] += n
                    expected["staged"] += n
                    counts["events"] += n
    finally:
        writer.close()
    counts["clock_ahead_lines"] = expected.pop("clock_ahead", 0)
    first = last = None
    if writer.received:
        first, last = (iso(np.array([v]), "ms")[0] + "Z" for v in (min(writer.received), max(writer.received)))
    summary = GenerationSummary(
        out=str(config.out),
        run_tag=writer.tag,
        seed=config.seed,
        start=config.start,
        days=config.days,
        events=counts.pop("events", 0),
        files=sum(writer.files_by_platform.values()),
        bytes=writer.bytes,
        raw_bytes=writer.raw_bytes,
        lines=sum(writer.lines_by_platform.values()),
        lines_by_platform={p: writer.lines_by_platform[p] for p in sorted(writer.lines_by_platform)},
        files_by_platform={p: writer.files_by_platform[p] for p in sorted(writer.files_by_platform)},
        quirks={k: counts[k] for k in QUIRK_COUNTS},
        expected={k: expected[k] for k in FATES},
        first_received_at=first,
        last_received_at=last,
        elapsed_seconds=round(time.perf_counter() - started, 3),
    )
    if config.manifest is not None:
        config.manifest.parent.mkdir(parents=True, exist_ok=True)
        config.manifest.write_text(json.dumps(summary.truth(), indent=2) + "\n")
    return summary
