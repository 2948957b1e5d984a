"""Tests for tools/annexes.py (build time): the annex tables of the energy plan parsed into rules/parameters/."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("annexes_tool", ROOT / "tools" / "annexes.py")
annexes = sys.modules.setdefault("annexes_tool", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(annexes)
SOURCE = ROOT / "rules" / "sources" / "energy_plan_2017.txt"
PARAMS = ROOT / "rules" / "parameters"

TABLES = [
    "annex1_energy_targets",
    "annex2_indicators",
    "annex3_cod",
    "annex4_nh3n",
    "annex5_so2",
    "annex6_nox",
]
POLLUTANT_TABLES = TABLES[2:]
PREFECTURES = {
    "兰州", "嘉峪关", "金昌", "酒泉", "张掖", "武威", "白银",
    "天水", "平凉", "庆阳", "定西", "陇南", "甘南", "临夏",
}


@pytest.fixture(scope="module")
def text() -> str:
    return SOURCE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def tables(text):
    return annexes.extract_annexes(text)


def _row(df: pd.DataFrame, column: str, key: str) -> pd.Series:
    hits = df[df[column] == key]
    assert len(hits) == 1, f"{key!r} found {len(hits)} times in {column}"
    return hits.iloc[0]


def _check(meta: dict, startswith: str) -> dict:
    hits = [c for c in meta["checks"] if c["check"].startswith(startswith)]
    assert len(hits) == 1, [c["check"] for c in meta["checks"]]
    return hits[0]


# --- committed files are what the parser produces -------------------------

def test_extracts_exactly_the_six_tables(tables):
    assert list(tables) == TABLES


@pytest.mark.parametrize("name", TABLES)
def test_committed_csv_equals_fresh_parse(tables, name):
    committed = pd.read_csv(PARAMS / f"{name}.csv", encoding="utf-8")
    fresh = tables[name][0].reset_index(drop=True)
    pd.testing.assert_frame_equal(committed, fresh, check_dtype=False, check_exact=True)


@pytest.mark.parametrize("name", TABLES)
def test_committed_files_are_byte_identical_to_regenerated(tables, name, tmp_path):
    annexes.write_tables({name: tables[name]}, tmp_path)
    for suffix in (".csv", ".yaml"):
        assert (tmp_path / f"{name}{suffix}").read_bytes() == (PARAMS / f"{name}{suffix}").read_bytes(), (
            f"{name}{suffix} is stale: run `make annexes`"
        )


def test_write_tables_returns_paths_and_writes_utf8_without_bom(tables, tmp_path):
    paths = annexes.write_tables(tables, tmp_path)
    assert sorted(p.name for p in paths) == sorted(f"{n}{s}" for n in TABLES for s in (".csv", ".yaml"))
    for p in paths:
        raw = p.read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf")
        raw.decode("utf-8")
    first = (tmp_path / "annex1_energy_targets.csv").read_text(encoding="utf-8").splitlines()[0]
    assert first == ",".join(annexes.ENERGY_COLUMNS)  # no index column


def test_main_writes_into_given_directory(tmp_path):
    assert annexes.main([str(SOURCE), str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{n}{s}" for n in TABLES for s in (".csv", ".yaml")
    )


# --- table shapes ----------------------------------------------------------

def test_annex1_has_14_prefectures_and_province(tables):
    df, meta = tables["annex1_energy_targets"]
    assert list(df.columns) == [
        "prefecture", "label", "intensity_reduction_pct", "consumption_2015_10k_tce",
        "increment_target_10k_tce", "consumption_cap_2020_10k_tce",
    ]
    assert len(df) == 15
    assert set(df["prefecture"]) == PREFECTURES | {"全省"}
    assert meta["key"] == "prefecture"


def test_annex1_cap_identity_holds_per_row(tables):
    df, meta = tables["annex1_energy_targets"]
    for r in df.itertuples(index=False):
        assert r.consumption_2015_10k_tce + r.increment_target_10k_tce == r.consumption_cap_2020_10k_tce, r
    assert _check(meta, "consumption_2015_10k_tce + increment_target_10k_tce")["holds"] is True


def test_annex1_province_sums_recorded(tables):
    df, meta = tables["annex1_energy_targets"]
    pref = df[df["prefecture"] != "全省"]
    prov = _row(df, "prefecture", "全省")
    for col in ["consumption_2015_10k_tce", "increment_target_10k_tce", "consumption_cap_2020_10k_tce"]:
        check = _check(meta, f"sum of 14 prefecture rows of {col}")
        detail = check["details"][0]
        assert detail["sum_of_prefectures"] == pref[col].sum()
        assert detail["province_row"] == prov[col]
        assert detail["difference_sum_minus_province"] == pref[col].sum() - prov[col]
        assert check["holds"] is bool(pref[col].sum() == prov[col])


@pytest.mark.parametrize("name", POLLUTANT_TABLES)
def test_pollutant_annexes_have_15_rows_including_mining_area(tables, name):
    df, meta = tables[name]
    assert list(df.columns) == [
        "prefecture", "label", "emissions_2015_t", "reduction_ratio_pct", "key_project_reduction_t", "cap_2020_t",
    ]
    assert len(df) == 15
    assert set(df["prefecture"]) == PREFECTURES | {"甘肃矿区"}
    assert df[["emissions_2015_t", "reduction_ratio_pct", "key_project_reduction_t"]].notna().all().all()


@pytest.mark.parametrize("name", POLLUTANT_TABLES)
def test_pollutant_row_check_partitions_rows(tables, name):
    df, meta = tables[name]
    check = _check(meta, "key_project_reduction_t == emissions_2015_t")
    matching = check["details"][0]["matching_rows"]
    others = check["details"][1]["non_matching_rows"]
    assert sorted(matching + [o["prefecture"] for o in others]) == sorted(df["prefecture"])
    for r in df.itertuples(index=False):
        ok = abs(r.key_project_reduction_t - r.emissions_2015_t * r.reduction_ratio_pct / 100) <= 0.01 + 1e-9
        assert (r.prefecture in matching) is ok
    assert check["holds"] is (not others)
    sum_check = _check(meta, "sum of 2015 emissions")
    assert sum_check["details"][0]["sum_emissions_2015_t"] == pytest.approx(df["emissions_2015_t"].sum())


def test_annex5_lanzhou_is_the_only_so2_mismatch(tables):
    _, meta = tables["annex5_so2"]
    others = _check(meta, "key_project_reduction_t == emissions_2015_t")["details"][1]["non_matching_rows"]
    assert [o["prefecture"] for o in others] == ["兰州"]
    assert others[0]["difference_t"] == pytest.approx(13035.92 - 69816.53 * 0.187, abs=0.005)


def test_annex2_shape_and_ids(tables):
    df, meta = tables["annex2_indicators"]
    assert list(df.columns) == [
        "indicator", "sector", "name_zh", "unit", "value_2015", "target_2020", "change", "change_is_rate",
    ]
    assert len(df) == 28
    assert df["indicator"].is_unique
    assert df["indicator"].str.fullmatch(r"[a-z0-9_]+").all()
    assert set(df["name_zh"]) == set(annexes.INDICATOR_IDS)
    assert list(dict.fromkeys(df["sector"])) == ["工业", "建筑", "交通运输", "公共机构", "终端用能设备"]
    assert meta["key"] == "indicator"
    assert meta["notes"] == "注：［］内为变化率。"


# --- spot values against the text ----------------------------------------

def test_spot_values_annex1(tables):
    df, meta = tables["annex1_energy_targets"]
    lz = _row(df, "prefecture", "兰州")
    assert lz["label"] == "兰州（含兰州新区）"
    assert lz["intensity_reduction_pct"] == 20
    assert lz["consumption_2015_10k_tce"] == 2405
    assert lz["increment_target_10k_tce"] == 494
    assert lz["consumption_cap_2020_10k_tce"] == 2899
    gn = _row(df, "prefecture", "甘南")
    assert (gn["intensity_reduction_pct"], gn["consumption_cap_2020_10k_tce"]) == (12, 66)
    prov = _row(df, "prefecture", "全省")
    assert (prov["intensity_reduction_pct"], prov["consumption_2015_10k_tce"],
            prov["increment_target_10k_tce"], prov["consumption_cap_2020_10k_tce"]) == (14, 7523, 1430, 8953)
    assert meta["title"]["zh"] == "“十三五”各市州能耗总量和强度“双控”目标"
    assert meta["source"] == {"document": "energy-plan", "annex": "附件1", "responsible": "责任部门：省发展改革委"}
    assert meta["columns"]["consumption_cap_2020_10k_tce"] == {
        "label": "2020年能源消费总量控制目标(万吨标准煤)", "unit": "万吨标准煤"}
    assert meta["columns"]["consumption_2015_10k_tce"]["label"] == "2015年能源消费总量(万吨标准煤)"


def test_spot_values_pollutants(tables):
    so2 = tables["annex5_so2"][0]
    jyg = _row(so2, "prefecture", "嘉峪关")
    assert jyg["reduction_ratio_pct"] == 31.00
    assert jyg["emissions_2015_t"] == 72505.49
    assert jyg["key_project_reduction_t"] == 22476.70
    cod_lz = _row(tables["annex3_cod"][0], "prefecture", "兰州")
    assert cod_lz["label"] == "兰州（含兰州新区）"
    assert (cod_lz["emissions_2015_t"], cod_lz["reduction_ratio_pct"], cod_lz["key_project_reduction_t"]) == (
        43411.92, 15.0, 5220.04)
    nh3n_kq = _row(tables["annex4_nh3n"][0], "prefecture", "甘肃矿区")
    assert (nh3n_kq["emissions_2015_t"], nh3n_kq["reduction_ratio_pct"], nh3n_kq["key_project_reduction_t"]) == (
        26.96, 0.0, 0.0)
    nox_jyg = _row(tables["annex6_nox"][0], "prefecture", "嘉峪关")
    assert (nox_jyg["emissions_2015_t"], nox_jyg["key_project_reduction_t"]) == (48788.51, 9791.70)
    meta = tables["annex4_nh3n"][1]
    assert meta["source"]["annex"] == "附件4"
    assert meta["source"]["responsible"] == "责任部门：省环保厅"
    assert meta["columns"]["reduction_ratio_pct"] == {"label": "2020年减排比例（%）", "unit": "%"}
    assert meta["notes"].startswith("注：在“十三五”中期") and "氨氮排放指标" in meta["notes"]


def test_spot_values_annex2(tables):
    df, meta = tables["annex2_indicators"]
    boiler = _row(df, "indicator", "coal_industrial_boiler_operating_efficiency")
    assert boiler["name_zh"] == "燃煤工业锅炉（运行）效率"
    assert boiler["sector"] == "终端用能设备"
    assert (boiler["unit"], boiler["value_2015"], boiler["target_2020"], boiler["change"]) == ("%", 75, 80, 5)
    assert not boiler["change_is_rate"]

    power = _row(df, "indicator", "thermal_power_supply_coal_consumption")
    assert power["unit"] == "克标准煤/千瓦时"  # line break inside the cell folded
    assert (power["value_2015"], power["target_2020"], power["change"]) == (324, 320, -4)

    intensity = _row(df, "name_zh", "单位工业增加值（规模以上）能耗")
    assert intensity["change"] == -17 and bool(intensity["change_is_rate"]) is True
    assert math.isnan(intensity["value_2015"]) and math.isnan(intensity["target_2020"])

    car = _row(df, "indicator", "new_passenger_car_fuel_consumption")
    assert car["sector"] == "交通运输" and car["unit"] == "升/百公里" and car["target_2020"] == 5.0
    assert math.isnan(car["value_2015"]) and math.isnan(car["change"])

    steel = _row(df, "indicator", "steel_comprehensive_energy_per_t")
    assert (steel["value_2015"], steel["target_2020"], steel["change"]) == (597.51, 560, -37.51)

    mid = _row(df, "name_zh", "一级能效容积式空气压缩机市场占有率（55kW至220kW）")
    assert (mid["value_2015"], mid["target_2020"], mid["change"]) == (5, 13, 8)
    assert df["name_zh"].str.startswith("一级能效容积式空气压缩机市场占有率（").sum() == 3
    assert "一级能效容积式空气压缩机市场占有率（小于55kW）" in set(df["name_zh"])

    aviation = _row(df, "indicator", "civil_aviation_energy_per_t_km")
    assert aviation["change"] == -4 and bool(aviation["change_is_rate"]) is True
    assert meta["qualified_values"][0]["printed"] == ">［-4%］"

    assert meta["columns"]["value_2015"]["label"] == "2015年实际值"
    assert meta["columns"]["target_2020"]["label"] == "2020年目标值"


def test_all_metadata_has_required_keys(tables):
    for name, (df, meta) in tables.items():
        assert meta["table"] == name
        assert set(meta) >= {"table", "title", "source", "key", "columns", "notes", "checks"}
        assert set(meta["title"]) == {"zh", "en"} and meta["title"]["zh"].startswith("“十三五”")
        assert meta["source"]["document"] == "energy-plan"
        assert meta["source"]["responsible"].startswith("责任部门：")
        assert list(meta["columns"]) == list(df.columns)
        assert all(set(c) >= {"label", "unit"} for c in meta["columns"].values())
        assert meta["checks"]
        for c in meta["checks"]:
            assert set(c) == {"check", "holds", "details"} and isinstance(c["holds"], bool)
        yaml.safe_load(yaml.safe_dump(meta, allow_unicode=True, sort_keys=False))


# --- malformed input -------------------------------------------------------

def test_malformed_pollutant_row_raises_naming_the_annex(text):
    bad = text.replace("\t72505.49\xa0", "\t72505.49吨", 1)
    assert bad != text
    with pytest.raises(ValueError, match=r"附件5.*72505\.49吨"):
        annexes.extract_annexes(bad)


def test_missing_cell_raises_naming_the_annex(text):
    bad = text.replace("\t1194\n", "", 1)  # drop a cell of the 嘉峪关 row in annex 1
    assert bad != text
    with pytest.raises(ValueError, match=r"附件1.*line \d+"):
        annexes.extract_annexes(bad)


def test_unknown_indicator_raises(text):
    bad = text.replace("\t电动机系统效率\n", "\t电动机系统能效\n", 1)
    assert bad != text
    with pytest.raises(ValueError, match=r"附件2.*电动机系统能效"):
        annexes.extract_annexes(bad)


def test_unparseable_change_raises(text):
    bad = text.replace("\t［-12%］", "\t约-12%", 1)
    assert bad != text
    with pytest.raises(ValueError, match=r"附件2.*约-12%"):
        annexes.extract_annexes(bad)


def test_missing_annex_raises(text):
    bad = text.replace("附件6", "附表6")
    with pytest.raises(ValueError, match="附件6"):
        annexes.extract_annexes(bad)


@pytest.mark.parametrize("name", POLLUTANT_TABLES)
def test_pollutant_caps_are_at_the_printed_precision(tables, name):
    """The 2020 cap is 2015 × (1 − ratio) rounded half up to the two decimals the annex prints (issue 7: a value
    equal to the printed cap complies; 嘉峪关 COD 3670.15 × 0.985 = 3615.09775 → 3615.10)."""
    from decimal import ROUND_HALF_UP, Decimal
    df, meta = tables[name]
    for row in df.itertuples():
        exact = Decimal(str(row.emissions_2015_t)) * (1 - Decimal(str(row.reduction_ratio_pct)) / 100)
        assert Decimal(str(row.cap_2020_t)) == exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert "cap_2020_t" in meta["columns"] and "derived" in meta["columns"]["cap_2020_t"]["description"]
    if name == "annex3_cod":
        assert df.set_index("prefecture").loc["嘉峪关", "cap_2020_t"] == 3615.10
