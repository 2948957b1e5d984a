"""The ecocheck command line (click): the only module that prints or exits."""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
from pathlib import Path

import click

from engine import __version__
from engine.errors import EcocheckError, UsageError, os_problem
from engine.findingstream import StreamFailed
from engine.lang import LANGUAGES, current, set_language, tr
from engine.schemas import kind_named
from engine.report_writers import (NOTE_REPEATS, accounting_lines, chunked, rejects_csv, write_csv,
                                   write_duplicates_csv, write_json, write_table)
from engine.safe_text import for_terminal
from engine.sliced_writes import SlicedStream, open_text
from engine.subjects_read import SubjectsRead
from engine import store_cli

FORMATS = {"table": write_table, "json": write_json, "csv": write_csv}
EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INVALID = 0, 1, 2, 3


def _as_of(value: str | None) -> dt.date:
    return _date_option(value, "--as-of")


def _date_option(value: str | None, name: str) -> dt.date:
    """A date option in any form the data accepts (2021-12-31, 2021/12/31, 2021年12月31日, 2021.12.31); default today."""
    from engine.normalise import ValueProblem, parse_date
    if value is None:
        return dt.date.today()
    try:
        return parse_date(value)
    except (ValueProblem, ValueError):
        raise click.BadParameter(tr(f"“{value}”不是日期；请写成 2021-12-31、2021/12/31 或 2021年12月31日",
                                    f"'{value}' is not a date; write 2021-12-31, 2021/12/31 or 2021年12月31日"),
                                 param_hint=name) from None


def _ruleset(rules_dir, schemas_dir):
    from engine.runner import load_rules
    return load_rules(rules_dir, schemas_dir)


def _confirmed(ruleset, params_dir):
    """The rule set with the external-standard limits the user confirmed in --params DIR/external_limits.csv."""
    from engine import external_limits
    return external_limits.from_params_dir(ruleset, params_dir)


def _stream(writer, report, output: str | None):
    """Run a report writer straight into stdout or a file."""
    if output in (None, "-"):
        writer(report, SlicedStream(sys.stdout))  # (stdout may be a file: `> findings.json`)
        sys.stdout.flush()
        return
    path = Path(output)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open_text(path) as handle:
            writer(report, handle)
    except OSError as exc:
        raise _cannot_write(exc, path) from None
    _wrote(path)


def _write(text: str, output: str | None):
    if output in (None, "-"):
        click.echo(text, nl=False)
        return
    path = Path(output)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        raise _cannot_write(exc, path) from None
    _wrote(path)


def _cannot_write(exc: OSError, path: Path) -> UsageError:
    return UsageError(tr(f"无法写出（{os_problem(exc)}）", f"cannot write output ({os_problem(exc)})"), file=str(path))


def _wrote(path, err: bool = True):
    click.echo(tr(f"已写入 {for_terminal(path)}", f"wrote {for_terminal(path)}"), err=err)


def _error_line(text) -> str:
    """An error as the terminal shows it: 错误：… (Error: … in English)."""
    return tr(f"错误：{for_terminal(text)}", f"Error: {for_terminal(text)}")


def _report_failures(failed):
    for error in failed:
        click.echo(_error_line(error), err=True)


def _exit_code(report, failed, fail_on: str, statuses: set | None = None) -> int:
    """`statuses`: those that count (the run store leaves waived findings out); default every finding's."""
    if failed:
        return EXIT_INVALID
    counted = getattr(report.findings, "statuses", None)  # (a FindingStore counts them without reading them back)
    if statuses is None:
        statuses = set(counted()) if counted is not None else {f.status for f in report.findings}
    if fail_on == "violation" and "violation" in statuses:
        return EXIT_FINDINGS
    if fail_on == "indeterminate" and statuses & {"violation", "indeterminate"}:
        return EXIT_FINDINGS
    return EXIT_OK


def _accounting_note(report, whole_list: str):
    """The accounting under a run, on stderr: the first NOTE_REPEATS repeated ids, then how many more and where the
    whole list is (`whole_list`: _whole_list's words)."""
    for lines in chunked(accounting_lines(report.manifest, report.duplicates, report.kind_titles, NOTE_REPEATS,
                                          whole_list)):
        click.echo("\n".join(lines), err=True)


def _whole_list(duplicates_out: str | None, fmt: str | None = None, output: str | None = None) -> str:
    """Where the whole list of repeated ids is, in the note's words: the --duplicates file, else the report (JSON or
    the table, which list them all) in `output` or on standard output, else how to get it."""
    if duplicates_out == "-":
        return tr("完整清单已写到标准输出", "the whole list went to standard output")
    if duplicates_out:
        return tr(f"完整清单已写入 {for_terminal(duplicates_out)}", f"the whole list is in {for_terminal(duplicates_out)}")
    if fmt in ("json", "table") and output not in (None, "-"):
        return tr(f"完整清单见 {for_terminal(output)}", f"the whole list is in {for_terminal(output)}")
    if fmt == "json":
        return tr("完整清单见标准输出的 JSON（duplicates）", "the whole list is in the JSON on standard output (duplicates)")
    return tr("加 --duplicates 文件.csv 可写出完整清单", "add --duplicates FILE.csv to write the whole list")


def _write_duplicates(report, duplicates_out: str | None):
    """The --duplicates file: every repeated id with its two places, as CSV."""
    if duplicates_out:
        _stream(lambda r, out: write_duplicates_csv(r.duplicates, r.kind_titles, out), report, duplicates_out)


rules_option = click.option("--rules", "rules_dir", type=click.Path(file_okay=False), default=None,
                            help="Rule directory (default: the bundled rules/).")
schemas_option = click.option("--schemas", "schemas_dir", type=click.Path(file_okay=False), default=None,
                              help="Record schema directory (default: inputs/schemas/).")
as_of_option = click.option("--as-of", "as_of", default=None, metavar="YYYY-MM-DD",
                            help="Evaluate the rules in force on this date (default: today).")
sheet_option = click.option("--sheet", default=None, metavar="NAME",
                            help="XLSX: read only this sheet (default: every sheet whose headers match a kind).")
strict_option = click.option("--strict", is_flag=True, help="Exit 3 when any row or value was rejected.")
duplicates_option = click.option("--duplicates", "duplicates_out", default=None, metavar="FILE",
                                 help=f"Write every repeated id with its two places (file, row) as CSV; the note on "
                                      f"the terminal (other than the terminal table) lists the first {NOTE_REPEATS}.")
rejects_option = click.option("--rejects", default=None, metavar="FILE",
                              help="Write the rejected rows and values (file, row, column, value, reason) as CSV.")
params_option = click.option("--params", "params_dir", type=click.Path(file_okay=False, exists=True), default=None,
                             help="Directory with annual_targets.csv/.xlsx: the annual targets the province issued "
                                  "(template: `ecocheck template annual_targets`); and external_limits.csv: the "
                                  "external-standard limits the user confirmed.")
method_option = click.option("--annual-method", "annual_method", type=click.Choice(["linear", "geometric"]),
                             default="linear", show_default=True,
                             help="How a 2016–2019 progress target is derived from the five-year target where none "
                                  "was issued (a derived target is an estimate: gaps and warnings only).")
engine_option = click.option("--engine", type=click.Choice(["column", "durable"]), default="column", show_default=True,
                             help="column: rules that look at one record run as column masks (durable_rules still "
                                  "derives measures and joins chains); durable: every rule through durable_rules, "
                                  "the reference.")
kind_option = click.option("--kind", default=None, metavar="KIND",
                           help="Record kind of every file (default: detected from the headers).")


def _choose_language(ctx, param, value):
    """`--lang`: the language of every message of this run, the help included (before any other option acts)."""
    if value is not None:
        from engine.help_zh import localise
        set_language(value)
        localise(ctx.find_root().command)
    return value


def _show_version(ctx, param, value):
    if value and not ctx.resilient_parsing:
        click.echo(tr(f"ecocheck，版本 {__version__}", f"ecocheck, version {__version__}"))
        ctx.exit()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--lang", type=click.Choice(LANGUAGES), default=None, is_eager=True, expose_value=False,
              callback=_choose_language,
              help="Language of the messages and the help: zh (default) or en; also ECOCHECK_LANG=en. Give it "
                   "before the command: ecocheck --lang en check ….")
@click.option("--version", is_flag=True, is_eager=True, expose_value=False, callback=_show_version,
              help="Show the version and exit.")
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
@click.option("--format", "fmt", type=click.Choice(sorted([*FORMATS, "xlsx"])), default="table", show_default=True,
              help="xlsx: the findings workbook (发现事项, 拒收记录, 汇总); needs --output FILE.")
@click.option("--output", default="-", metavar="FILE|-", help="Where to write the findings (default: stdout).")
@click.option("--fail-on", type=click.Choice(["violation", "indeterminate", "none"]), default="violation",
              show_default=True, help="Exit 1 when a finding of this status (or worse) is found.")
@sheet_option
@strict_option
@rejects_option
@duplicates_option
@click.option("--all-results", is_flag=True, help="JSON: include every (rule, record) result, not only findings; "
              "xlsx: count 符合 and 不适用 per rule, region and file.")
@params_option
@method_option
@engine_option
@click.option("--report", "report_kind", type=click.Choice(["self"]), default=None,
              help="self: write the self-assessment report (自查报告) of each unit in the records to --output "
                   "(.html or .md) instead of the findings.")
@store_cli.store_options
@store_cli.waivers_option
def check(paths, kind, rules_dir, schemas_dir, as_of, fmt, output, fail_on, sheet, strict, rejects, duplicates_out,
          all_results, params_dir, annual_method, engine, report_kind, db, no_db, waivers_path):
    """Check record files (CSV, XLSX, JSON) and print the findings."""
    if fmt == "xlsx" and output in (None, "-"):
        raise UsageError(tr("--format xlsx 写出的是工作簿，请用 --output 文件名.xlsx 指定文件",
                            "--format xlsx writes a workbook: name it with --output FILE.xlsx"))
    ruleset = _confirmed(_ruleset(rules_dir, schemas_dir), params_dir)
    date = _as_of(as_of)
    if report_kind == "self" and Path(output or "-").suffix.lower() not in (".html", ".md"):
        raise UsageError(tr("--report self 写出的是一份文件", "--report self writes a document"),
                         fix=tr("用 --output 给出以 .html 或 .md 结尾的文件名", "give --output FILE ending in .html or .md"))
    if report_kind == "self" and waivers_path:
        raise UsageError(tr("--report self 不记入案卷库，--waivers 对它不起作用", "--report self is not recorded in the run "
                            "store: --waivers does nothing there"), fix=tr("去掉 --waivers", "drop --waivers"))
    waivers = store_cli.waiver_file(waivers_path, no_db, ruleset)
    seen = None if no_db else SubjectsRead()  # (kind, id) of every record read: the store tells fixed from not checked
    streamed = _streamed_output(fmt, output) if report_kind is None else None
    with _stream_failures(streamed, output):
        result = _run(paths, ruleset, date, kind, sheet, keep_results=all_results or report_kind == "self",
                      annual=_annual(ruleset, params_dir, annual_method), engine=engine, seen=seen, csv=fmt == "csv",
                      stream=None if streamed is None else streamed.stream, keep_findings=not no_db)
        if report_kind == "self":
            written = _write_self_reports(result.report, ruleset, date, Path(output))
            click.echo(tr(f"已写入 {written} 个单位的自查报告：{for_terminal(output)}",
                          f"wrote the self-assessment report of {written} unit(s) to {for_terminal(output)}"))
            _write_duplicates(result.report, duplicates_out)
            _accounting_note(result.report, _whole_list(duplicates_out))
            _after_run(result, rejects)
            sys.exit(EXIT_INVALID if result.failed or (strict and result.report.rejected) else EXIT_OK)
        run = store_cli.record(db, no_db, result.report, ruleset, "check", date, seen, waivers)  # the findings' states
        if streamed is not None:
            try:
                streamed.finish(result.report)
            except OSError as exc:
                raise _cannot_write(exc, Path(output)) from None
            _wrote(Path(output))
        elif fmt == "xlsx":
            _save_workbook(result.report, Path(output))
        else:
            _stream(FORMATS[fmt], result.report, output)
        _write_duplicates(result.report, duplicates_out)
        # (a table on the terminal has the accounting, every repeat listed)
        if fmt != "table" or output not in (None, "-"):
            _accounting_note(result.report, _whole_list(duplicates_out, fmt, output))
        _after_run(result, rejects)
        store_cli.report_lifecycle(run)
        code = _exit_code(result.report, result.failed, fail_on, store_cli.unwaived_statuses(run))
        sys.exit(EXIT_INVALID if strict and result.report.rejected else code)


def _streamed_output(fmt: str, output: str | None):
    """The JSON or CSV output file whose findings are written as the run finds them: for a file that may be written
    or is not there yet, in a folder where a file can be made beside it. Else None: the other formats, stdout, a
    device, a pipe, a read-only file or a file in a folder that takes no new file are written at the end."""
    from engine.atomic_file import can_replace
    from engine.streamed_output import FORMS, StreamedOutput
    if fmt not in FORMS or output in (None, "-") or not can_replace(Path(output)):
        return None
    try:
        return StreamedOutput(Path(output), fmt)
    except OSError:  # (written at the end, in place: a file that cannot be written is reported then)
        return None


@contextlib.contextmanager
def _stream_failures(streamed, output: str):
    """A write to the output that fails while the run goes on is a UsageError; a run that ends without its output
    finished leaves no file."""
    try:
        yield
    except StreamFailed as exc:
        raise _cannot_write(exc.error, Path(output)) from None
    finally:
        if streamed is not None:
            streamed.discard()


def _save_workbook(report, path: Path):
    from engine.workbook import write_workbook
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_workbook(report, path)
    except OSError as exc:
        raise _cannot_write(exc, path) from None
    _wrote(path)


def _run(paths, ruleset, as_of, kind, sheet, keep_results=False, annual=None, engine="column", seen=None, csv=False,
         stream=None, keep_findings=True):
    from engine.runner import check as run_check
    if kind is not None:
        kind = kind_named(ruleset.schemas, kind)
    from engine.progress import Progress
    with Progress() as progress:  # on a terminal, after a few seconds: rows read and checked so far
        return run_check([Path(p) for p in paths], ruleset, as_of, kind, sheet, keep_results=keep_results,
                         annual=annual, engine=engine, progress=progress.update, seen=seen, csv=csv,
                         stream=stream, keep_findings=keep_findings)


def _annual(ruleset, params_dir, method: str):
    """Where the annual targets of 2016–2019 come from: `--params DIR` (issued) or derived by `--annual-method`."""
    from engine import annual_targets
    from engine.runner import regions_of
    return annual_targets.settings(Path(params_dir) if params_dir else None, method, regions_of(ruleset))


def _after_run(result, rejects: str | None):
    """Write the rejects file when asked; report files that could not be read."""
    if rejects:
        _write(rejects_csv(result.report.rejected), rejects)
    _report_failures(result.failed)


def _write_self_reports(report, ruleset, as_of: dt.date, path: Path, units=None) -> int:
    """The 自查报告 of every unit in the records (or of `units`), in one HTML or Markdown file."""
    from engine import self_report
    from engine.letters import make_environment
    reports = self_report.build(report.results or [], list(report.findings), ruleset, as_of, units)
    fmt = path.suffix.lower().lstrip(".")
    text = make_environment().get_template(f"self_report.{fmt}.j2").render(
        reports=[self_report.context(r) for r in reports])
    _write(text, str(path))
    return len(reports)


def _write_all_letters(report, ruleset, out: Path, fmts: list, config_path, issue_date: dt.date, first_number: int,
                       folders: dict | None = None, run=None) -> tuple[list, list]:
    """Plan the letters once and write them in every format; return (paths written, letters). `run`: the run's
    store session (engine.store.session): waived findings stay out, numbers come from its 文号 register."""
    from engine.letter_builders import Context
    from engine.letters import load_authorities, load_letter_config, plan_letters, write_letters
    config = load_letter_config(Path(config_path) if config_path else None)
    ctx = Context(config=config, authorities=load_authorities(), documents=ruleset.documents,
                  schemas=ruleset.schemas, measures=ruleset.measures, issue_date=issue_date)
    findings, waived = run.split(report.findings) if run else (report.findings, [])
    planned, unsent = plan_letters(findings, ctx, first_number)
    unsent += waived
    if run:  # numbers from the register; the 逾期未整改通知书 of violations past an earlier notice's deadline
        planned = run.number(planned + run.follow_ups(report.findings, ctx), config)
    written = []
    for fmt in fmts:
        folder = out / folders[fmt] if folders else (out if len(fmts) == 1 else out / fmt)
        paths = write_letters(planned, unsent, report.manifest, config, folder, fmt, issue_date)
        shown = for_terminal(folder)
        click.echo(tr(f"已写入 {len(paths)} 个文件（{len(planned)} 件 {fmt.upper()} 通知书、清单和检查记录）：{shown}",
                      f"wrote {len(paths)} files ({len(planned)} {fmt.upper()} letters, the index and the working "
                      f"record) to {shown}"))
        written += paths
    return written, planned


def _letters_manifest(report, issue_date: dt.date, first_number: int, planned: list) -> dict:
    from engine.letters import numbers_used
    return {"tool": "ecocheck", "tool_version": report.manifest.get("tool_version"),
            "rules_fingerprint": report.manifest.get("rules_fingerprint"), "as_of": report.manifest.get("as_of"),
            "issued_on": issue_date.isoformat(), "first_number": first_number, "numbers": numbers_used(planned),
            "letters": [{"type": x.letter_type, "doc_number": x.doc_number, "addressee": x.addressee,
                         "authorities": list(x.authorities), "title": x.title} for x in planned]}


SELF_REPORT_SAMPLE = "金昌某冶炼有限公司"
out_dir_option = click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
                              help="A new or empty folder (or one an earlier run wrote, with --overwrite).")
letter_formats_option = click.option("--format", "fmts", type=click.Choice(["html", "md", "docx", "pdf"]),
                                     multiple=True, help="Letter formats; repeat for several (each in a folder of "
                                                         "its own under --out). Default: html.")
issued_on_option = click.option("--issued-on", "issued_on", default=None, metavar="DATE",
                                help="成文日期 of the letters and the year of their 文号 (default: today); "
                                     "separate from --as-of.")
first_number_option = click.option("--first-number", type=click.IntRange(1, 999_999), default=1, show_default=True,
                                   help="First 文号 serial number of this run, for each prefix.")
overwrite_option = click.option("--overwrite", is_flag=True,
                                help="Reuse a folder an earlier run wrote: its files are removed first (others are "
                                     "never touched).")


def _write_overview(result, ruleset, out: Path, date: dt.date, letters: list) -> list:
    """overview.html and overview.xlsx beside the letters (the regulator's summary of the run; not sent)."""
    from engine import overview
    return overview.write_overview(overview.build(result.report, ruleset, result.held, date, letters), out)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False))
@out_dir_option
@kind_option
@rules_option
@schemas_option
@as_of_option
@issued_on_option
@first_number_option
@overwrite_option
@letter_formats_option
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Letter settings (authority, document-number prefix, deadlines) overriding templates/letters.yaml.")
@sheet_option
@strict_option
@rejects_option
@duplicates_option
@params_option
@method_option
@store_cli.store_options
@store_cli.waivers_option
def letters(paths, out_dir, kind, rules_dir, schemas_dir, as_of, issued_on, first_number, overwrite, fmts,
            config_path, sheet, strict, rejects, duplicates_out, params_dir, annual_method, db, no_db, waivers_path):
    """Write the letters the findings call for, an index, the working record (检查记录), the regulator's overview
    (overview.html, overview.xlsx) and a manifest of what was written."""
    from engine.outdir import prepare, write_manifest
    ruleset = _confirmed(_ruleset(rules_dir, schemas_dir), params_dir)
    date, issue_date = _as_of(as_of), _date_option(issued_on, "--issued-on")
    annual = _annual(ruleset, params_dir, annual_method)
    waivers = store_cli.waiver_file(waivers_path, no_db, ruleset)
    out = prepare(Path(out_dir), overwrite)
    seen = None if no_db else SubjectsRead()
    result = _run(paths, ruleset, date, kind, sheet, annual=annual, seen=seen)
    with store_cli.session(db, no_db, result.report, ruleset, "letters", date, issue_date, first_number,
                           seen, waivers) as run:
        written, planned = _write_all_letters(result.report, ruleset, out, list(dict.fromkeys(fmts)) or ["html"],
                                              config_path, issue_date, first_number, run=run)
    for path in _write_overview(result, ruleset, out, date, planned):
        _wrote(path, err=False)
        written.append(path)
    write_manifest(out, written, _letters_manifest(result.report, issue_date, first_number, planned))
    _write_duplicates(result.report, duplicates_out)
    _accounting_note(result.report, _whole_list(duplicates_out))
    _after_run(result, rejects)
    store_cli.report_lifecycle(run)
    sys.exit(EXIT_INVALID if result.failed or (strict and result.report.rejected) else EXIT_OK)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False))
@out_dir_option
@rules_option
@schemas_option
@params_option
@method_option
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Grade and warning cut-offs overriding templates/assessment.yaml.")
@click.option("--letter-config", "letter_config_path", type=click.Path(dir_okay=False), default=None,
              help="Letter settings overriding templates/letters.yaml (early_warning).")
@issued_on_option
@first_number_option
@overwrite_option
@letter_formats_option
@store_cli.store_options
def assess(paths, out_dir, rules_dir, schemas_dir, params_dir, annual_method, config_path, letter_config_path,
           issued_on, first_number, overwrite, fmts, db, no_db):
    """Annual assessment results (考核结果 xlsx/html), early warning (预警 table, 预警通报) and charts (SVG); the
    预警通报's 文号 from the run store's register."""
    from engine import assessment
    from engine.letters import load_authorities, load_letter_config
    from engine.outdir import prepare, write_manifest
    ruleset = _ruleset(rules_dir, schemas_dir)
    annual = _annual(ruleset, params_dir, annual_method)
    config = assessment.load_config(Path(config_path) if config_path else None)
    letter_config = load_letter_config(Path(letter_config_path) if letter_config_path else None)
    issue_date = _date_option(issued_on, "--issued-on")
    out = prepare(Path(out_dir), overwrite)
    records, tables = assessment.read_records(paths, ruleset)
    manifest = assessment.run_manifest(ruleset, issue_date, tables, annual)
    with store_cli.letters_session(db, no_db, manifest, "assess", issue_date, first_number) as run:
        written = assessment.write_outputs(records, ruleset, annual, config, out, letter_config, load_authorities(),
                                           issue_date, list(dict.fromkeys(fmts)) or ["html"], first_number, tables,
                                           store_cli.numbering(run, letter_config))
    store_cli.report_numbers(run)
    write_manifest(out, written, {"tool": "ecocheck", "tool_version": __version__, "annual_targets":
                                  annual.manifest_entry(), "issued_on": issue_date.isoformat()})
    click.echo(tr(f"已写入 {len(written)} 个文件（考核结果、预警、图表、预警通报）：{for_terminal(out)}",
                  f"wrote {len(written)} files (assessment results, warnings, charts, warning notices) to "
                  f"{for_terminal(out)}"))


@cli.command()
@click.option("--out", "out_dir", default="out/demo", show_default=True, type=click.Path(file_okay=False))
@as_of_option
@issued_on_option
@click.option("--db", "demo_db", default=None, metavar="PATH|URL",
              help="Record the demo run in this run store (SQLite file or postgresql://…); without it the sample "
                   "records stay out of every store.")
def demo(out_dir, as_of, issued_on, demo_db):
    """The whole job on the bundled sample records: findings (table, JSON, CSV), letters (HTML, Markdown, DOCX,
    PDF), a self-assessment report and the regulator's overview (overview.html, overview.xlsx)."""
    from engine.outdir import prepare, write_manifest
    from engine.runner import DEFAULT_SAMPLES, check as run_check, sample_paths
    ruleset = _confirmed(_ruleset(None, None), DEFAULT_SAMPLES / "params")  # sample confirmations (示例)
    date, issue_date = _as_of(as_of), _date_option(issued_on, "--issued-on")
    out = prepare(Path(out_dir), overwrite=True)  # the demo's folder is the demo's own
    annual = _annual(ruleset, DEFAULT_SAMPLES / "params", "linear")  # sample issued annual targets (示例 documents)
    seen = SubjectsRead()
    result = run_check(sample_paths(), ruleset, date, keep_results=True, annual=annual, seen=seen)
    report = result.report
    _stream(write_table, report, None)
    _stream(write_json, report, str(out / "findings.json"))
    _stream(write_csv, report, str(out / "findings.csv"))
    folders = {"html": "letters", "md": "letters-md", "docx": "letters-docx", "pdf": "letters-pdf"}
    from engine import assessment
    from engine.letters import load_authorities, load_letter_config, numbers_used
    with store_cli.session(demo_db, demo_db is None, report, ruleset, "demo", date, issue_date, 1, seen) as run:
        written, planned = _write_all_letters(report, ruleset, out, list(folders), None, issue_date, 1, folders, run)
        records, tables = assessment.read_records(sample_paths(), ruleset)
        next_number = max((last for _, last in numbers_used(planned).values()), default=0) + 1  # no 文号 used twice
        written += assessment.write_outputs(records, ruleset, annual, assessment.load_config(), out / "assessment",
                                            load_letter_config(), load_authorities(), issue_date, list(folders),
                                            next_number, tables, store_cli.numbering(run, load_letter_config()))
    store_cli.report_lifecycle(run)
    written += [out / "findings.json", out / "findings.csv"]
    for fmt in ("html", "md"):  # an enterprise checking itself: the sample key energy-using unit
        _write_self_reports(report, ruleset, date, out / f"自查报告_{SELF_REPORT_SAMPLE}.{fmt}", {SELF_REPORT_SAMPLE})
        written.append(out / f"自查报告_{SELF_REPORT_SAMPLE}.{fmt}")
    for path in _write_overview(result, ruleset, out, date, planned):
        click.echo(tr(f"总览：{for_terminal(path)}", f"overview: {for_terminal(path)}"))
        written.append(path)
    write_manifest(out, written, _letters_manifest(report, issue_date, 1, planned))
    click.echo(tr(f"通知书：HTML、MD、DOCX、PDF 各 {len(planned)} 件，在 {for_terminal(out)}",
                  f"letters: {len(planned)} in each of HTML, MD, DOCX and PDF in {for_terminal(out)}"))
    click.echo(tr(f"考核结果、预警和图表：{for_terminal(out / 'assessment')}",
                  f"assessment, warnings and charts in {for_terminal(out / 'assessment')}"))
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
    if kind == "annual_targets":
        _annual_template(fmt, Path(out_file or f"annual_targets.{fmt}"))
        return
    kind = kind_named(ruleset.schemas, kind)
    path = Path(out_file or f"{kind}_template.{fmt}")
    if fmt == "csv":
        _write(template_csv(ruleset.schemas[kind]), str(path))
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        template_xlsx(ruleset.schemas[kind], regions_of(ruleset), path)
    except OSError as exc:
        raise _cannot_write(exc, path) from None
    _wrote(path)


def _annual_template(fmt: str, path: Path):
    """The issued annual-targets table (`--params DIR`), blank with its headers and filling notes."""
    from engine import annual_targets
    if fmt == "csv":
        _write(annual_targets.template_csv(), str(path))
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        annual_targets.template_xlsx(path)
    except OSError as exc:
        raise _cannot_write(exc, path) from None
    _wrote(path)


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
        click.echo(f"{rule.id:<12} {rule.force:<12} {rule.binds:<22} {'、'.join(rule.acting):<24} "
                   f"{rule.severity:<8} {rule.kind:<16} {document.title} {rule.article}  {rule.title}")


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
    if current() == "en":
        deadline = f"; deadline: {rule.deadline_phrase} → {rule.deadline_effective}" if rule.deadline_phrase else ""
        click.echo(f"# force: {rule.force}; binds: {rule.binds}; acting: {'、'.join(rule.acting)}{deadline}")
    else:
        deadline = f"；期限：{rule.deadline_phrase} → {rule.deadline_effective}" if rule.deadline_phrase else ""
        click.echo(f"# 效力：{rule.force}；义务人：{rule.binds}；实施机关：{'、'.join(rule.acting)}{deadline}")
    click.echo(Path(rule.path).read_text(encoding="utf-8"), nl=False)


@rules.command("validate")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@schemas_option
def rules_validate(directory, schemas_dir):
    """Validate rule files; errors name the file, rule and field."""
    ruleset = _ruleset(directory, schemas_dir)
    click.echo(tr(f"规则有效：共 {len(ruleset.rules)} 条（指纹 {ruleset.fingerprint}）",
                  f"OK: {len(ruleset.rules)} rules valid (fingerprint {ruleset.fingerprint})"))


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
    got_zh = {"error": "出错", "not evaluated": "未评估"}
    for o in outcomes:
        line = tr(f"{'通过' if o.passed else '未通过'} {o.rule_id}：{o.name} — 应为 {o.expected}，得到 {got_zh.get(o.got, o.got)}",
                  f"{'PASS' if o.passed else 'FAIL'} {o.rule_id}: {o.name} — expected {o.expected}, got {o.got}")
        click.echo(line + (tr(f"（{o.detail}）", f" ({o.detail})") if not o.passed and o.detail else ""))
    click.echo(tr(f"通过 {len(outcomes) - len(failed)} 个，未通过 {len(failed)} 个",
                  f"{len(outcomes) - len(failed)} passed, {len(failed)} failed"))
    sys.exit(EXIT_FINDINGS if failed else EXIT_OK)


@rules.command("coverage")
@click.option("--format", "fmt", type=click.Choice(["md", "csv", "json"]), default="md", show_default=True)
@click.option("--output", default="-", metavar="FILE|-")
@rules_option
@schemas_option
def rules_coverage(fmt, output, rules_dir, schemas_dir):
    """Every article, item and annex of both documents, and every provision (sentence) of them, with the rules
    testing it, or why none does."""
    from engine import coverage
    ruleset = _ruleset(rules_dir, schemas_dir)
    rows = coverage.matrix(ruleset)
    provisions = coverage.load_provisions(ruleset)
    text = {"md": lambda: coverage.to_markdown(rows, ruleset, provisions), "csv": lambda: coverage.to_csv(rows),
            "json": lambda: coverage.to_json(rows, provisions)}[fmt]()
    _write(text, output)
    gaps = coverage.problems(rows) + coverage.provision_problems(provisions, ruleset)
    for gap in gaps:
        click.echo(tr(f"警告：{gap}", f"Warning: {gap}"), err=True)
    covered = sum(r.covered for r in rows)
    click.echo(tr(f"{len(rows)} 个条款、项和附件中有规则的 {covered} 个；既无规则又无原因的 {len(gaps)} 个",
                  f"covered {covered} of {len(rows)} articles, items and annexes; {len(gaps)} without a reason"),
               err=True)
    for line in coverage.summary_lines(rows, provisions):
        click.echo(line, err=True)


store_cli.register(cli, _ruleset, _date_option)  # history, diff, waive, waivers, db export


def _set_aside_imported() -> None:
    """The objects the imports made (pandas, pyarrow, click, ecocheck's modules: most of the process's objects) are
    kept until the process ends; the cycle collector is told to leave them alone (gc.freeze). Python's collections at
    exit walked them all: a check's shutdown took 0.15–0.21 s, now 0.03–0.04 s. Only for a process of its own: a
    caller's objects made before (a test session's) could still become garbage."""
    import gc
    gc.freeze()


def main(argv=None):
    """Entry point: run the CLI; an ecocheck error becomes `错误：…` (`Error: …` in English) and its exit code, never a
    traceback."""
    if argv is None:  # the process's own command line (the `ecocheck` script, python -m): not a caller in a process
        _set_aside_imported()
    from engine.arrowpool import use_returning_pool
    from engine.help_zh import localise, localise_click
    use_returning_pool()  # (pyarrow is imported already: pandas keeps text in pyarrow strings)
    set_language(None)  # ECOCHECK_LANG, else Chinese, until --lang says otherwise
    localise(cli)
    localise_click()
    try:
        cli.main(args=argv, prog_name="ecocheck", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo(tr("已中止。", "Aborted."), err=True)
        sys.exit(EXIT_USAGE)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE)
    except EcocheckError as exc:
        click.echo(_error_line(exc), err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except OSError as exc:  # a file or folder that cannot be read or written, named by the system
        where = tr(f"{for_terminal(exc.filename)}：", f"{for_terminal(exc.filename)}: ") if exc.filename else ""
        click.echo(tr(f"错误：{where}无法读写（{os_problem(exc)}）", f"Error: {where}cannot read or write ({os_problem(exc)})"),
                   err=True)
        sys.exit(EXIT_USAGE)
    except Exception as exc:  # the last line of defence: a bug still gets a clear one-line message
        click.echo(tr(f"错误：内部错误 {type(exc).__name__}：{for_terminal(exc)}。请连同所运行的命令一并报告。",
                      f"Error: internal error {type(exc).__name__}: {for_terminal(exc)}. "
                      "Please report it with the command you ran."), err=True)
        sys.exit(EXIT_INVALID)
    finally:
        set_language(None)  # --lang holds for this run only


if __name__ == "__main__":
    main()
