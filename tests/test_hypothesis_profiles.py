"""The hypothesis profiles of tests/conftest.py: `--hypothesis-profile=long` is not undone when the file is imported a
second time (as `tests.conftest`, by the modules that import scaled), and scaled() follows the profile loaded."""

import importlib

from hypothesis import settings

import tests.conftest as conftest_module


def test_importing_the_conftest_again_keeps_the_profile_the_option_loaded():
    before = settings.get_current_profile_name()
    try:
        settings.load_profile("long")  # what the plugin does for --hypothesis-profile=long, after the first import
        importlib.reload(conftest_module)  # the second import
        assert settings.get_current_profile_name() == "long"
        assert conftest_module.scaled(10) == 100
        settings.load_profile("default")  # no option: the first import loads the CI sizes
        importlib.reload(conftest_module)
        assert settings.get_current_profile_name() == "ci"
        assert conftest_module.scaled(10) == 10
    finally:
        settings.load_profile(before)
