"""The ecocheck command line (click): the only module that prints or exits."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from engine import __version__
from engine.errors import EcocheckError, UsageError
from engine.findings import format_accounting, rejects_csv, write_csv, write_json, write_table

FORMATS = {"table": write_table, "json": write_json, "csv": write_csv}
EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INVALID = 0, 1, 2, 3


def _as_of(value: str | None) -> dt.date:
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a date; write YYYY-MM-DD", param_hint="--as-of") from None


def _ruleset(rules_dir, schemas_dir):
    from engine.runner import load_rules
    return load_rules(rules_dir, schemas_dir)


def _stream(writer, report, output: str | None):
    """Run a report writer straight into stdout or a file."""
    if output in (None, "-"):
        writer(report, sys.stdout)
        sys.stdout.flush()
        return
    path = Path(output)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer(report, handle)
    except OSError as exc:
        raise UsageError(f"cannot write output ({exc.strerror})", file=str(path)) from None
    click.echo(f"写入 wrote {path}", err=True)


def _write(text: str, output: str | None):
    if output in (None, "-"):
        click.echo(text, nl=False)
        return
    path = Path(output)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        raise UsageError(f"cannot write output ({exc.strerror})", file=str(path)) from None
    click.echo(f"写入 wrote {path}", err=True)


def _report_failures(failed):
    for error in failed:
        click.echo(f"Error: {error}", err=True)


def _exit_code(report, failed, fail_on: str) -> int:
    if failed:
        return EXIT_INVALID
    statuses = {f.status for f in report.findings}
    if fail_on == "violation" and "violation" in statuses:
        return EXIT_FINDINGS
    if fail_on == "indeterminate" and statuses & {"violation", "indeterminate"}:
        return EXIT_FINDINGS
    return EXIT_OK


def _accounting_note(report):
    click.echo(format_accounting(report.manifest, report.duplicates), err=True)


rules_option = click.option("--rules", "rules_dir", type=click.Path(file_okay=False), default=None,
                            help="Rule directory (default: the bundled rules/).")
schemas_option = click.option("--schemas", "schemas_dir", type=click.Path(file_okay=False), default=None,
                              help="Record schema directory (default: inputs/schemas/).")
as_of_option = click.option("--as-of", "as_of", default=None, metavar="YYYY-MM-DD",
                            help="Evaluate the rules in force on this date (default: today).")
sheet_option = click.option("--sheet", default=None, metavar="NAME",
                            help="XLSX: read only this sheet (default: every sheet whose headers match a kind).")
strict_option = click.option("--strict", is_flag=True, help="Exit 3 when any row or value was rejected.")
rejects_option = click.option("--rejects", default=None, metavar="FILE",
                              help="Write the rejected rows and values (file, row, column, value, reason) as CSV.")
engine_option = click.option("--engine", type=click.Choice(["column", "durable"]), default="column", show_default=True,
                             help="column: rules that look at one record run as column masks (durable_rules still "
                                  "derives measures and joins chains); durable: every rule through durable_rules, "
                                  "the reference.")
kind_option = click.option("--kind", default=None, metavar="KIND",
                           help="Record kind of every file (default: detected from the headers).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ecocheck")
def cli():
    """ecocheck — 甘肃省节能减排与应对气候变化条款合规检查。

    Checks facility, enterprise, project and prefecture records against the provisions of
    甘政发〔2017〕54号 and the province's climate-change implementation opinion.
    """


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False))
@kind_option
@rules_option
@schemas_option
@as_of_option
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS)), default="table", show_default=True)
@click.option("--output", default="-", metavar="FILE|-", help="Where to write the findings (default: stdout).")
@click.option("--fail-on", type=click.Choice(["violation", "indeterminate", "none"]), default="violation",
              show_default=True, help="Exit 1 when a finding of this status (or worse) is found.")
@sheet_option
@strict_option
@rejects_option
@click.option("--all-results", is_flag=True, help="JSON: include every (rule, record) result, not only findings.")
@engine_option
def check(paths, kind, rules_dir, schemas_dir, as_of, fmt, output, fail_on, sheet, strict, rejects, all_results,
          engine):
    """Check record files (CSV, XLSX, JSON) and print the findings."""
    ruleset = _ruleset(rules_dir, schemas_dir)
    result = _run(paths, ruleset, _as_of(as_of), kind, sheet, keep_results=all_results, engine=engine)
    _stream(FORMATS[fmt], result.report, output)
    if fmt != "table" or output not in (None, "-"):
        _accounting_note(result.report)
    _after_run(result, rejects)
    code = _exit_code(result.report, result.failed, fail_on)
    sys.exit(EXIT_INVALID if strict and result.report.rejected else code)


def _run(paths, ruleset, as_of, kind, sheet, keep_results=False, engine="column"):
    from engine.runner import check as run_check
    if kind is not None and kind not in ruleset.schemas:
        raise UsageError(f"unknown kind '{kind}'", fix="kinds: " + ", ".join(ruleset.schemas))
    return run_check([Path(p) for p in paths], ruleset, as_of, kind, sheet, keep_results=keep_results, engine=engine)


def _after_run(result, rejects: str | None):
    """Write the rejects file when asked; report files that could not be read."""
    if rejects:
        _write(rejects_csv(result.report.rejected), rejects)
    _report_failures(result.failed)


def _render_letters(report, out: Path, fmt: str, config_path, issue_date: dt.date) -> list:
    from engine.letters import load_letter_config, render_letters
    config = load_letter_config(Path(config_path) if config_path else None)
    return render_letters(report.findings, report.manifest, config, out, fmt, issue_date)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder for the letters.")
@kind_option
@rules_option
@schemas_option
@as_of_option
@click.option("--format", "fmt", type=click.Choice(["html", "md"]), default="html", show_default=True)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Letter settings (authority, document-number prefix, deadlines) overriding templates/letters.yaml.")
@sheet_option
@strict_option
@rejects_option
def letters(paths, out_dir, kind, rules_dir, schemas_dir, as_of, fmt, config_path, sheet, strict, rejects):
    """Write one letter per recipient (facility operator, prefecture government, project applicant) and an index."""
    ruleset = _ruleset(rules_dir, schemas_dir)
    date = _as_of(as_of)
    result = _run(paths, ruleset, date, kind, sheet)
    written = _render_letters(result.report, Path(out_dir), fmt, config_path, date)
    click.echo(f"写入 {len(written)} 个文件 wrote {len(written)} files to {out_dir}")
    _accounting_note(result.report)
    _after_run(result, rejects)
    sys.exit(EXIT_INVALID if result.failed or (strict and result.report.rejected) else EXIT_OK)


@cli.command()
@click.option("--out", "out_dir", default="out/demo", show_default=True, type=click.Path(file_okay=False))
@as_of_option
def demo(out_dir, as_of):
    """The whole job on the bundled sample records: findings (table, JSON, CSV) and letters (HTML, Markdown)."""
    from engine.runner import check as run_check, sample_paths
    ruleset = _ruleset(None, None)
    date = _as_of(as_of)
    out = Path(out_dir)
    result = run_check(sample_paths(), ruleset, date)
    report = result.report
    _stream(write_table, report, None)
    _stream(write_json, report, str(out / "findings.json"))
    _stream(write_csv, report, str(out / "findings.csv"))
    html = _render_letters(report, out / "letters", "html", None, date)
    md = _render_letters(report, out / "letters-md", "md", None, date)
    click.echo(f"信函 letters: {len(html)} HTML and {len(md)} Markdown files in {out}")
    _report_failures(result.failed)
    sys.exit(EXIT_INVALID if result.failed else EXIT_OK)


@cli.command()
@click.argument("kind")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv"]), default="xlsx", show_default=True)
@click.option("--out", "out_file", default=None, metavar="FILE", help="Default: <kind>_template.<format>.")
@schemas_option
def template(kind, fmt, out_file, schemas_dir):
    """Write a blank input file for a record kind, with the Chinese headers ecocheck reads."""
    from engine.template import template_csv, template_xlsx
    from engine.runner import regions_of
    ruleset = _ruleset(None, schemas_dir)
    if kind not in ruleset.schemas:
        raise UsageError(f"unknown kind '{kind}'", fix="kinds: " + ", ".join(ruleset.schemas))
    path = Path(out_file or f"{kind}_template.{fmt}")
    if fmt == "csv":
        _write(template_csv(ruleset.schemas[kind]), str(path))
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        template_xlsx(ruleset.schemas[kind], regions_of(ruleset), path)
    except OSError as exc:
        raise UsageError(f"cannot write output ({exc.strerror})", file=str(path)) from None
    click.echo(f"写入 wrote {path}", err=True)


@cli.group()
def rules():
    """List, show, validate and test the rules."""


@rules.command("list")
@rules_option
@schemas_option
@as_of_option
def rules_list(rules_dir, schemas_dir, as_of):
    """Every rule with its citation."""
    ruleset = _ruleset(rules_dir, schemas_dir)
    date = _as_of(as_of) if as_of else None
    for rule in ruleset.rules:
        if date and not rule.in_force(date):
            continue
        document = ruleset.documents[rule.document]
        click.echo(f"{rule.id:<12} {rule.severity:<8} {rule.kind:<16} {document.title} {rule.article}  {rule.title}")


@rules.command("show")
@click.argument("rule_id")
@rules_option
@schemas_option
def rules_show(rule_id, rules_dir, schemas_dir):
    """One rule in full: its file as written."""
    ruleset = _ruleset(rules_dir, schemas_dir)
    rule = ruleset.by_id(rule_id)
    document = ruleset.documents[rule.document]
    click.echo(f"# {rule.id} — {document.title}（{document.number}）{rule.article}\n# {rule.path}")
    click.echo(Path(rule.path).read_text(encoding="utf-8"), nl=False)


@rules.command("validate")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@schemas_option
def rules_validate(directory, schemas_dir):
    """Validate rule files; errors name the file, rule and field."""
    ruleset = _ruleset(directory, schemas_dir)
    click.echo(f"OK: {len(ruleset.rules)} rules valid (fingerprint {ruleset.fingerprint})")


@rules.command("test")
@click.argument("rule_ids", nargs=-1)
@rules_option
@schemas_option
@engine_option
def rules_test(rule_ids, rules_dir, schemas_dir, engine):
    """Run every rule's own examples through the engine."""
    from engine.examples import run_all
    ruleset = _ruleset(rules_dir, schemas_dir)
    for rule_id in rule_ids:
        ruleset.by_id(rule_id)  # an unknown id is a usage error, not an empty test run
    outcomes = run_all(ruleset, set(rule_ids) or None, engine)
    failed = [o for o in outcomes if not o.passed]
    for o in outcomes:
        mark = "PASS" if o.passed else "FAIL"
        line = f"{mark} {o.rule_id}: {o.name} — expected {o.expected}, got {o.got}"
        click.echo(line + (f" ({o.detail})" if not o.passed and o.detail else ""))
    click.echo(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed")
    sys.exit(EXIT_FINDINGS if failed else EXIT_OK)


@rules.command("coverage")
@click.option("--format", "fmt", type=click.Choice(["md", "csv", "json"]), default="md", show_default=True)
@click.option("--output", default="-", metavar="FILE|-")
@rules_option
@schemas_option
def rules_coverage(fmt, output, rules_dir, schemas_dir):
    """Every article, item and annex of both documents with the rules citing it, or why none does."""
    from engine import coverage
    ruleset = _ruleset(rules_dir, schemas_dir)
    rows = coverage.matrix(ruleset)
    text = {"md": lambda: coverage.to_markdown(rows, ruleset), "csv": lambda: coverage.to_csv(rows),
            "json": lambda: coverage.to_json(rows)}[fmt]()
    _write(text, output)
    gaps = coverage.problems(rows)
    for gap in gaps:
        click.echo(f"Warning: {gap}", err=True)
    covered = sum(r.covered for r in rows)
    click.echo(f"覆盖 covered {covered} of {len(rows)} articles, items and annexes; {len(gaps)} without a reason",
               err=True)


def main(argv=None):
    """Entry point: run the CLI; an ecocheck error becomes `Error: …` and its exit code, never a traceback."""
    try:
        cli.main(args=argv, prog_name="ecocheck", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(EXIT_USAGE)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE)
    except EcocheckError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # the last line of defence: a bug still gets a clear one-line message
        click.echo(f"Error: internal error {type(exc).__name__}: {exc}. Please report it with the command you ran.",
                   err=True)
        sys.exit(EXIT_INVALID)


if __name__ == "__main__":
    main()
