"""Read the registry as it was at a git ref, into a directory `load_registry` can read.

The only module of the package that runs git. The registry's place in the repository comes from
`git rev-parse --show-prefix` in the working registry, so BASE is read from the same path.
"""

from __future__ import annotations

import fnmatch
import subprocess
from pathlib import Path

from nova.errors import Exit, NovaError

# What a registry is made of (see contracts.registry); other files under it are not compared.
REGISTRY_PATTERNS = ("registry.yaml", "catalog/*.yaml", "platforms/*.yaml")
DEFAULT_BRANCHES = ("main", "origin/main")


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except FileNotFoundError as exc:
        raise NovaError("git is not installed", hint="pass a directory holding a registry as BASE") from exc


def _out(args: list[str], cwd: Path) -> str | None:
    done = _git(args, cwd)
    return done.stdout.decode().strip() if done.returncode == 0 else None


def repo_location(registry: Path, ref: str = "HEAD") -> tuple[Path, str]:
    """The repository's top level and the registry's path inside it ('' or 'dir/')."""
    top = _out(["rev-parse", "--show-toplevel"], registry)
    prefix = _out(["rev-parse", "--show-prefix"], registry)
    if top is None or prefix is None:
        raise NovaError(f"cannot read BASE {ref!r}: {registry} is not inside a git repository",
                        hint="pass a directory holding a registry as BASE", code=Exit.CONFIG)
    return Path(top), prefix


def resolve_ref(ref: str, registry: Path) -> str:
    sha = _out(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], registry)
    if not sha:
        raise NovaError(f"BASE {ref!r} is neither a directory nor a git ref",
                        hint="use a branch, tag or commit (e.g. main, HEAD~1) or a registry directory",
                        code=Exit.CONFIG)
    return sha


def default_base(registry: Path) -> str:
    """The merge base with main (or origin/main), else HEAD: what a pull request changes."""
    head = _out(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], registry)
    if not head:
        raise NovaError("the repository has no commit to compare with",
                        hint="commit the registry first, or pass a directory as BASE", code=Exit.CONFIG)
    for branch in DEFAULT_BRANCHES:
        if _out(["rev-parse", "--verify", "--quiet", f"{branch}^{{commit}}"], registry):
            base = _out(["merge-base", "HEAD", branch], registry)
            if base:
                return base
    return head


def _is_registry_file(rel: str) -> bool:
    return any(fnmatch.fnmatchcase(rel, p) and rel.count("/") == p.count("/") for p in REGISTRY_PATTERNS)


def materialize(ref: str, registry: Path, dest: Path) -> tuple[Path, str]:
    """Write the registry files of `ref` under `dest`; return `dest` and the resolved commit."""
    registry = registry.resolve()
    top, prefix = repo_location(registry, ref)
    sha = resolve_ref(ref, registry)
    listing = _git(["ls-tree", "-r", "-z", "--name-only", sha, "--", prefix or "."], top)
    if listing.returncode != 0:
        raise NovaError(f"cannot list {prefix or '.'} at {ref}: {listing.stderr.decode().strip()}")
    names = [n for n in listing.stdout.decode().split("\0") if n]
    written = 0
    for name in names:
        rel = name[len(prefix):]
        if not _is_registry_file(rel):
            continue
        shown = _git(["show", f"{sha}:{name}"], top)
        if shown.returncode != 0:
            raise NovaError(f"cannot read {name} at {ref}: {shown.stderr.decode().strip()}")
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(shown.stdout)
        written += 1
    if not written:
        raise NovaError(f"no registry at {prefix or './'} in {ref} ({sha[:7]})",
                        hint="pass an older ref or a directory holding a registry as BASE", code=Exit.CONFIG)
    return dest, sha
