"""Shared fixtures: the bundled rule set, loaded once per test session, and a copy of the headline rules."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings

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

# Property tests are sized for CI; `--hypothesis-profile=long` runs ten times as many examples (README, Tests). The
# profiles are registered here, before pytest applies the option; a test that sets its own size takes scaled(n).
# This file is imported twice (as pytest's `conftest` and as `tests.conftest` by the modules that import scaled), the
# second time after the option is applied: "ci" is loaded only over hypothesis' default, not over the option's profile
# (until 2026-12-02 the second import loaded "ci" again, and `--hypothesis-profile=long` ran the CI sizes).
CI_EXAMPLES = 100
settings.register_profile("ci", max_examples=CI_EXAMPLES, deadline=None)
settings.register_profile("long", max_examples=CI_EXAMPLES * 10, deadline=None)
if settings.get_current_profile_name() == "default":
    settings.load_profile("ci")


def scaled(examples: int) -> int:
    """A property test's number of examples in CI, times ten under the `long` profile."""
    return examples * settings().max_examples // CI_EXAMPLES


def yaml_file(path: Path):
    """A YAML file's data through libyaml's safe loader (the pure-Python yaml.safe_load is ten times slower, and the
    tests read every rule file several times)."""
    import yaml
    return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


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


# ----------------------------------------------------------------------------------------- the demo, once
DEMO_AS_OF = "2021-06-30"


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """`ecocheck demo --as-of DEMO_AS_OF` run once for the whole test session, in process: the test workers share
    one output folder (the first to need it writes it under a file lock; the others wait and read). Tests only
    read it. Returns (folder, the CompletedProcess with the demo's exit code and output)."""
    import fcntl
    import json

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    out, done = shared / "demo", shared / "demo.json"
    with open(shared / "demo.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            proc = cli_run("demo", "--out", out, "--as-of", DEMO_AS_OF)
            done.write_text(json.dumps([proc.returncode, proc.stdout, proc.stderr]), encoding="utf-8")
    code, stdout, stderr = json.loads(done.read_text(encoding="utf-8"))
    return out, subprocess.CompletedProcess(["demo"], code, stdout, stderr)


# ----------------------------------------------------------------------------------------- the run store
# No test writes to the user's real store: `check` and `letters` record runs by default, into ECOCHECK_DB.
# One store for each test worker: the workers inherit the controller's environment, and a test that counts the runs
# of the store would count the other worker's runs too.
_STORE_PREFIX = f"ecocheck-test-store-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-"
if _STORE_PREFIX not in os.environ.get("ECOCHECK_DB", ""):  # (conftest may be imported twice)
    os.environ["ECOCHECK_DB"] = str(Path(tempfile.mkdtemp(prefix=_STORE_PREFIX)) / "runs.sqlite")


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


# ----------------------------------------------------------------------------------------- order of the files
# The two workers take whole files (--dist loadfile) in collection order (--no-loadscope-reorder in setup.cfg: xdist 3.8
# otherwise hands out the files with the most tests first, whatever their time); the longest files go first, so that
# the run does not end with one worker alone on a long file. Measured on 2 cores (2026-12-02, 22:25 UTC, seconds per
# file): engines_agree 34, store 23, fuzz 19 + 19, findings_columns 16, cli 15 (the demo run included),
# loading_property 13, wheel 12, lang 6, chains 5, partitions 5, loading 4, rulecache 4, xlsxwrite 3, the others
# under 3. The demo's two other files wait for test_cli's demo run: late.
LONG_FIRST = ("test_engines_agree.py", "test_store.py", "test_fuzz_records_1.py", "test_fuzz_records_2.py",
              "test_findings_columns.py", "test_cli.py", "test_loading_property.py", "test_wheel.py", "test_lang.py",
              "test_engines_agree_chains.py", "test_partitions.py", "test_loading.py", "test_rulecache.py",
              "test_xlsxwrite.py", "test_rule_examples.py", "test_annual.py", "test_bad_input.py",
              "test_hostile_xlsx.py", "test_hostile_inputs.py")


def pytest_collection_modifyitems(items):
    rank = {name: n for n, name in enumerate(LONG_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # (stable: each file's own order kept)
