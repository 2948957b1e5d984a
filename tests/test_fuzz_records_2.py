"""Fuzzed files of the second half of the record kinds (alphabetical): see tests/fuzzkit.py for what each must give.

(The kinds are split over two modules so that the two test workers share the fuzzing.)"""

import pytest

from tests.fuzzkit import SCHEMAS, fuzz_kind, setting_of


@pytest.fixture(scope="module")
def setting(ruleset):
    return setting_of(ruleset)


@pytest.mark.parametrize("kind", sorted(SCHEMAS)[len(SCHEMAS) // 2:])
def test_fuzzed_files(kind, setting):
    fuzz_kind(kind, setting)
