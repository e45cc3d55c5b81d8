"""The schema contract gate: what changed in the SDL, whether it breaks clients, whether it is
described and announced.

An SDL set is loaded from a directory of .graphql files, a single file, or the `schema/`
directory at a git ref, and built with graphql-core alone (no resolvers), so any two versions of
the contract can be compared, including ones this code base can no longer serve.

Changes come from graphql-core's change finder, never from a comparison of our own: breaking
changes fail the gate; dangerous ones (a new enum value, a new optional argument, a changed
default) are listed for the reviewer; safe ones (new types, fields, description edits) are
printed so the report reads as the whole story of the change.

Exit codes, for `python -m app schema diff` and `schema check` alike:

- 0: nothing breaks (dangerous and safe changes may be listed; warnings do not fail);
- 1: breaking changes (for `check`, also: a type or field without its description, a stale
  schema.lock.graphql, an API change without a changelog fragment);
- 2: the command cannot run: a usage error, a file or ref that cannot be read, or SDL that does
  not parse or validate (the message names the file, line and column).
"""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    Source,
    build_ast_schema,
    concat_ast,
    get_named_type,
    is_introspection_type,
    is_specified_scalar_type,
    parse,
    validate_schema,
)
from graphql.language import DocumentNode, Node
from graphql.utilities.find_schema_changes import (
    BreakingChangeType,
    DangerousChangeType,
    SafeChangeType,
    find_schema_changes,
)
from graphql.validation.validate import validate_sdl

PROJECT_DIR = Path(__file__).resolve().parent.parent
SCHEMA_SUBDIR = "schema"
FRAGMENTS_SUBDIR = "changes"
# Files in the fragments directory that are not fragments.
NOT_FRAGMENTS = {"README.md", ".gitkeep"}

EXIT_OK, EXIT_FAILED, EXIT_UNUSABLE = 0, 1, 2

ADDED_IN = re.compile(r"Added in (\d+)\.(\d+)\.(\d+)\.(?:\s|$)")


class SchemaSourceError(Exception):
    """An SDL set that cannot be read, parsed or built; the message says where and why."""


@dataclass(frozen=True)
class SdlFile:
    name: str  # shown in messages: a path, or "<ref>:schema/<file>"
    text: str


# --- loading -------------------------------------------------------------------------------


def sdl_files_from_path(path: Path) -> list[SdlFile]:
    if path.is_dir():
        files = sorted(path.glob("*.graphql"))
        if not files:
            raise SchemaSourceError(f"{path}: no .graphql files in this directory")
        return [SdlFile(str(f), _read(f)) for f in files]
    if path.is_file():
        return [SdlFile(str(path), _read(path))]
    raise SchemaSourceError(
        f"{path}: no such file or directory (pass an SDL file or a directory of .graphql files)"
    )


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SchemaSourceError(f"{path}: cannot read it ({error})") from error


def _git(repo: Path, *args: str) -> str:
    try:
        done = subprocess.run(  # noqa: S603 - fixed git subcommands, no shell
            ["git", "-C", str(repo), *args],  # noqa: S607 - git from PATH, as a developer runs it
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as error:
        raise SchemaSourceError(f"cannot run git ({error}); is git installed?") from error
    if done.returncode != 0:
        raise SchemaSourceError(f"git {' '.join(args)}: {done.stderr.strip() or 'failed'}")
    return done.stdout


def resolve_commit(repo: Path, ref: str) -> str | None:
    """The commit a ref names, or None when it names none (unknown ref, empty history)."""
    try:
        return _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip() or None
    except SchemaSourceError:
        return None


def sdl_files_at_ref(repo: Path, ref: str, subdir: str = SCHEMA_SUBDIR) -> list[SdlFile]:
    if resolve_commit(repo, ref) is None:
        raise SchemaSourceError(f"{ref!r} is not a commit, branch or tag of {repo}")
    listing = (
        _git(repo, "ls-tree", "--name-only", f"{ref}:{subdir}")
        if _has_dir(repo, ref, subdir)
        else ""
    )
    names = sorted(n for n in listing.splitlines() if n.endswith(".graphql"))
    if not names:
        raise SchemaSourceError(f"{ref}: no .graphql files under {subdir}/")
    return [
        SdlFile(f"{ref}:{subdir}/{n}", _git(repo, "show", f"{ref}:{subdir}/{n}")) for n in names
    ]


def _has_dir(repo: Path, ref: str, subdir: str) -> bool:
    return bool(_git(repo, "ls-tree", "-d", "--name-only", ref, "--", subdir).strip())


def _where(node: Node) -> str:
    if node.loc is None:
        return "?"
    location = node.loc.source.get_location(node.loc.start)
    return f"{node.loc.source.name}:{location.line}:{location.column}"


def _describe(errors: Sequence[GraphQLError]) -> str:
    lines = []
    for error in errors:
        where = ", ".join(_where(n) for n in error.nodes or ()) or "?"
        lines.append(f"{where}: {error.message}")
    return "\n".join(lines)


def build_sdl(files: Sequence[SdlFile]) -> GraphQLSchema:
    """Parse each file on its own (so errors name it), then validate and build the whole set."""
    documents: list[DocumentNode] = []
    for sdl in files:
        try:
            documents.append(parse(Source(sdl.text, sdl.name)))
        except GraphQLError as error:
            location = error.locations[0] if error.locations else None
            where = f"{sdl.name}:{location.line}:{location.column}" if location else sdl.name
            raise SchemaSourceError(f"{where}: {error.message}") from error
    document = concat_ast(documents)
    errors = validate_sdl(document)
    if errors:
        raise SchemaSourceError(f"the SDL is not valid:\n{_describe(errors)}")
    schema = build_ast_schema(document, assume_valid_sdl=True)
    errors = validate_schema(schema)
    if errors:
        raise SchemaSourceError(f"the schema is not valid:\n{_describe(errors)}")
    return schema


def load_path(path: Path) -> GraphQLSchema:
    return build_sdl(sdl_files_from_path(path))


def load_ref(repo: Path, ref: str, subdir: str = SCHEMA_SUBDIR) -> GraphQLSchema:
    return build_sdl(sdl_files_at_ref(repo, ref, subdir))


# --- changes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    type: str  # graphql-core's change type name, e.g. FIELD_REMOVED
    description: str

    def as_json(self) -> dict[str, str]:
        return {"type": self.type, "description": self.description}


@dataclass(frozen=True)
class SchemaDiff:
    breaking: tuple[Change, ...]
    dangerous: tuple[Change, ...]
    safe: tuple[Change, ...]

    @property
    def api_changed(self) -> bool:
        """Anything a client can observe beyond a reworded description."""
        return bool(self.breaking or self.dangerous) or any(
            c.type != SafeChangeType.DESCRIPTION_CHANGED.name for c in self.safe
        )

    @property
    def changed(self) -> bool:
        return bool(self.breaking or self.dangerous or self.safe)

    def as_json(self) -> dict[str, list[dict[str, str]]]:
        return {
            "breaking": [c.as_json() for c in self.breaking],
            "dangerous": [c.as_json() for c in self.dangerous],
            "safe": [c.as_json() for c in self.safe],
        }


def diff_schemas(old: GraphQLSchema, new: GraphQLSchema) -> SchemaDiff:
    # find_schema_changes is the one pass that graphql-core's find_breaking_changes and
    # find_dangerous_changes filter (both deprecated in 3.3); it also reports the safe ones.
    breaking: list[Change] = []
    dangerous: list[Change] = []
    safe: list[Change] = []
    for change in find_schema_changes(old, new):
        item = Change(change.type.name, change.description)
        if isinstance(change.type, BreakingChangeType):
            breaking.append(item)
        elif isinstance(change.type, DangerousChangeType):
            dangerous.append(item)
        else:
            safe.append(item)

    def ordered(changes: list[Change]) -> tuple[Change, ...]:
        return tuple(sorted(changes, key=lambda c: (c.description, c.type)))

    return SchemaDiff(ordered(breaking), ordered(dangerous), ordered(safe))


# --- descriptions --------------------------------------------------------------------------


@dataclass(frozen=True)
class DescriptionProblem:
    coordinate: str  # e.g. "AgentV2", "Query.agentsV2", "AgentV2.kernels"
    problem: str

    def as_json(self) -> dict[str, str]:
        return {"coordinate": self.coordinate, "problem": self.problem}


def current_version() -> str:
    return importlib.metadata.version("slotgraph")


def _release(version: str) -> tuple[int, int, int]:
    match = re.match(r"(\d+)\.(\d+)\.(\d+)", version)
    if match is None:
        raise SchemaSourceError(f"the package version {version!r} is not X.Y.Z")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def _is_connection(graphql_field: GraphQLField) -> bool:
    target = get_named_type(graphql_field.type)
    return isinstance(target, GraphQLObjectType) and {"edges", "pageInfo"} <= set(target.fields)


def described_elements(
    schema: GraphQLSchema,
) -> Iterator[tuple[str, str | None]]:
    """(coordinate, description) of every type, root field and connection field."""
    roots = {
        t.name for t in (schema.query_type, schema.mutation_type, schema.subscription_type) if t
    }
    for name, named in sorted(schema.type_map.items()):
        if is_introspection_type(named) or is_specified_scalar_type(named):
            continue
        if name not in roots:
            yield name, named.description
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, graphql_field in sorted(named.fields.items()):
                if name in roots or _is_connection(graphql_field):
                    yield f"{name}.{field_name}", graphql_field.description


def _coordinates(schema: GraphQLSchema) -> set[str]:
    found: set[str] = set()
    for name, named in schema.type_map.items():
        found.add(name)
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            found.update(f"{name}.{field_name}" for field_name in named.fields)
    return found


def description_problems(
    schema: GraphQLSchema, version: str, base: GraphQLSchema | None = None
) -> list[DescriptionProblem]:
    """Every type, root field and connection field says which release added it (SPEC 6), and
    the ones new since `base` name the current release."""
    current = _release(version)
    wanted = "Added in {}.{}.{}.".format(*current)
    existing = _coordinates(base) if base is not None else None
    problems: list[DescriptionProblem] = []
    for coordinate, description in described_elements(schema):
        text = (description or "").strip()
        if not text:
            problems.append(
                DescriptionProblem(
                    coordinate, f'has no description; write one that starts with "{wanted}"'
                )
            )
            continue
        match = ADDED_IN.match(text)
        if match is None:
            problems.append(
                DescriptionProblem(
                    coordinate,
                    'the description must start with "Added in X.Y.Z." naming the release that '
                    f'added it ("{wanted}" if it is new)',
                )
            )
            continue
        named = tuple(int(part) for part in match.groups())
        if named > current:
            problems.append(
                DescriptionProblem(
                    coordinate,
                    f'says "{match.group(0).strip()}", later than the current version {version}',
                )
            )
        elif existing is not None and coordinate not in existing and named != current:
            problems.append(
                DescriptionProblem(
                    coordinate,
                    f'is new since the base, so its description must start with "{wanted}", '
                    f'not "{match.group(0).strip()}"',
                )
            )
    return problems


# --- the changelog ---------------------------------------------------------------------------


def fragments_in_tree(fragments_dir: Path) -> set[str]:
    if not fragments_dir.is_dir():
        return set()
    return {
        f.name
        for f in fragments_dir.iterdir()
        if f.is_file() and f.name not in NOT_FRAGMENTS and not f.name.startswith(".")
    }


def fragments_at_ref(repo: Path, ref: str, subdir: str = FRAGMENTS_SUBDIR) -> set[str]:
    if not _has_dir(repo, ref, subdir):
        return set()
    listing = _git(repo, "ls-tree", "--name-only", f"{ref}:{subdir}")
    return {name for name in listing.splitlines() if name not in NOT_FRAGMENTS}


def is_breaking_fragment(name: str) -> bool:
    # towncrier names fragments <issue or +slug>.<type>[.<counter>].md
    return ".breaking." in f".{name}"


# --- the gate --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Base:
    ref: str
    commit: str
    why: str


def default_base(repo: Path) -> Base | None:
    """The latest release tag, else origin/main (unless that is HEAD), else the previous
    commit; None when the history has none of these (e.g. a one-commit clone)."""
    candidates: list[tuple[str, str]] = []
    try:
        tag = _git(repo, "describe", "--tags", "--abbrev=0").strip()
    except SchemaSourceError:
        tag = ""
    if tag:
        candidates.append((tag, "the latest release tag"))
    candidates += [
        ("origin/main", "origin/main (no release tag)"),
        ("HEAD~", "the previous commit"),
    ]
    head = resolve_commit(repo, "HEAD")
    for ref, why in candidates:
        commit = resolve_commit(repo, ref)
        # On main itself (CI's clone) origin/main is HEAD: comparing a commit with itself
        # would hide the change it makes, so the previous commit is the base then.
        if commit is not None and not (ref == "origin/main" and commit == head):
            return Base(ref, commit, why)
    return None


@dataclass(frozen=True)
class CheckReport:
    version: str
    base: Base | None
    diff: SchemaDiff | None
    descriptions: tuple[DescriptionProblem, ...]
    lock_stale: bool
    new_fragments: tuple[str, ...]
    warnings: tuple[str, ...] = field(default=())
    # Why the SDL and the resolvers do not make an executable schema (e.g. a resolver left
    # bound to a removed field); None when they do or when that was not tried.
    build_error: str | None = None

    @property
    def breaking_acknowledged_by(self) -> tuple[str, ...]:
        return tuple(name for name in self.new_fragments if is_breaking_fragment(name))

    @property
    def unacknowledged_breaking(self) -> bool:
        return bool(self.diff and self.diff.breaking and not self.breaking_acknowledged_by)

    @property
    def missing_fragment(self) -> bool:
        return bool(self.diff and self.diff.api_changed and not self.new_fragments)

    @property
    def failures(self) -> list[str]:
        found = []
        if self.unacknowledged_breaking:
            assert self.diff is not None
            found.append(f"{len(self.diff.breaking)} breaking change(s)")
        if self.descriptions:
            found.append(f"{len(self.descriptions)} description problem(s)")
        if self.build_error:
            found.append("the executable schema does not build")
        if self.lock_stale:
            found.append("schema.lock.graphql is out of date")
        if self.missing_fragment:
            found.append("no changelog fragment for an API change")
        return found

    @property
    def exit_code(self) -> int:
        return EXIT_FAILED if self.failures else EXIT_OK

    def as_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "base": None
            if self.base is None
            else {"ref": self.base.ref, "commit": self.base.commit, "why": self.base.why},
            **(self.diff.as_json() if self.diff else {"breaking": [], "dangerous": [], "safe": []}),
            "breaking_acknowledged_by": list(self.breaking_acknowledged_by),
            "descriptions": [p.as_json() for p in self.descriptions],
            "lock_stale": self.lock_stale,
            "build_error": self.build_error,
            "new_fragments": list(self.new_fragments),
            "missing_fragment": self.missing_fragment,
            "warnings": list(self.warnings),
            "failures": self.failures,
            "exit_code": self.exit_code,
        }


def run_check(
    repo: Path = PROJECT_DIR,
    base_ref: str | None = None,
    *,
    version: str | None = None,
    printed_schema: str | None = None,
    build_error: str | None = None,
) -> CheckReport:
    """The gate over the working tree of `repo`. `printed_schema` is what `make schema` would
    write (compared with the committed lock file); None skips that comparison, as when the
    executable schema does not build (`build_error` says why)."""
    version = version or current_version()
    new = load_path(repo / SCHEMA_SUBDIR)
    base: Base | None
    if base_ref is None:
        base = default_base(repo)
    else:
        commit = resolve_commit(repo, base_ref)
        if commit is None:
            raise SchemaSourceError(f"--base {base_ref!r} is not a commit, branch or tag here")
        base = Base(base_ref, commit, "given with --base")
    warnings: list[str] = []
    old: GraphQLSchema | None = None
    diff: SchemaDiff | None = None
    new_fragments: set[str] = set()
    if base is None:
        warnings.append(
            "no base to compare against (no release tag, no origin/main, no previous commit: "
            "a one-commit clone?); the breaking-change comparison was skipped"
        )
    elif not _has_dir(repo, base.commit, SCHEMA_SUBDIR):
        warnings.append(f"{base.ref} has no {SCHEMA_SUBDIR}/ directory; every type counts as new")
        base_fragments = fragments_at_ref(repo, base.commit)
        new_fragments = fragments_in_tree(repo / FRAGMENTS_SUBDIR) - base_fragments
    else:
        old = load_ref(repo, base.commit)
        diff = diff_schemas(old, new)
        base_fragments = fragments_at_ref(repo, base.commit)
        new_fragments = fragments_in_tree(repo / FRAGMENTS_SUBDIR) - base_fragments
        if diff.changed and not diff.api_changed and not new_fragments:
            warnings.append(
                "only descriptions changed and no changelog fragment was added; "
                "add one if the change is worth a line in the release notes"
            )
    lock = repo / "schema.lock.graphql"
    lock_stale = printed_schema is not None and (
        not lock.is_file() or lock.read_text(encoding="utf-8") != printed_schema
    )
    return CheckReport(
        version=version,
        base=base,
        diff=diff,
        descriptions=tuple(description_problems(new, version, old)),
        lock_stale=lock_stale,
        new_fragments=tuple(sorted(new_fragments)),
        warnings=tuple(warnings),
        build_error=build_error,
    )


# --- reports -------------------------------------------------------------------------------


def _one_line(text: str, limit: int = 160) -> str:
    # Description changes quote the whole new text; a reviewer needs the gist on one line.
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _section(title: str, changes: Iterable[Change], mark: str) -> list[str]:
    items = list(changes)
    if not items:
        return [f"{title}: none"]
    return [
        f"{title} ({len(items)}):",
        *(f"  {mark} {_one_line(c.description)}  [{c.type}]" for c in items),
    ]


def diff_lines(diff: SchemaDiff, breaking_note: Sequence[str] = ()) -> list[str]:
    return [
        *_section("Breaking changes (existing clients break)", diff.breaking, "-"),
        *breaking_note,
        *_section(
            "Dangerous changes (existing clients may behave differently)", diff.dangerous, "!"
        ),
        *_section("Safe changes", diff.safe, "+"),
    ]


def diff_report(old_name: str, new_name: str, diff: SchemaDiff) -> str:
    verdict = (
        f"FAILED: {len(diff.breaking)} breaking change(s)"
        if diff.breaking
        else "OK: nothing breaks"
    )
    return "\n".join([f"Schema diff: {old_name} -> {new_name}", *diff_lines(diff), verdict]) + "\n"


def check_report(report: CheckReport) -> str:
    lines: list[str] = []
    if report.base is None:
        lines.append("Schema check: working tree, no base")
    else:
        lines.append(
            f"Schema check: working tree against {report.base.ref} "
            f"({report.base.commit[:12]}, {report.base.why})"
        )
    if report.diff is not None:
        note: list[str] = []
        if report.diff.breaking and report.breaking_acknowledged_by:
            note.append(
                "  the breaking changes are announced in "
                + ", ".join(f"{FRAGMENTS_SUBDIR}/{n}" for n in report.breaking_acknowledged_by)
            )
        elif report.diff.breaking:
            note.append(
                "  restore what clients use, or, when the break is intended, announce it in a "
                f"`breaking` fragment ({FRAGMENTS_SUBDIR}/<issue>.breaking.md) for the release notes"
            )
        lines += diff_lines(report.diff, note)
    if report.descriptions:
        lines.append(
            f"Descriptions (version {report.version}): {len(report.descriptions)} problem(s)"
        )
        lines += [f"  - {p.coordinate}: {p.problem}" for p in report.descriptions]
    else:
        lines.append(f"Descriptions (version {report.version}): ok")
    if report.build_error:
        lines.append(f"Resolvers: the executable schema does not build: {report.build_error}")
    if report.lock_stale:
        lines.append(
            "Lock file: schema.lock.graphql is out of date; run `make schema` and commit it"
        )
    if report.diff is not None:
        if report.new_fragments:
            lines.append(
                "Changelog: new fragments "
                + ", ".join(f"{FRAGMENTS_SUBDIR}/{n}" for n in report.new_fragments)
            )
        elif report.missing_fragment:
            lines.append(
                "Changelog: the API changed and no fragment was added under "
                f"{FRAGMENTS_SUBDIR}/; add one, e.g. {FRAGMENTS_SUBDIR}/<issue>.feature.md "
                f"(see {FRAGMENTS_SUBDIR}/README.md)"
            )
        else:
            lines.append("Changelog: no API change, no fragment needed")
    lines += [f"Warning: {w}" for w in report.warnings]
    failures = report.failures
    lines.append(f"FAILED: {'; '.join(failures)}" if failures else "OK")
    return "\n".join(lines) + "\n"
