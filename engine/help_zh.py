"""The command line's help in Chinese: command and option texts by name, put on the click commands before a run."""

from __future__ import annotations

import unicodedata

import click

from engine.lang import current, tr

COMMANDS = {
    "cli": "ecocheck — 甘肃省节能减排与应对气候变化条款合规检查。\n\n对照甘政发〔2017〕54号和省政府办公厅《贯彻落实〈国家应对气候变化"
           "规划（2014-2020年）〉实施意见》，检查设施、企业、项目和市州的记录，写出发现事项和通知书。",
    "check": "检查记录文件（CSV、XLSX、JSON），输出发现事项（违反、差距、无法判定）。",
    "letters": "写出发现事项所需的通知书、通知书清单、检查记录（内部工作记录）、总览和本次写出文件的清单。",
    "assess": "年度考核结果（考核结果 xlsx/html）、预警（预警表、预警通报）和图表（SVG）；预警通报的文号取自案卷库的文号登记簿。",
    "demo": "用随附的示例记录运行全部流程：发现事项、四种格式的通知书、自查报告、总览、考核和预警。",
    "template": "写出某类记录的空白填报表（中文表头、单位行、下拉选项、填表说明），ecocheck 可原样读回。",
    "rules": "列出、查看、校验和测试规则。",
    "rules list": "列出每条规则：法律效力、义务人、实施机关、严重程度、记录类型、条款和标题。",
    "rules show": "显示一条规则的全文（规则文件原样）及其法律效力、义务人、实施机关和期限解读。",
    "rules validate": "校验规则文件；错误指明文件、规则和字段。",
    "rules test": "用每条规则自带的示例运行规则引擎。",
    "history": "某一对象在案卷库中的记录：历次运行中关于它的每一发现事项及其状态（新发现、持续、复发、已整改、已豁免）。"
               "对象写记录中的编号（锅炉编号、统一社会信用代码、市州/年度）或单位名称。",
    "diff": "比较案卷库中的两次运行（默认最近两次）：新增、消失和仍在的发现事项（按对象、规则和期间识别，"
            "与文件和行号无关）。",
    "waive": "登记豁免：某对象在某规则下的发现事项，在有效期内报告为“已豁免”并写明理由，单独计数，不列入通知书，"
             "但不删除。规则须在规则集中，对象须在案卷库已有的运行中出现过；到 --until 当日起不再适用。",
    "waivers": "列出案卷库中的全部豁免：对象、规则、有效期、理由、依据和批准人。",
    "db": "案卷库本身：导出为 JSON 以便归档。",
    "db export": "把案卷库的全部内容（运行、输入文件及其 sha256、发现事项及其状态、案件、通知书、文号登记、豁免）"
                 "写成一个 JSON 文件。",
    "rules coverage": "两份文件的每一条款、项和附件及其每一条款句（rules/provisions/）：检验它的规则及其法律效力，或未设规则的原因。",
}

# Example command lines shown under each command's help (示例： in Chinese, Example: in English).
EXAMPLES = {
    "cli": ["ecocheck check inputs/samples/boilers.csv --as-of 2021-12-31", "ecocheck --lang en rules list"],
    "check": ["ecocheck check 锅炉能效测试.xlsx --as-of 2021-12-31",
              "ecocheck check records/*.csv --format json --output findings.json",
              "ecocheck check 锅炉.csv --rejects 拒收.csv --strict",
              "ecocheck check 散煤抽检.csv --format csv --output 发现事项.csv --duplicates 重复编号.csv"],
    "letters": ["ecocheck letters records/*.csv --out 通知书 --format docx --format pdf --issued-on 2022-01-10"],
    "assess": ["ecocheck assess prefectures.csv quarters.csv --params targets/ --out 考核 --format pdf"],
    "demo": ["ecocheck demo --out out/demo"],
    "template": ["ecocheck template 锅炉 --format xlsx --out 锅炉能效测试.xlsx",
                 "ecocheck template annual_targets --format xlsx --out targets/annual_targets.xlsx"],
    "rules": ["ecocheck rules list", "ecocheck rules validate my-rules/"],
    "rules list": ["ecocheck rules list --as-of 2020-12-31"],
    "rules show": ["ecocheck rules show BOILER-001"],
    "rules validate": ["ecocheck rules validate my-rules/ --schemas my-schemas/"],
    "rules test": ["ecocheck rules test BOILER-001 COAL-001 --engine durable"],
    "rules coverage": ["ecocheck rules coverage --format md --output COVERAGE.md"],
    "history": ["ecocheck history GL-2021-001", "ecocheck history 白银某化工有限公司 --format json"],
    "diff": ["ecocheck diff", "ecocheck diff 3 5 --format json"],
    "waive": ["ecocheck waive GL-2010-033 BOILER-003 --reason 锅炉更换过渡期 --basis 甘市监函〔2022〕5号 "
              "--by 特种设备安全监察处 --until 2022-12-31"],
    "waivers": ["ecocheck waivers --db postgresql://ecocheck@db.example/ecocheck"],
    "db": ["ecocheck db export --output 案卷库.json"],
    "db export": ["ecocheck db export --output 案卷库_2022.json", "ecocheck db export --db runs.sqlite"],
}

OPTIONS = {
    "version": "显示版本号。",
    "lang": "提示、错误信息和帮助的语言：zh（中文，默认）或 en（英文）；也可设环境变量 ECOCHECK_LANG=en。"
            "写在命令之前：ecocheck --lang en check …。",
    "kind": "所有文件的记录类型，可写中文名（如 锅炉、建设项目）；默认按表头识别。",
    "rules_dir": "规则目录（默认：随附的 rules/）。",
    "schemas_dir": "记录格式目录（默认：inputs/schemas/）。",
    "as_of": "评估基准日：按该日有效的规则判断（默认：今天）；可写 2021-12-31、2021/12/31 或 2021年12月31日。",
    "issued_on": "通知书的成文日期和文号年份（默认：今天），与评估基准日分开。",
    "first_number": "本次文号的起始序号（每个发文字号前缀各自从此编起）。",
    "overwrite": "重用以前运行写出的目录：先删除该次写出的文件（清单所列），其他文件不动。",
    "fmt": "输出格式。",
    "fmts": "通知书格式，可重复给出多种（各放入 --out 下的同名子目录）；默认 html。",
    "output": "写到哪个文件（默认：标准输出）；xlsx 和 --report self 必须给出文件。",
    "fail_on": "发现该状态（或更严重）的事项时退出码为 1。",
    "sheet": "XLSX：只读这一工作表（默认：表头与某类记录相符的每个工作表）。",
    "strict": "有任何行或值被拒收时退出码为 3。",
    "rejects": "把拒收的行和值（文件、行、列、值、原因）写成 CSV。",
    "duplicates_out": "把每个重复编号及其两处位置（文件、行号）写成 CSV；终端上的说明（终端表格除外）只列出前 20 个。",
    "all_results": "JSON：包含每个（规则、记录）结果，不只是发现事项；xlsx：按规则、地区和文件统计符合和不适用。",
    "params_dir": "含 annual_targets.csv/.xlsx 的目录：省上下达的年度目标（空白表：ecocheck template annual_targets）；"
                  "以及 external_limits.csv：使用者核实确认的外部标准限值。",
    "annual_method": "未下达年度目标时，按五年目标推算2016—2019年进度目标的方法（linear 线性、geometric 几何）；"
                     "推算的目标只用于差距和预警。",
    "engine": "column：只看一条记录的规则按列运算（措施推导和关联仍由 durable_rules 完成）；durable：全部规则经 "
              "durable_rules（参照）。",
    "report_kind": "self：为记录中的每个单位写自查报告（--output 为 .html 或 .md），代替发现事项。",
    "out_dir": "输出目录：新的或空的目录（或以前运行写出的目录，加 --overwrite）。",
    "config_path": "覆盖默认设置的 YAML 文件（通知书：templates/letters.yaml；assess：templates/assessment.yaml）。",
    "letter_config_path": "覆盖 templates/letters.yaml 的通知书设置（预警通报 early_warning）。",
    "out_file": "输出文件（默认：<类型>_template.<格式>）。",
    "db": "案卷库：数据库文件的路径，或 postgresql://用户@主机/库名（默认：环境变量 ECOCHECK_DB，否则为用户数据目录下的 "
          "ecocheck/runs.sqlite）。",
    "no_db": "本次运行不记入案卷库：没有新发现、持续、已整改等状态，文号按起始序号编排，不经登记簿。",
    "demo_db": "把示例运行记入这个案卷库（数据库文件的路径，或 postgresql://…）；不给出时示例记录不进入任何案卷库。",
    "reason": "豁免理由（如过渡期、待更换）。",
    "basis": "豁免所依据的文件或决定（如文号）。",
    "granted_by": "批准豁免的机关或人员。",
    "until": "豁免有效至该日（不含当日：该日及以后的运行不再豁免）。",
    "waivers_path": "与记录一起保存的 YAML 豁免文件：每条写明对象、规则、理由、依据、批准人和有效期（字段名和示例见说明文档“豁免文件”一节）；"
                    "对本次运行与 ecocheck waive 登记的豁免同样适用，并连同来源文件和条目记入案卷库（需要案卷库，不能与 "
                    "--no-db 同用）。",
}


# Placeholders in the usage lines and option lists (click's defaults are English words).
METAVARS = {
    "paths": "路径...", "rule_ids": "规则编号...", "rule_id": "规则编号", "directory": "目录", "kind": "类型",
    "rules_dir": "目录", "schemas_dir": "目录", "params_dir": "目录", "out_dir": "目录", "config_path": "文件",
    "letter_config_path": "文件", "output": "文件|-", "rejects": "文件", "duplicates_out": "文件", "sheet": "工作表",
    "issued_on": "日期",
    "out_file": "文件", "first_number": "整数", "subject": "对象", "run_a": "运行A", "run_b": "运行B",
    "reason": "文字", "basis": "文字", "granted_by": "机关或人员", "until": "日期", "db": "路径|地址", "demo_db": "路径|地址",
    "waivers_path": "文件",
}
PATH_NAMES = {"file": "文件", "directory": "目录", "path": "路径"}  # click.Path's name, in its messages


def localise(group: click.Group) -> None:
    """Put the help texts of the current language (engine.lang) on every command and option of the CLI: the Chinese
    ones, or back the English ones written in engine/cli.py (idempotent)."""
    chinese = current() != "en"

    def swap(item, attribute: str, zh):
        """Set item.attribute to `zh` in Chinese, to its English original (kept on first call) otherwise."""
        keep = f"_ecocheck_{attribute}_en"
        if not hasattr(item, keep):
            setattr(item, keep, getattr(item, attribute))
        setattr(item, attribute, zh if chinese and zh is not None else getattr(item, keep))

    def visit(command: click.Command, path: str) -> None:
        swap(command, "help", COMMANDS.get(path))
        if EXAMPLES.get(path):  # a \b paragraph: click prints it as it is written
            command.help += "\n\n\b\n" + tr("示例：", "Example:") + "".join(f"\n  {e}" for e in EXAMPLES[path])
        command.short_help = None
        swap(command, "options_metavar", "[选项]")
        if isinstance(command, click.Group):
            swap(command, "subcommand_metavar", "命令 [参数]...")
        if getattr(command, "_help_option", None) is not None:  # made by click at the first parse, in either language
            command._help_option.help = tr("显示本帮助并退出。", "Show this message and exit.")
        for param in command.params:
            if isinstance(param, click.Option):
                swap(param, "help", OPTIONS.get(param.name))
            swap(param, "metavar", METAVARS.get(param.name))
            if isinstance(param.type, click.Path):
                swap(param.type, "name", PATH_NAMES.get(param.type.name, param.type.name))
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                visit(sub, name if path == "cli" else f"{path} {name}")
    visit(group, "cli")


# click's own words (usage, option lists, its error messages): click looks each one up through gettext (`_` and
# `ngettext` in its modules); in Chinese these texts answer instead. A message not listed stays as click writes it.
CLICK_ZH = {
    "Usage:": "用法：",
    "Options": "选项",
    "Commands": "命令",
    "Positional arguments": "参数",
    "Error: {message}": "错误：{message}",
    "Try '{command} {option}' for help.": "运行 {command} {option} 查看帮助。",
    "No such option {name!r}.": "没有 {name} 这个选项。",
    "No such command {name!r}.": "没有 {name} 这个命令。",
    "Did you mean {possibility}?": "是否要用 {possibility}？",
    "(Did you mean one of: {possibilities}?)": "（是否要用其中之一：{possibilities}？）",
    "Missing argument": "缺少参数",
    "Missing option": "缺少选项",
    "Missing parameter": "缺少参数",
    "Missing {param_type}": "缺少{param_type}",
    "Missing parameter: {param_name}": "缺少参数：{param_name}",
    "Missing command.": "缺少命令。",
    "Invalid value: {message}": "值无效：{message}",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的值无效：{message}",
    "{value!r} is not {choice}.": "“{value}”不是 {choice}。",
    "{value!r} is not one of {choices}.": "“{value}”不是 {choices} 之一。",
    "{value!r} is not a valid {number_type}.": "“{value}”不是有效的整数或数值。",
    "{value} is not in the range {range}.": "{value} 不在 {range} 范围内。",
    "{value!r} is not a valid boolean. Recognized values: {states}": "“{value}”不是是非值；可写：{states}",
    "Got unexpected extra argument ({args})": "多余的参数（{args}）",
    "Got unexpected extra arguments ({args})": "多余的参数（{args}）",
    "Option {name!r} requires an argument.": "选项 {name} 后面要写一个值。",
    "Option {name!r} requires {nargs} arguments.": "选项 {name} 后面要写 {nargs} 个值。",
    "Option {name!r} does not take a value.": "选项 {name} 不带值。",
    "Argument {name!r} takes {nargs} values.": "参数 {name} 要 {nargs} 个值。",
    "{name} {filename!r} does not exist.": "{name}“{filename}”不存在。",
    "{name} {filename!r} is a file.": "{name}“{filename}”是文件。",
    "{name} {filename!r} is a directory.": "{name}“{filename}”是目录。",
    "{name} {filename!r} is not readable.": "{name}“{filename}”不可读。",
    "{name} {filename!r} is not writable.": "{name}“{filename}”不可写。",
    "Could not open file {filename!r}: {message}": "无法打开文件“{filename}”：{message}",
    "unknown error": "未知错误",
    "default: {default}": "默认：{default}",
    "required": "必填",
    "Aborted!": "已中止！",
    "%(prog)s, version %(version)s": "%(prog)s，版本 %(version)s",
    "Show the version and exit.": "显示版本号并退出。",
    "Show this message and exit.": "显示本帮助并退出。",
    "Choose from:\n\t{choices}": "可选：\n\t{choices}",
}
CLICK_MODULES = ("core", "exceptions", "formatting", "parser", "types", "decorators", "termui", "utils")


def _click_gettext(message: str) -> str:
    return CLICK_ZH.get(message, message) if current() != "en" else message


def _click_ngettext(singular: str, plural: str, n: int) -> str:
    return _click_gettext(singular if n == 1 else plural)


def _display_width(text: str) -> int:
    """Terminal columns of a text: a Chinese character takes two (click counts one, and its option lists drift)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in click.unstyle(text))


def localise_click() -> None:
    """Route click's gettext look-ups (`_`, `ngettext` bound in each of its modules) through CLICK_ZH, so that click's
    words follow the current language (idempotent; English passes through unchanged); and let its help formatter
    measure Chinese placeholders by their width on the terminal, so the option list stays aligned."""
    import importlib
    for name in CLICK_MODULES:
        module = importlib.import_module(f"click.{name}")
        if hasattr(module, "_"):
            module._ = _click_gettext
        if hasattr(module, "ngettext"):
            module.ngettext = _click_ngettext
    click.formatting.term_len = _display_width
