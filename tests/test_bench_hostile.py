"""The hostile-input benchmark's runs: a child `ecocheck check` that records nothing in the user's run store."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_hostile import run  # noqa: E402


def test_a_hostile_case_runs_in_a_child_that_leaves_the_users_run_store_alone(tmp_path, monkeypatch):
    """Each case is a fresh `ecocheck check`; the benchmark's files are not cases, so the child records nothing in the
    run store a user's checks go to (before, every case was a run in $XDG_DATA_HOME/ecocheck/runs.sqlite)."""
    home = tmp_path / "data"
    monkeypatch.delenv("ECOCHECK_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    path = tmp_path / "boilers.csv"
    path.write_text("使用单位,锅炉编号,市州,燃料种类,测试类型,出厂日期,测试日期,热效率（%）,是否在集中供热供气管网覆盖范围内,是否在用\n"
                    "兰州某厂,GL-1,兰州市,燃煤,运行,2020-01-01,2021-06-01,75,否,是\n", encoding="utf-8")
    wall, cpu, peak, code, error = run(path, tmp_path / "out.json", [], timeout=120)
    assert code == 0, error
    assert '"status": "gap"' in (tmp_path / "out.json").read_text(encoding="utf-8")  # (75% < 80%: 附件2)
    assert wall > 0 and cpu > 0 and peak > 0
    assert not home.exists()
