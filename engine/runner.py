"""One check run: load the rule set, stream the input files through the engine, and assemble the Report."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from engine import __version__, annual_targets, batchfindings, columnar, evaluate, explain, resources
from engine.batch import RecordBatch
from engine.errors import InputError, os_problem
from engine.lang import tr
from engine.findings import Report
from engine.findingstore import FindingStore
from engine.normalise import Regions, load_regions
from engine.duplicates import Duplicates
from engine.records import stream_file
from engine.rules import RuleSet, load_ruleset
from engine.subjects_read import SubjectsRead

DEFAULT_RULES = resources.rules_dir()
DEFAULT_SCHEMAS = resources.schemas_dir()
DEFAULT_SAMPLES = resources.samples_dir()
ENGINE_BATCH = 5_000  # records per engine session: durable_rules keeps ~8 KB per fact until the session ends


@dataclass
class RunResult:
    """A report and the files that could not be read at all."""

    report: Report
    failed: list = field(default_factory=list)  # InputError per unreadable file
    held: list = field(default_factory=list)  # records of the kinds in consequence chains (prefecture years …)


def load_rules(rules_dir: Path | None = None, schemas_dir: Path | None = None) -> RuleSet:
    """The validated rule set, from the rule-set cache when its files have not changed (engine.rulecache)."""
    from engine import rulecache
    return rulecache.cached(Path(rules_dir or DEFAULT_RULES), Path(schemas_dir or DEFAULT_SCHEMAS), load_ruleset)


def regions_of(ruleset: RuleSet) -> Regions:
    return load_regions(ruleset.params.table("regions"))


def evaluate_records(ruleset: RuleSet, records: list, as_of: dt.date, rules=None, engine: str = "column"):
    """Results and findings for records already loaded, evaluated together (chains join across them)."""
    rules = list(rules if rules is not None else ruleset.rules)
    outcome = evaluate.run(rules, records, ruleset.params, as_of, engine=engine)
    return explain.build(outcome, rules, records, ruleset.schemas, ruleset.documents, ruleset.measure_label)


def chained_kinds(rules) -> set:
    """Kinds whose records must be evaluated together: they derive measures or join against them."""
    return {r.kind for r in rules if r.joins or r.derives}


class _Collector:
    """Accumulates findings (compressed, in input order) and state counts batch by batch, keeping every Result
    only when asked to."""

    def __init__(self, ruleset: RuleSet, as_of: dt.date, keep_results: bool, table_order: dict,
                 engine: str = "column", csv: bool = False, stream=None, keep_findings: bool = True):
        self.ruleset, self.as_of, self.engine, self.csv = ruleset, as_of, engine, csv
        self.findings, self.counts = FindingStore(stream=stream, keep=keep_findings), Counter()
        self.results = [] if keep_results else None
        self.table_order = table_order  # table path -> position in the run
        self._compiled: dict = {}  # kind -> its rules compiled for the column executor (once per run)
        self._explainer = None  # the checks explained so far (batchfindings.BatchExplainer, once per run)

    def add(self, records):
        if self.engine == "column" and isinstance(records, RecordBatch):
            self._evaluate_batch(records)
            return
        for start in range(0, len(records), ENGINE_BATCH):
            self._evaluate(records[start:start + ENGINE_BATCH])

    def _evaluate_batch(self, batch: RecordBatch):
        """A batch of single-record rules' kind through the column executor; Records are built only for the rows
        that become findings (every row when all results are kept)."""
        rules = [r for r in self.ruleset.rules if r.kind == batch.kind and r.joins is None and r.in_force(self.as_of)]
        if not rules or not len(batch):
            return
        compiled = self._compiled.get(batch.kind)
        if compiled is None:
            compiled = self._compiled[batch.kind] = columnar.compile_rules(rules)
        outcome = columnar.evaluate_batch(compiled, batch, self.ruleset.params, self.as_of)
        self.counts.update(outcome.counts({r.id: "violation" if r.is_binding else "gap" for r in rules}))
        if self.results is None and getattr(batch, "regions", None) is not None:  # read column-wise: findings too
            if self._explainer is None:
                self._explainer = batchfindings.BatchExplainer(self.ruleset.documents, csv=self.csv)
            table = self.table_order.get(batch.file, len(self.table_order))
            for part in batchfindings.build_batch(outcome, rules, batch, self.ruleset.schemas[batch.kind],
                                                  batch.regions, self._explainer):
                self.findings.add_json(part, (table, part.first_row))
            return
        partial = evaluate.Outcome(states=outcome.states(only_findings=self.results is None), measures=[], lapsed=[],
                                   slots=outcome.slots, slotted=outcome.slotted)
        results, findings = explain.build(partial, rules, batch, self.ruleset.schemas, self.ruleset.documents,
                                          self.ruleset.measure_label)
        self._store(findings)
        if self.results is not None:
            self.results.extend(results)

    def add_together(self, records: list):
        if records:
            self._evaluate(records)

    def _evaluate(self, records: list):
        results, findings = evaluate_records(self.ruleset, records, self.as_of, engine=self.engine)
        self.counts.update(r.status for r in results)
        self._store(findings)
        if self.results is not None:
            self.results.extend(results)

    def _store(self, findings: list):
        by_table: dict = {}
        for finding in findings:
            by_table.setdefault(finding.source.file, []).append(finding)
        for path, part in by_table.items():
            part.sort(key=lambda f: (f.source.row, f.rule_id))
            self.findings.add(part, (self.table_order.get(path, len(self.table_order)), part[0].source.row))


def manifest(ruleset: RuleSet, as_of: dt.date, tables: list, failed: list[InputError]) -> dict:
    in_force = [r.id for r in ruleset.rules if r.in_force(as_of)]
    return {
        "tool": "ecocheck",
        "tool_version": __version__,
        "rules_fingerprint": ruleset.fingerprint,
        "rules_in_force": len(in_force),
        "as_of": as_of.isoformat(),
        "inputs": [t.manifest_entry() for t in tables],
        "failed_inputs": [{"path": e.file, "error": str(e)} for e in failed],
    }


def check(paths: list[Path], ruleset: RuleSet, as_of: dt.date, kind: str | None = None, sheet: str | None = None,
          keep_results: bool = False, annual=None, engine: str = "column", progress=None,
          seen: set | None = None, csv: bool = False, stream=None, keep_findings: bool = True) -> RunResult:
    """Stream every file through the engine (a file that cannot be read is reported, the others go on).

    Records of kinds in consequence chains are held and evaluated together at the end; all others are evaluated
    in batches as they are read, so memory follows the findings, not the input size. `engine`: "column" (single-record
    rules as column masks) or "durable" (every rule in durable_rules, the reference).

    `annual` (engine.annual_targets.Settings) says where the annual targets of 2016–2019 prefecture records come
    from: the issued table, else derived by its method (default: no issued table, linear).

    `seen`, when given, receives (kind, id) of every record evaluated (the run store tells fixed from unchecked).
    `csv`: findings read column-wise are kept with their lines of the findings CSV too (for check --format csv).

    `stream` (a findingstream.JsonStream): the findings' JSON is written there as they are found, up to the first
    table of a kind evaluated at the end (its findings come before those of the tables after it); `keep_findings=False`:
    those it wrote are not kept in the report (for a run whose findings nothing reads again)."""
    regions = regions_of(ruleset)
    together = chained_kinds(ruleset.rules)
    table_order: dict = {}
    collector = _Collector(ruleset, as_of, keep_results, table_order, engine, csv, stream, keep_findings)
    tables, failed, rejected, held = [], [], [], []
    duplicates = Duplicates()
    seen_paths = set()
    for path in paths:
        try:
            resolved = Path(path).resolve()
        except (OSError, RuntimeError):  # a symbolic link loop (RuntimeError before Python 3.13)
            failed.append(InputError(tr("无法打开该路径：其符号链接形成循环", "cannot follow the path: its symbolic links form a loop"),
                                     file=str(path), fix=tr("让链接指向真正的文件", "point the link at the real file")))
            continue
        if resolved in seen_paths:
            continue  # the same file named twice is read once
        seen_paths.add(resolved)
        try:
            for table, records, rejections in stream_file(Path(path), ruleset.schemas, regions, kind, sheet):
                if not any(table is t for t in tables):
                    tables.append(table)
                    table_order.setdefault(table.path, len(table_order))
                rejected.extend(rejections)
                if progress is not None:
                    progress(len(records) + sum(1 for r in rejections if r.scope == "row"))
                _see_ids(duplicates, records, ruleset.schemas[table.kind])
                if seen is not None:
                    note_subjects(seen, records, ruleset.schemas[table.kind])
                if table.kind in together:
                    collector.findings.end_stream()
                    held.extend(records)
                else:
                    collector.add(records)
        except InputError as exc:
            failed.append(exc)
        except OSError as exc:  # the file went away or became unreadable while it was read
            failed.append(InputError(tr(f"无法读取文件（{os_problem(exc)}）", f"cannot read file ({os_problem(exc)})"),
                                     file=str(path)))
    annual_targets.attach(held, ruleset.params, annual or annual_targets.Settings(annual_targets.AnnualTargets()))
    collector.add_together(held)
    run_manifest = manifest(ruleset, as_of, tables, failed)
    if annual is not None:
        run_manifest["annual_targets"] = annual.manifest_entry()
    report = Report(manifest=run_manifest, findings=collector.findings,
                    counts=dict(collector.counts), rejected=rejected, duplicates=duplicates.found,
                    results=collector.results,
                    kind_titles={k: (s.title or {}).get("zh") or k for k, s in ruleset.schemas.items()})
    return RunResult(report=report, failed=failed, held=held)


def _id_texts(records, schema):
    """A batch's shown ids as a pyarrow text array (missing ones null), for a batch whose id is one field; else None."""
    if not (isinstance(records, RecordBatch) and not schema.id_extra and hasattr(records, "rows")):
        return None
    column = records.column(schema.id_field)
    if column.text is not None:  # (read as text: the stripped cells, as the values are)
        uniques = column.text
    else:
        try:
            uniques = pa.array(column.uniques, pa.string())
        except (pa.ArrowException, TypeError):  # (ids that are not text: shown as str gives them)
            uniques = pa.array([str(i) for i in column.uniques], pa.string())
    return uniques.take(pa.array(column.codes, mask=column.codes < 0))


def _see_ids(duplicates: Duplicates, records, schema) -> None:
    """Every record's shown id, column-wise for a batch whose id is one field."""
    ids = _id_texts(records, schema)
    if ids is not None and len(ids) and not ids.null_count:
        duplicates.see_many(records.kind, ids, records.file, records.rows)
        return
    for record in records:
        duplicates.see(record)


def note_subjects(seen, records, schema) -> None:
    """Add (kind, id as shown) of every record of a batch or list to `seen` (a SubjectsRead, or a set): a batch's ids
    column-wise, a record without an id left out."""
    if isinstance(seen, SubjectsRead):
        ids = _id_texts(records, schema)
        if ids is not None:
            seen.add_ids(records.kind, ids.drop_null())
        else:
            seen.add((record.kind, record.id) for record in records)
        return
    seen.update(subject_ids(records, schema))


def subject_ids(records, schema) -> set:
    """(kind, id as shown) of every record of a batch or list (a batch's ids from its id column, without building
    Records)."""
    if isinstance(records, RecordBatch) and not schema.id_extra:
        column = records.column(schema.id_field)
        return {(records.kind, str(column.uniques[code])) for code in set(column.codes[column.codes >= 0].tolist())}
    return {(record.kind, str(record.id)) for record in records}


def sample_paths(directory: Path | None = None) -> list[Path]:
    directory = Path(directory or DEFAULT_SAMPLES)
    return sorted(p for p in directory.iterdir() if p.suffix.lower() in (".csv", ".xlsx", ".json"))
