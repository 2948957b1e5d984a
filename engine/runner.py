"""One check run: load the rule set and the input files, evaluate, and assemble the Report with its manifest."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from engine import __version__, evaluate, explain
from engine.errors import InputError
from engine.findings import Rejection, Report
from engine.normalise import Regions, load_regions
from engine.records import LoadedFile, load_file
from engine.rules import RuleSet, load_ruleset

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RULES = PROJECT_ROOT / "rules"
DEFAULT_SCHEMAS = PROJECT_ROOT / "inputs" / "schemas"
DEFAULT_SAMPLES = PROJECT_ROOT / "inputs" / "samples"


@dataclass
class RunResult:
    """A report and the files that could not be read at all."""

    report: Report
    failed: list = field(default_factory=list)  # InputError per unreadable file


def load_rules(rules_dir: Path | None = None, schemas_dir: Path | None = None) -> RuleSet:
    return load_ruleset(Path(rules_dir or DEFAULT_RULES), Path(schemas_dir or DEFAULT_SCHEMAS))


def regions_of(ruleset: RuleSet) -> Regions:
    return load_regions(ruleset.params.table("regions"))


def evaluate_records(ruleset: RuleSet, records: list, as_of: dt.date, rules=None):
    """Results and findings for records already loaded."""
    rules = list(rules if rules is not None else ruleset.rules)
    outcome = evaluate.run(rules, records, ruleset.params, as_of)
    return explain.build(outcome, rules, records, ruleset.schemas, ruleset.documents, ruleset.measure_label)


def manifest(ruleset: RuleSet, as_of: dt.date, loaded: list[LoadedFile], failed: list[InputError]) -> dict:
    in_force = [r.id for r in ruleset.rules if r.in_force(as_of)]
    return {
        "tool": "ecocheck",
        "tool_version": __version__,
        "rules_fingerprint": ruleset.fingerprint,
        "rules_in_force": len(in_force),
        "as_of": as_of.isoformat(),
        "inputs": [f.manifest_entry() for f in loaded],
        "failed_inputs": [{"path": e.file, "error": str(e)} for e in failed],
    }


def check(paths: list[Path], ruleset: RuleSet, as_of: dt.date, kind: str | None = None) -> RunResult:
    """Read every file (a file that cannot be read is reported, the others go on), evaluate, report."""
    regions = regions_of(ruleset)
    loaded, failed = [], []
    for path in paths:
        try:
            loaded.append(load_file(Path(path), ruleset.schemas, regions, kind))
        except InputError as exc:
            failed.append(exc)
    records = [record for f in loaded for record in f.records]
    results, findings = evaluate_records(ruleset, records, as_of)
    rejected: list[Rejection] = [r for f in loaded for r in f.rejected]
    report = Report(manifest=manifest(ruleset, as_of, loaded, failed), findings=findings, results=results,
                    rejected=rejected)
    return RunResult(report=report, failed=failed)


def sample_paths(directory: Path | None = None) -> list[Path]:
    directory = Path(directory or DEFAULT_SAMPLES)
    return sorted(p for p in directory.iterdir() if p.suffix.lower() in (".csv", ".xlsx", ".json"))
