"""The schema gate fails where it should: breaking changes, missing or stale descriptions,
unannounced API changes, unreadable SDL; and `schema diff` keeps its exit codes and JSON shape.

Every case works on a scratch copy of schema/ (and, for the git-based check, a scratch
repository in tmp_path); the project's own files and history are never touched."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from app import schema_tools as tools
from app.cli import main
from app.schema import SCHEMA_DIR

CONTAINER_COUNT = "  containerCount: Int!\n"
CONTAINER_COUNT_DESCRIBED = (
    '  """\n  How many kernels on this agent are not yet terminated or cancelled.\n  """\n'
    + CONTAINER_COUNT
)


def scratch_schema(root: Path) -> Path:
    target = root / "schema"
    shutil.copytree(SCHEMA_DIR, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} is not in {path.name} exactly once"
    path.write_text(text.replace(old, new))


# --- diff ----------------------------------------------------------------------------------


@pytest.fixture
def before_after(tmp_path: Path) -> tuple[Path, Path]:
    before = scratch_schema(tmp_path / "before")
    after = scratch_schema(tmp_path / "after")
    return before, after


def test_identical_schemas_have_no_changes(before_after: tuple[Path, Path]) -> None:
    before, after = before_after
    diff = tools.diff_schemas(tools.load_path(before), tools.load_path(after))
    assert diff == tools.SchemaDiff((), (), ())
    assert not diff.changed


def test_a_removed_field_is_breaking(before_after: tuple[Path, Path]) -> None:
    before, after = before_after
    edit(after / "agent.graphql", CONTAINER_COUNT_DESCRIBED, "")
    diff = tools.diff_schemas(tools.load_path(before), tools.load_path(after))
    assert diff.breaking == (
        tools.Change("FIELD_REMOVED", "Field AgentV2.containerCount was removed."),
    )
    assert (diff.dangerous, diff.safe) == ((), ())


def test_a_changed_field_type_is_breaking(before_after: tuple[Path, Path]) -> None:
    before, after = before_after
    edit(after / "agent.graphql", CONTAINER_COUNT, "  containerCount: String!\n")
    diff = tools.diff_schemas(tools.load_path(before), tools.load_path(after))
    assert diff.breaking == (
        tools.Change(
            "FIELD_CHANGED_KIND", "Field AgentV2.containerCount changed type from Int! to String!."
        ),
    )


def test_a_new_required_argument_and_a_removed_enum_value_are_breaking(
    before_after: tuple[Path, Path],
) -> None:
    before, after = before_after
    edit(
        after / "schema.graphql",
        "resourceSlotType(slotName: String!)",
        "resourceSlotType(slotName: String!, region: String!)",
    )
    edit(after / "agent.graphql", "  RESTARTING\n", "")
    diff = tools.diff_schemas(tools.load_path(before), tools.load_path(after))
    assert [c.type for c in diff.breaking] == ["REQUIRED_ARG_ADDED", "VALUE_REMOVED_FROM_ENUM"]


def test_a_new_enum_value_is_dangerous_and_a_new_field_is_safe(
    before_after: tuple[Path, Path],
) -> None:
    before, after = before_after
    edit(after / "agent.graphql", "  RESTARTING\n", "  RESTARTING\n  DRAINING\n")
    edit(after / "agent.graphql", CONTAINER_COUNT, CONTAINER_COUNT + "  gpuCount: Int\n")
    diff = tools.diff_schemas(tools.load_path(before), tools.load_path(after))
    assert diff.breaking == ()
    assert diff.dangerous == (
        tools.Change("VALUE_ADDED_TO_ENUM", "Enum value AgentStatusEnum.DRAINING was added."),
    )
    assert diff.safe == (tools.Change("FIELD_ADDED", "Field AgentV2.gpuCount was added."),)
    assert diff.api_changed


def test_a_reworded_description_is_safe_and_no_api_change(before_after: tuple[Path, Path]) -> None:
    before, after = before_after
    edit(after / "agent.graphql", "How many kernels on this agent", "How many kernels on the agent")
    diff = tools.diff_schemas(tools.load_path(before), tools.load_path(after))
    assert [c.type for c in diff.safe] == ["DESCRIPTION_CHANGED"]
    assert diff.changed
    assert not diff.api_changed


# --- `python -m app schema diff`: exit codes, reports, JSON --------------------------------


def test_diff_cli_exits_1_with_json_listing_the_breaking_change(
    before_after: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    before, after = before_after
    edit(after / "agent.graphql", CONTAINER_COUNT, "  containerCount: Boolean!\n")
    edit(after / "agent.graphql", "  RESTARTING\n", "  RESTARTING\n  DRAINING\n")
    code = main(["schema", "diff", str(before), str(after), "--json"])
    assert code == 1
    assert json.loads(capsys.readouterr().out) == {
        "old": str(before),
        "new": str(after),
        "breaking": [
            {
                "type": "FIELD_CHANGED_KIND",
                "description": "Field AgentV2.containerCount changed type from Int! to Boolean!.",
            }
        ],
        "dangerous": [
            {
                "type": "VALUE_ADDED_TO_ENUM",
                "description": "Enum value AgentStatusEnum.DRAINING was added.",
            }
        ],
        "safe": [],
        "exit_code": 1,
    }


def test_diff_cli_exits_0_on_additions_and_prints_them(
    before_after: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    before, after = before_after
    edit(
        after / "scalars.graphql",
        "scalar JSON\n",
        'scalar JSON\n\n"""\nAdded in 26.3.0. A byte count.\n"""\nscalar Bytes\n',
    )
    assert main(["schema", "diff", str(before), str(after)]) == 0
    out = capsys.readouterr().out
    assert "Breaking changes (existing clients break): none" in out
    assert "Safe changes (1):\n  + Bytes was added.  [TYPE_ADDED]" in out
    assert out.endswith("OK: nothing breaks\n")


def test_diff_cli_takes_single_files(
    before_after: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before, _ = before_after
    lock = tmp_path / "lock.graphql"
    lock.write_text((SCHEMA_DIR.parent / "schema.lock.graphql").read_text())
    edit(lock, "  containerCount: Int!\n", "  containerCount: Int\n")
    assert main(["schema", "diff", str(before), str(lock), "--json"]) == 1
    body = json.loads(capsys.readouterr().out)
    assert body["breaking"] == [
        {
            "type": "FIELD_CHANGED_KIND",
            "description": "Field AgentV2.containerCount changed type from Int! to Int.",
        }
    ]


def test_diff_cli_exits_2_naming_file_and_line_of_a_syntax_error(
    before_after: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    before, after = before_after
    edit(after / "kernel.graphql", "  localRank: Int!\n", "  localRank Int!\n")
    assert main(["schema", "diff", str(before), str(after)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    line = (after / "kernel.graphql").read_text().splitlines().index("  localRank Int!") + 1
    assert captured.err.startswith(f"slotgraph: {after / 'kernel.graphql'}:{line}:13: Syntax Error")


def test_diff_cli_exits_2_naming_file_and_line_of_an_unknown_type(
    before_after: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    before, after = before_after
    edit(after / "kernel.graphql", "  localRank: Int!\n", "  localRank: Integer!\n")
    assert main(["schema", "diff", str(before), str(after)]) == 2
    err = capsys.readouterr().err
    line = (after / "kernel.graphql").read_text().splitlines().index("  localRank: Integer!") + 1
    assert f"{after / 'kernel.graphql'}:{line}:14: Unknown type 'Integer'." in err


def test_diff_cli_exits_2_on_a_missing_path_or_bad_usage(
    before_after: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before, _ = before_after
    assert main(["schema", "diff", str(before), str(tmp_path / "nope.graphql")]) == 2
    assert "nope.graphql: no such file or directory" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["schema", "diff", str(empty), str(before)]) == 2
    assert "no .graphql files in this directory" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main(["schema", "diff", str(before)])
    assert usage.value.code == 2


# --- descriptions --------------------------------------------------------------------------

BASE_SDL = '''
"""
Added in 26.3.0. A kind of slot.
"""
type SlotKind {
  name: String!
}

"""
Added in 26.3.0. A page of slot kinds.
"""
type SlotKindConnection {
  """
  Where the page sits.
  """
  pageInfo: Info!
  edges: [SlotKind!]!
}

"""
Added in 26.3.0. Paging.
"""
type Info {
  more: Boolean!
}

"""
Added in 26.3.0. Owner of slot kinds.
"""
type Holder {
  """
  Added in 26.3.0. Its kinds.
  """
  kinds: SlotKindConnection!
  plain: String
}

type Query {
  """
  Added in 26.3.0. Every slot kind.
  """
  kinds: SlotKindConnection!
  """
  Added in 26.3.0. A holder.
  """
  holder: Holder
}
'''


def problems(text: str, version: str = "26.3.0", base: str | None = None) -> list[str]:
    schema = tools.build_sdl([tools.SdlFile("new.graphql", text)])
    old = tools.build_sdl([tools.SdlFile("old.graphql", base)]) if base is not None else None
    return [
        f"{p.coordinate}: {p.problem}" for p in tools.description_problems(schema, version, old)
    ]


def test_the_real_schema_is_fully_described() -> None:
    schema = tools.load_path(SCHEMA_DIR)
    assert tools.description_problems(schema, tools.current_version(), schema) == []
    checked = dict(tools.described_elements(schema))
    # Types, every root field and every connection field; not the plain fields.
    assert {"AgentV2", "Query.agentsV2", "Query.node", "AgentV2.kernels"} <= set(checked)
    assert "AgentV2.containerCount" not in checked
    assert "Query" not in checked


def test_a_well_described_schema_passes() -> None:
    assert problems(BASE_SDL, base=BASE_SDL) == []


def test_a_missing_description_is_reported_on_types_root_and_connection_fields() -> None:
    text = BASE_SDL.replace('"""\nAdded in 26.3.0. Paging.\n"""\n', "")
    text = text.replace('  """\n  Added in 26.3.0. Its kinds.\n  """\n', "")
    text = text.replace('  """\n  Added in 26.3.0. A holder.\n  """\n', "")
    wanted = 'has no description; write one that starts with "Added in 26.3.0."'
    assert problems(text) == [
        f"Holder.kinds: {wanted}",
        f"Info: {wanted}",
        f"Query.holder: {wanted}",
    ]


def test_a_description_without_the_added_in_prefix_is_reported() -> None:
    text = BASE_SDL.replace("Added in 26.3.0. Every slot kind.", "Every slot kind.")
    assert problems(text) == [
        'Query.kinds: the description must start with "Added in X.Y.Z." naming the release '
        'that added it ("Added in 26.3.0." if it is new)'
    ]


def test_a_new_type_must_name_the_current_release() -> None:
    added = BASE_SDL + '\n"""\nAdded in 26.3.0. A label.\n"""\nscalar Label\n'
    # At 26.4.0 the new scalar still says 26.3.0: wrong. The old types keep their 26.3.0.
    assert problems(added, version="26.4.0", base=BASE_SDL) == [
        'Label: is new since the base, so its description must start with "Added in 26.4.0.", '
        'not "Added in 26.3.0."'
    ]
    fixed = added.replace("Added in 26.3.0. A label.", "Added in 26.4.0. A label.")
    assert problems(fixed, version="26.4.0", base=BASE_SDL) == []


def test_a_new_root_field_must_name_the_current_release() -> None:
    added = BASE_SDL.replace(
        "  holder: Holder\n", '  holder: Holder\n  """\n  A count.\n  """\n  total: Int!\n'
    )
    assert problems(added, version="26.4.0", base=BASE_SDL) == [
        'Query.total: the description must start with "Added in X.Y.Z." naming the release '
        'that added it ("Added in 26.4.0." if it is new)'
    ]


def test_a_release_later_than_the_package_is_reported() -> None:
    text = BASE_SDL.replace("Added in 26.3.0. A kind of slot.", "Added in 27.0.0. A kind of slot.")
    assert problems(text) == [
        'SlotKind: says "Added in 27.0.0.", later than the current version 26.3.0'
    ]


def test_the_current_version_comes_from_the_package_metadata() -> None:
    import importlib.metadata

    assert tools.current_version() == importlib.metadata.version("slotgraph")


# --- the gate on a git history -------------------------------------------------------------


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        [
            "git",
            "-C",
            str(repo),
            "-c",
            "user.name=Schema Test",
            "-c",
            "user.email=schema-test@example.invalid",
            "-c",
            "commit.gpgsign=false",
            *args,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    scratch_schema(root)
    (root / "changes").mkdir()
    (root / "changes" / "README.md").write_text("fragments\n")
    commit_all(root, "first")
    (root / "notes.txt").write_text("a second commit, so HEAD~ exists\n")
    commit_all(root, "second")
    return root


def check(repo: Path, base: str | None = None, printed: str | None = None) -> tools.CheckReport:
    return tools.run_check(repo, base, version="26.3.0", printed_schema=printed)


def test_no_change_passes_against_the_previous_commit(repo: Path) -> None:
    report = check(repo)
    assert report.base is not None
    assert (report.base.ref, report.base.why) == ("HEAD~", "the previous commit")
    assert report.exit_code == 0
    assert tools.check_report(report).endswith("\nOK\n")


def test_a_breaking_change_fails_the_gate(repo: Path) -> None:
    edit(repo / "schema" / "agent.graphql", CONTAINER_COUNT_DESCRIBED, "")
    (repo / "changes" / "+count.feature.md").write_text("Counting.\n")
    report = check(repo)
    assert report.exit_code == 1
    assert report.failures == ["1 breaking change(s)"]
    text = tools.check_report(report)
    assert "  - Field AgentV2.containerCount was removed.  [FIELD_REMOVED]" in text
    assert "announce it in a `breaking` fragment" in text


def test_a_breaking_fragment_announces_an_intended_break(repo: Path) -> None:
    edit(repo / "schema" / "agent.graphql", CONTAINER_COUNT_DESCRIBED, "")
    (repo / "changes" / "12.breaking.md").write_text("`AgentV2.containerCount` is gone.\n")
    report = check(repo)
    assert report.exit_code == 0
    assert report.breaking_acknowledged_by == ("12.breaking.md",)
    assert [c["type"] for c in report.as_json()["breaking"]] == ["FIELD_REMOVED"]
    assert "announced in changes/12.breaking.md" in tools.check_report(report)


def test_an_api_change_without_a_fragment_fails_and_a_fragment_fixes_it(repo: Path) -> None:
    # A fragment already at the base does not count for a change made after it.
    (repo / "changes" / "old.feature.md").write_text("Old news.\n")
    commit_all(repo, "old fragment")
    edit(repo / "schema" / "agent.graphql", CONTAINER_COUNT, CONTAINER_COUNT + "  gpuCount: Int\n")
    report = check(repo, base="HEAD")
    assert report.failures == ["no changelog fragment for an API change"]
    assert "the API changed and no fragment was added under changes/" in tools.check_report(report)
    assert check(repo, base="HEAD~").new_fragments == ("old.feature.md",)
    (repo / "changes" / "+gpu-count.feature.md").write_text("`AgentV2.gpuCount`.\n")
    assert check(repo, base="HEAD").exit_code == 0


def test_a_description_only_change_warns_without_failing(repo: Path) -> None:
    edit(
        repo / "schema" / "agent.graphql",
        "How many kernels on this agent",
        "How many kernels on it",
    )
    report = check(repo)
    assert report.exit_code == 0
    assert report.warnings == (
        "only descriptions changed and no changelog fragment was added; add one if the change "
        "is worth a line in the release notes",
    )


def test_a_new_type_without_its_release_fails_the_gate(repo: Path) -> None:
    edit(
        repo / "schema" / "scalars.graphql",
        "scalar JSON\n",
        'scalar JSON\n\n"""\nA byte count.\n"""\nscalar Bytes\n',
    )
    (repo / "changes" / "+bytes.feature.md").write_text("Bytes.\n")
    report = tools.run_check(repo, version="26.4.0")
    assert report.exit_code == 1
    assert [(p.coordinate, p.problem[:40]) for p in report.descriptions] == [
        ("Bytes", 'the description must start with "Added i')
    ]


def test_a_stale_lock_file_fails_the_gate(repo: Path) -> None:
    (repo / "schema.lock.graphql").write_text("type Query { old: Int }\n")
    report = check(repo, printed="type Query { new: Int }\n")
    assert report.failures == ["schema.lock.graphql is out of date"]
    assert check(repo, printed="type Query { old: Int }\n").exit_code == 0


def test_a_schema_that_does_not_build_with_its_resolvers_fails_the_gate(repo: Path) -> None:
    report = tools.run_check(
        repo,
        version="26.3.0",
        build_error="Field containerCount is not defined on type AgentV2",
    )
    assert report.failures == ["the executable schema does not build"]
    assert report.as_json()["build_error"] == "Field containerCount is not defined on type AgentV2"
    assert "Resolvers: the executable schema does not build: Field containerCount" in (
        tools.check_report(report)
    )


def test_the_base_is_the_latest_tag_when_there_is_one(repo: Path) -> None:
    git(repo, "tag", "26.3.0", "HEAD~")
    report = check(repo)
    assert report.base is not None
    assert (report.base.ref, report.base.why) == ("26.3.0", "the latest release tag")
    assert report.base.commit == git(repo, "rev-parse", "HEAD~").strip()


def test_a_one_commit_clone_compares_against_nothing(tmp_path: Path) -> None:
    root = tmp_path / "single"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    scratch_schema(root)
    commit_all(root, "only")
    report = check(root)
    assert report.base is None
    assert report.diff is None
    assert report.exit_code == 0
    assert report.warnings[0].startswith("no base to compare against")
    assert "Schema check: working tree, no base" in tools.check_report(report)


def test_an_unknown_base_ref_is_unusable(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(tools.SchemaSourceError, match="'no-such-ref' is not a commit"):
        check(repo, base="no-such-ref")
    assert main(["schema", "check", "--base", "no-such-ref-anywhere"]) == 2
    assert "is not a commit, branch or tag" in capsys.readouterr().err


def test_the_base_schema_is_read_from_git_not_the_working_tree(repo: Path) -> None:
    edit(repo / "schema" / "agent.graphql", CONTAINER_COUNT, "  containerCount: Float!\n")
    (repo / "changes" / "1.breaking.md").write_text("Float.\n")
    commit_all(repo, "float")
    report = check(repo, base="HEAD~")
    assert report.diff is not None
    assert [c.type for c in report.diff.breaking] == ["FIELD_CHANGED_KIND"]
    assert report.new_fragments == ("1.breaking.md",)


def test_check_cli_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    # The real project: whatever its state, the JSON has this shape and its exit code.
    code = main(["schema", "check", "--json"])
    body = json.loads(capsys.readouterr().out)
    assert set(body) == {
        "version",
        "base",
        "breaking",
        "dangerous",
        "safe",
        "breaking_acknowledged_by",
        "descriptions",
        "lock_stale",
        "build_error",
        "new_fragments",
        "missing_fragment",
        "warnings",
        "failures",
        "exit_code",
    }
    assert body["exit_code"] == code
    assert (code == 0) == (body["failures"] == [])
