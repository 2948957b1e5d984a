"""The command line's help in Chinese: command and option texts by name, put on the click commands before a run."""

from __future__ import annotations

import click

COMMANDS = {
    "cli": "ecocheck — 甘肃省节能减排与应对气候变化条款合规检查。\n\n对照甘政发〔2017〕54号和省政府办公厅《贯彻落实〈国家应对气候变化"
           "规划（2014-2020年）〉实施意见》，检查设施、企业、项目和市州的记录，写出发现事项和通知书。",
    "check": "检查记录文件（CSV、XLSX、JSON），输出发现事项（违反、差距、无法判定）。",
    "letters": "写出发现事项所需的通知书、通知书清单、检查记录（内部工作记录）、总览和本次写出文件的清单。",
    "assess": "年度考核结果（考核结果 xlsx/html）、预警（预警表、预警通报）和图表（SVG）。",
    "demo": "用随附的示例记录运行全部流程：发现事项、四种格式的通知书、自查报告、总览、考核和预警。",
    "template": "写出某类记录的空白填报表（中文表头、单位行、下拉选项、填表说明），ecocheck 可原样读回。",
    "rules": "列出、查看、校验和测试规则。",
    "rules list": "列出每条规则：法律效力、义务人、实施机关、严重程度、记录类型、条款和标题。",
    "rules show": "显示一条规则的全文（规则文件原样）及其法律效力、义务人、实施机关和期限解读。",
    "rules validate": "校验规则文件；错误指明文件、规则和字段。",
    "rules test": "用每条规则自带的示例运行规则引擎。",
    "rules coverage": "两份文件的每一条款、项和附件及其每一条款句（rules/provisions/）：检验它的规则及其法律效力，或未设规则的原因。",
}

OPTIONS = {
    "version": "显示版本号。",
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
    "all_results": "JSON：包含每个（规则、记录）结果，不只是发现事项；xlsx：按规则、地区和文件统计符合和不适用。",
    "params_dir": "含 annual_targets.csv/.xlsx 的目录：省上下达的年度目标（空白表：ecocheck template annual_targets）。",
    "annual_method": "未下达年度目标时，按五年目标推算2016—2019年进度目标的方法（linear 线性、geometric 几何）；"
                     "推算的目标只用于差距和预警。",
    "engine": "column：只看一条记录的规则按列运算（措施推导和关联仍由 durable_rules 完成）；durable：全部规则经 "
              "durable_rules（参照）。",
    "report_kind": "self：为记录中的每个单位写自查报告（--output 为 .html 或 .md），代替发现事项。",
    "out_dir": "输出目录：新的或空的目录（或以前运行写出的目录，加 --overwrite）。",
    "config_path": "覆盖默认设置的 YAML 文件（通知书：templates/letters.yaml；assess：templates/assessment.yaml）。",
    "letter_config_path": "覆盖 templates/letters.yaml 的通知书设置（预警通报 early_warning）。",
    "out_file": "输出文件（默认：<类型>_template.<格式>）。",
}


def localise(group: click.Group) -> None:
    """Put the Chinese help texts on every command and option of the CLI (idempotent)."""
    def visit(command: click.Command, path: str) -> None:
        command.help = COMMANDS.get(path, command.help)
        command.short_help = None
        for param in command.params:
            if isinstance(param, click.Option) and param.name in OPTIONS:
                param.help = OPTIONS[param.name]
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                visit(sub, name if path == "cli" else f"{path} {name}")
    visit(group, "cli")
