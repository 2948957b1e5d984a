"""Shared fixtures: the bundled rule set, loaded once per test session, and a copy of the headline rules."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

os.environ.pop("ECOCHECK_LANG", None)  # the tests assert the default language, Chinese (a few set it themselves)

from engine.rules import rule_files
from engine.runner import load_rules

ROOT = Path(__file__).resolve().parents[1]

CORE_RULES = ("BOILER-001", "BOILER-002", "BOILER-003", "COAL-001", "PREF-001", "PREF-002", "PREF-003",
              "PROJ-001", "PROJ-002")

# The rule-set cache of the tests (engine.rulecache) in a folder of their own, not the user's cache directory: set
# before collection (modules load rules when imported), inherited by the CLI tests that run in a child process.
# Entries are keyed by content, so runs of other branches can share the folder.
os.environ.setdefault("ECOCHECK_CACHE_DIR", str(Path(tempfile.gettempdir()) / "ecocheck-test-rule-cache"))


def copy_core_rules(target: Path) -> Path:
    """rules/ with its data folders and top-level files, and only the CORE_RULES rule files (so that tests of the
    headline rules do not change when more rules are added)."""
    rules = ROOT / "rules"
    rule_paths = {p.stem: p for p in rule_files(rules)}
    target.mkdir(parents=True, exist_ok=True)
    for item in rules.iterdir():
        if item.is_file():
            shutil.copy(item, target / item.name)
        elif item.is_dir() and not any(item == p.parent for p in rule_paths.values()):
            shutil.copytree(item, target / item.name)
    for rule_id in CORE_RULES:
        source = rule_paths[rule_id]
        (target / source.parent.name).mkdir(exist_ok=True)
        shutil.copy(source, target / source.parent.name / source.name)
    return target


@pytest.fixture(scope="session")
def ruleset():
    return load_rules()


@pytest.fixture(scope="module")
def both_readers():
    """Every chunk read column-wise is also read row by row (records.rows_to_records, the reference): the records,
    the rejections (reasons and order) and the row accounting must be identical."""
    import copy

    from engine import columnread
    from engine.records import rows_to_records

    vectorised = columnread.chunk_to_batch

    def checked(frame, plan, regions, path, report, fractions):
        reference = copy.deepcopy(report)
        records, rejected = rows_to_records(frame, plan, regions, path, reference, fractions)
        batch, batch_rejected = vectorised(frame, plan, regions, path, report, fractions)
        assert batch_rejected == rejected
        assert list(batch) == records
        assert (report.rows, report.evaluated, report.rejected) == \
            (reference.rows, reference.evaluated, reference.rejected)
        return batch, batch_rejected

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(columnread, "chunk_to_batch", checked)
        patch.setattr(columnread, "SMALL_CHUNK", 0)  # small test tables too go through the column-wise reader
        yield


_RULESETS: dict = {}


def _cached_ruleset(rules_dir, schemas_dir):
    """The CLI's rule loading, once per (rules, schemas) directory pair in a test session."""
    from engine.runner import load_rules
    key = (str(rules_dir), str(schemas_dir))
    if key not in _RULESETS:
        _RULESETS[key] = load_rules(rules_dir, schemas_dir)
    return _RULESETS[key]


def cli_run(*args, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """`ecocheck ARGS` in this process (click's test isolation around engine.cli.main, the real entry point that
    turns errors into `错误：…` and exit codes), with the rule set loaded once per session."""
    import os

    from click.testing import CliRunner

    from engine import cli

    runner = CliRunner()
    previous = os.getcwd()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cli, "_ruleset", _cached_ruleset)
        os.chdir(cwd)
        try:
            with runner.isolation() as (out, err, _):
                try:
                    cli.main([str(a) for a in args])
                    code = 0
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                stdout = out.getvalue().decode("utf-8", "replace")
                stderr = err.getvalue().decode("utf-8", "replace")
        finally:
            os.chdir(previous)
    assert "Traceback" not in stderr, stderr
    assert "Traceback" not in stdout, stdout
    return subprocess.CompletedProcess(list(args), code, stdout, stderr)


# ----------------------------------------------------------------------------------------- the run store
# No test writes to the user's real store: `check` and `letters` record runs by default, into ECOCHECK_DB.
if "ecocheck-test-store-" not in os.environ.get("ECOCHECK_DB", ""):  # (conftest may be imported twice)
    os.environ["ECOCHECK_DB"] = str(Path(tempfile.mkdtemp(prefix="ecocheck-test-store-")) / "runs.sqlite")


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server of the test session (one per xdist worker), or None when ECOCHECK_TEST_NO_POSTGRES=1."""
    from pgserver import OPT_OUT, Server
    if os.environ.get(OPT_OUT, "").strip() in ("1", "yes", "true"):
        yield None
        return
    server = None
    try:
        server = Server()
        server.start()
    except (RuntimeError, OSError, LookupError, subprocess.SubprocessError) as exc:
        if server is not None:
            server.stop()
        pytest.fail(f"PostgreSQL for the store tests could not be started: {exc} (run `make postgres` as root; "
                    f"ECOCHECK_TEST_NO_POSTGRES=1 leaves PostgreSQL out)", pytrace=False)
    yield server
    server.stop()


_DATABASES = iter(range(1, 1_000_000))


@pytest.fixture(params=["sqlite", "postgresql"])
def store_location(request, tmp_path):
    """An empty run store: an SQLite file, or a new database on the session's PostgreSQL server."""
    if request.param == "sqlite":
        return str(tmp_path / "runs.sqlite")
    server = request.getfixturevalue("postgres_server")
    if server is None:
        pytest.skip("ECOCHECK_TEST_NO_POSTGRES is set: PostgreSQL left out on purpose")
    return server.create_database(f"ecocheck_test_{os.getpid()}_{next(_DATABASES)}")
