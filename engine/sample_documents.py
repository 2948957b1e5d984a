"""Example official documents (one finding, many findings, joint issuers) for the tests, benchmark and docs pictures."""

from __future__ import annotations

from engine.officialdoc import (Colophon, FindingItem, Header, Heading, Issuer, OfficialDocument, Paragraph,
                                Table)

NDRC = Issuer("甘肃省发展和改革委员会")
SAMR = Issuer("甘肃省市场监督管理局")
DEE = Issuer("甘肃省生态环境厅")

FINDING = ("1号燃煤锅炉（出厂编号G2016-031，2018年投入使用）正平衡热效率实测值为76.2%，低于"
           "《甘肃省“十三五”节能减排综合工作方案》附件2规定的燃煤工业锅炉运行效率80%，差距3.8个百分点。")


def _closing(n: int) -> tuple:
    return (
        Heading(1, "整改要求"),
        Paragraph(f"现责令你单位于2024年6月5日前完成上述{n}项问题的整改，并将整改情况书面报告我委。"),
        Heading(2, "制定整改方案。", run_in="逐项查找原因，明确整改措施、责任人和完成时限。"),
        Heading(2, "重新检测。", run_in="整改完成后委托具备资质的检验检测机构重新检测，检测报告随整改报告报送。"),
        Paragraph("逾期未整改或者整改不符合要求的，我委将依照《中华人民共和国节约能源法》等法律、法规的规定"
                  "依法处理，并按规定将有关情况纳入社会信用记录。"),
        Paragraph("特此通知。"),
    )


def rectification_notice(findings: int = 1, number: int = 12) -> OfficialDocument:
    """限期整改通知书 with `findings` numbered findings (a table of measured values when there are several)."""
    items = [FindingItem(FINDING, lead="锅炉热效率")] if findings == 1 else [
        FindingItem(FINDING.replace("1号", f"{i + 1}号"), lead=f"锅炉{i + 1}") for i in range(findings)]
    body: list = [
        Paragraph("根据《中华人民共和国节约能源法》《节能监察办法》和《甘肃省“十三五”节能减排综合工作方案》"
                  "的有关规定，我委于2024年4月对你单位的用能设备、燃料使用和能源利用情况进行了节能监察。"),
        Heading(1, "检查发现的问题"),
        Paragraph(f"经查，你单位存在下列不符合规定的情形（共{findings}项）："),
        *items,
    ]
    if findings > 1:
        body.append(Table(("序号", "检查项", "实测值", "限值", "差距"),
                          tuple((str(i + 1), f"{i + 1}号锅炉热效率", "76.2%", "≥80%", "3.8个百分点")
                                for i in range(findings)),
                          widths=(1, 4, 2, 2, 3), caption="检测结果汇总表"))
    body += _closing(findings)
    return OfficialDocument(
        header=Header((NDRC,), f"甘发改环资监〔2024〕{number}号"),
        title="甘肃省发展和改革委员会关于兰州某热力有限公司燃煤锅炉能效不达标的限期整改通知书",
        addressees=("兰州某热力有限公司",),
        body=tuple(body),
        date="2024年5月6日",
        attachments=("数据来源与运行记录",),
        colophon=Colophon(("甘肃省生态环境厅", "甘肃省市场监督管理局", "兰州市发展和改革委员会"),
                          "甘肃省发展和改革委员会办公室", "2024年5月6日"),
    )


def joint_notice(number: int = 3) -> OfficialDocument:
    """A joint notice of two authorities about a coal sample, with two attachments."""
    return OfficialDocument(
        header=Header((SAMR, DEE), f"甘市监质〔2024〕{number}号"),
        title="甘肃省市场监督管理局 甘肃省生态环境厅关于某煤炭经销部销售高硫散煤的限期整改通知书",
        addressees=("白银市某煤炭经销部",),
        body=(
            Paragraph("根据《中华人民共和国大气污染防治法》和《甘肃省“十三五”节能减排综合工作方案》的有关规定，"
                      "我局会同甘肃省生态环境厅对你单位销售的散煤进行了抽样检测。"),
            Heading(1, "检查发现的问题"),
            FindingItem("样品编号MY-2024-0117的散煤全硫（St,d）实测值为1.42%，高于《甘肃省“十三五”节能减排综合"
                        "工作方案》四.（十七）“严格限制销售和使用灰分≥16％、硫分≥1％的散煤”的限值1%。",
                        lead="散煤硫分"),
            Heading(1, "整改要求"),
            Paragraph("请你单位立即停止销售该批次散煤，于2024年6月5日前将整改情况书面报告我局。"),
            Paragraph("特此通知。"),
        ),
        date="2024年5月6日",
        attachments=("煤质检测报告", "数据来源与运行记录"),
        colophon=Colophon(("甘肃省发展和改革委员会", "白银市市场监督管理局"), "甘肃省市场监督管理局办公室",
                          "2024年5月6日"),
    )
