"""The run store on the command line: --db/--no-db, the lifecycle lines of a run, and the commands history, diff,
waive, waivers and db export."""

from __future__ import annotations

import datetime as dt
import json
import sys
from contextlib import nullcontext
from pathlib import Path

import click

from engine.lang import tr
from engine.safe_text import for_terminal

db_option = click.option("--db", "db", default=None, metavar="PATH|URL",
                         help="Run store: an SQLite file or postgresql://… (default: ECOCHECK_DB, else runs.sqlite in "
                              "the user's data directory).")
no_db_option = click.option("--no-db", "no_db", is_flag=True,
                            help="Do not record this run in the run store (no lifecycle, no 文号 register).")


waivers_option = click.option("--waivers", "waivers_path", default=None, metavar="FILE",
                              type=click.Path(dir_okay=False),
                              help="A YAML waiver file kept with the records: entries of subject, rule, reason, basis, "
                                   "by and until, applied to this run as `ecocheck waive` ones are and recorded with "
                                   "the file and entry they came from (needs the run store).")


def store_options(command):
    return db_option(no_db_option(command))


def waiver_file(path, no_db: bool, ruleset):
    """The checked waiver file of `--waivers` (None without one): read before the run, so a bad entry stops it early."""
    if path is None:
        return None
    if no_db:
        from engine.errors import UsageError
        raise UsageError(tr("--waivers 需要案卷库（豁免记入案卷库并按案卷识别发现事项），不能与 --no-db 同用",
                            "--waivers needs the run store (waivers are recorded there and matched to the findings "
                            "it identifies): not with --no-db"), fix=tr("去掉 --no-db，或去掉 --waivers",
                                                                      "drop --no-db or --waivers"))
    from engine import waiver_file as wf
    return wf.load(path, {r.id for r in ruleset.rules})


def open_(db: str | None):
    from engine.store import open_store
    return open_store(db)


def session(db, no_db: bool, report, ruleset, command: str, as_of: dt.date, issued_on=None, first_number: int = 1,
            seen: set | None = None, waivers=None):
    """The run's store session (a context manager), or a null context with --no-db. `seen`: (kind, id) of every
    record the run read; `waivers`: the run's waiver file (`waiver_file`)."""
    if no_db:
        return nullcontext(None)
    from engine.store.session import RunSession
    in_force = {r.id for r in ruleset.rules if r.in_force(as_of)}
    return RunSession(open_(db), report, command, as_of, in_force, issued_on, first_number, seen, waivers,
                      lambda date: {r.id for r in ruleset.rules if r.in_force(date)})


def letters_session(db, no_db: bool, manifest: dict, command: str, issue_date: dt.date, first_number: int):
    """The store session of a run whose letters rest on no rule finding (`assess`: the 预警通报): recorded with its
    inputs and no findings (it reads no subject: fixes nothing), its letters numbered from the register."""
    if no_db:
        return nullcontext(None)
    from engine.findings import Report
    from engine.store.session import RunSession
    report = Report(manifest=manifest, findings=[], counts={}, rejected=[])
    return RunSession(open_(db), report, command, issue_date, set(), issue_date, first_number, set())


def numbering(run, config: dict):
    """letters → the letters with their 文号 from the run's register (None without a store)."""
    return None if run is None else (lambda letters: run.number(letters, config))


def report_numbers(run) -> None:
    """The run and the 文号 it took from the register, on stderr."""
    if run is None:
        return
    from engine.store.db import shown
    numbers = "、".join(for_terminal(x.doc_number) for x in run.numbered) or tr("无", "none")
    click.echo(tr(f"案卷（第 {run.lifecycle.run_id} 次运行，{for_terminal(shown(run.store.location))}）：文号取自文号登记簿："
                  f"{numbers}",
                  f"store (run {run.lifecycle.run_id}, {for_terminal(shown(run.store.location))}): numbers from the "
                  f"register: {numbers}"), err=True)


def record(db, no_db: bool, report, ruleset, command: str, as_of: dt.date, seen: set | None = None, waivers=None):
    """Record a run that writes no letters (committed before its output is written); None with --no-db."""
    with session(db, no_db, report, ruleset, command, as_of, seen=seen, waivers=waivers) as run:
        return run


def unwaived_statuses(run) -> set | None:
    """The statuses of the run's findings that no waiver covers (for --fail-on); None without a store."""
    if run is None or not any(run.lifecycle.waivers):
        return None
    return {f.status for f, waiver in zip(run.report.findings, run.lifecycle.waivers) if not waiver}


def report_lifecycle(run) -> None:
    """The count line (and the fixed and overdue items) of a recorded run, on stderr."""
    if run is None:
        return
    from engine.store.db import shown
    life = run.lifecycle
    c = life.counts()
    t = for_terminal
    total = len(life.states)
    open_ = total - c["waived"]
    click.echo(tr(f"案卷（第 {life.run_id} 次运行，{t(shown(run.store.location))}）：发现事项 {total} = 新发现 {c['new']} + "
                  f"持续 {c['persisting']} + 复发 {c['reopened']} = 未豁免 {open_} + 已豁免 {c['waived']}（已豁免的单列，"
                  f"不列入通知书，不计入 --fail-on）；已整改 {c['fixed']}；逾期未整改 {c['overdue']}",
                  f"store (run {life.run_id}, {t(shown(run.store.location))}): findings {total} = new {c['new']} + "
                  f"persisting {c['persisting']} + reopened {c['reopened']} = not waived {open_} + waived {c['waived']} "
                  f"(waived ones counted apart, in no letter, not counted for --fail-on); fixed {c['fixed']}; "
                  f"overdue {c['overdue']}")
               + (tr(f"；其他文书期限已过 {c['past_deadline']}（不出后续文书）",
                     f"; other letters past their deadline {c['past_deadline']} (no follow-up document)")
                  if c["past_deadline"] else ""), err=True)
    if life.later_runs:
        runs = "、".join(str(n) for n in life.restated) or tr("无", "none")
        click.echo(tr(f"  本次截至日早于第 {'、'.join(str(n) for n in life.later_runs)} 次运行：按截至日与其前的运行比较；"
                      f"其后运行中状态重新推定的：第 {runs} 次",
                      f"  this run's as-of is earlier than run(s) {', '.join(str(n) for n in life.later_runs)}: compared "
                      f"with the runs before it by as-of; later runs whose states were derived again: {runs}"), err=True)
    for item in life.fixed:
        click.echo(tr(f"  已整改 {t(item['rule_id'])} {t(item['subject_id'])}（{t(item['region'])}）",
                      f"  fixed {t(item['rule_id'])} {t(item['subject_id'])} ({t(item['region'])})"), err=True)
    for item in life.overdue:
        if item["follow_up"]:
            click.echo(tr(f"  逾期未整改 {t(item['doc_number'])}《{t(item['title'])}》期限 {item['deadline']}："
                          f"{t(item['addressee'])}",
                          f"  overdue {t(item['doc_number'])} ({t(item['title'])}), deadline {item['deadline']}: "
                          f"{t(item['addressee'])}"), err=True)
            continue
        click.echo(tr(f"  期限已过 {t(item['doc_number'])}《{t(item['title'])}》期限 {item['deadline']}："
                      f"{t(item['addressee'])}（该文书要求的是报告或执行情况，是否已收到，案卷库无记录；两份文件未就逾期报告规定后果，"
                      f"不出后续文书）",
                      f"  past its deadline {t(item['doc_number'])} ({t(item['title'])}), deadline {item['deadline']}: "
                      f"{t(item['addressee'])} (it asked for a report; the store does not know whether one came; the "
                      f"documents attach nothing to a late one: no follow-up document)"), err=True)


def register(cli, ruleset_of, date_option) -> None:
    """Add the store's commands to the ecocheck command group."""

    @cli.command()
    @click.argument("subject")
    @db_option
    @click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
    def history(subject, db, fmt):
        """A subject's record across runs: every finding about it (its id as recorded, or its unit), run by run."""
        from engine.store.queries import history as query
        store = open_(db)
        with store.reading() as connection:
            rows = query(connection, subject)
        if fmt == "json":
            click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
            return
        if not rows:
            click.echo(tr(f"案卷库中没有关于“{for_terminal(subject)}”的发现事项。",
                          f"No stored finding about '{for_terminal(subject)}'."))
            return
        from engine.findings import STATUS_ZH, LIFECYCLE_ZH
        for r in rows:
            waived = tr("，已豁免", ", waived") if r["waiver_id"] else ""
            where = (tr(f"{for_terminal(r['file'])} 第{r['row']}行", f"{for_terminal(r['file'])} row {r['row']}")
                     if r["file"] else tr("本次未发现", "not found"))
            click.echo(tr(f"第 {r['run_id']} 次运行（截至 {r['as_of']}）{LIFECYCLE_ZH[r['state']]}{waived} "
                          f"{for_terminal(r['rule_id'])} {STATUS_ZH.get(r['status'], r['status'])} "
                          f"{for_terminal(r['subject_id'])}（{where}）",
                          f"run {r['run_id']} (as of {r['as_of']}) {r['state']}{waived} {for_terminal(r['rule_id'])} "
                          f"{r['status']} {for_terminal(r['subject_id'])} ({where})"))
            click.echo(f"    {for_terminal(r['message'])}")

    @cli.command()
    @click.argument("run_a", type=int, required=False)
    @click.argument("run_b", type=int, required=False)
    @db_option
    @click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
    def diff(run_a, run_b, db, fmt):
        """What changed between two stored runs (default: the last two): findings added, gone and kept."""
        from engine.errors import UsageError
        from engine.store.queries import diff as query, latest_runs, run_exists
        store = open_(db)
        with store.reading() as connection:
            if run_a is None or run_b is None:
                last = latest_runs(connection)
                if len(last) < 2:
                    raise UsageError(tr("案卷库中不足两次运行，无从比较", "the store holds fewer than two runs"))
                run_a, run_b = last
            for run in (run_a, run_b):
                if not run_exists(connection, run):
                    raise UsageError(tr(f"案卷库中没有第 {run} 次运行", f"the store holds no run {run}"),
                                     fix=tr("用 ecocheck db export 查看已有的运行", "see ecocheck db export for the runs"))
            result = query(connection, run_a, run_b)
        if fmt == "json":
            click.echo(json.dumps(result, ensure_ascii=False, indent=2))
            return
        for label, key in ((tr("新增", "added"), "added"), (tr("消失", "gone"), "gone")):
            for r in result[key]:
                click.echo(f"{label} {for_terminal(r['rule_id'])} {for_terminal(r['subject_id'])} "
                           f"{for_terminal(r['message'])}")
        for r in result["status_changed"]:
            click.echo(tr(f"状态改变 {r['fingerprint'][:12]}：{r['from']} → {r['to']}",
                          f"status changed {r['fingerprint'][:12]}: {r['from']} -> {r['to']}"))
        click.echo(tr(f"第 {run_a} 次与第 {run_b} 次运行：新增 {len(result['added'])}，消失 {len(result['gone'])}，"
                      f"仍在 {len(result['kept'])}",
                      f"runs {run_a} and {run_b}: added {len(result['added'])}, gone {len(result['gone'])}, "
                      f"kept {len(result['kept'])}"))

    @cli.command()
    @click.argument("subject")
    @click.argument("rule_id")
    @click.option("--reason", required=True, help="Why the finding is waived (e.g. a transition period).")
    @click.option("--basis", required=True, help="The document or decision the waiver rests on.")
    @click.option("--by", "granted_by", required=True, help="Who granted it.")
    @click.option("--until", "until", required=True, metavar="DATE",
                  help="The waiver stops applying on this date (runs as of this date or later).")
    @db_option
    @click.option("--rules", "rules_dir", type=click.Path(file_okay=False), default=None,
                  help="Rule directory (default: the bundled rules/).")
    def waive(subject, rule_id, reason, basis, granted_by, until, db, rules_dir):
        """Waive a subject's finding under a rule until a date: reported as waived with its reason, counted apart,
        kept out of the letters."""
        from engine.store.waivers import add_waiver
        ruleset = ruleset_of(rules_dir, None)
        until_date = date_option(until, "--until")
        store = open_(db)
        with store.transaction() as connection:
            number = add_waiver(connection, subject, rule_id, {r.id for r in ruleset.rules}, reason, basis,
                                granted_by, until_date)
        click.echo(tr(f"已登记豁免 {number}：{for_terminal(subject)} {rule_id}，有效至 {until_date.isoformat()}（不含当日）",
                      f"waiver {number} recorded: {for_terminal(subject)} {rule_id}, until {until_date.isoformat()} "
                      f"(exclusive)"))

    @cli.command("waivers")
    @db_option
    def waivers_list(db):
        """Every waiver in the store, with its reason, basis, who granted it and until when."""
        from engine.store.waivers import list_waivers
        store = open_(db)
        with store.reading() as connection:
            for w in list_waivers(connection):
                click.echo(f"{w.id} {for_terminal(w.subject)} {w.rule_id} {w.until.isoformat()} "
                           f"{for_terminal(w.reason)}｜{for_terminal(w.basis)}｜{for_terminal(w.granted_by)}｜"
                           f"{for_terminal(w.source or 'ecocheck waive')}")

    @cli.group("db")
    def db_group():
        """The run store itself: export it as JSON for the archive."""

    @db_group.command("export")
    @db_option
    @click.option("--output", default="-", metavar="FILE|-", help="Where to write the JSON (default: stdout).")
    def db_export(db, output):
        """Every run, input, finding, case, letter, 文号 and waiver as one JSON document."""
        from engine.store.queries import export
        store = open_(db)
        with store.reading() as connection:
            if output in (None, "-"):
                counts = export(connection, sys.stdout)
                sys.stdout.flush()
            else:
                path = Path(output)
                path.parent.mkdir(parents=True, exist_ok=True)
                with path.open("w", encoding="utf-8") as handle:
                    counts = export(connection, handle)
        click.echo(tr("已导出：" + "，".join(f"{k} {v}" for k, v in counts.items()),
                      "exported: " + ", ".join(f"{k} {v}" for k, v in counts.items())), err=True)
