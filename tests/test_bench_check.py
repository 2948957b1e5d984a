"""The benchmark's reading of the page cache's file huge pages, which it prints beside the start-up figure."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_check import file_huge_pages  # noqa: E402


def test_file_huge_pages_are_read_in_mib_and_are_none_where_the_system_does_not_say(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24684000 kB\nFileHugePages:    100352 kB\nFilePmdMapped:     4096 kB\n")
    assert file_huge_pages(meminfo) == 98.0
    meminfo.write_text("MemTotal:       24684000 kB\n")
    assert file_huge_pages(meminfo) == 0.0
    assert file_huge_pages(tmp_path / "absent") == 0.0
