"""The wheel works anywhere: built from the checkout, installed (not editable) into a fresh venv, run from a folder
outside the checkout it finds its rules, schemas, samples, templates and Typst layout inside the package.

One build and one install for the module (about 20 s, most of it `ecocheck demo` writing PDF); nothing is downloaded:
the wheel is built without build isolation, installed with --no-deps, and the fresh venv sees the project venv's
packages through a .pth file. Deselect with `-m "not wheel"` for a quick local run; `make test` runs it.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from engine.rules import rule_files

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = {"rules": "engine/data/rules", "inputs/schemas": "engine/data/schemas",
           "inputs/samples": "engine/data/samples", "templates": "engine/data/templates", "engine/typst": "engine/typst"}
SOURCES = ("setup.cfg", "pyproject.toml", "README.md", "engine", "ecocheck", "rules", "inputs", "templates")

pytestmark = pytest.mark.wheel


def _run(args, cwd, env, check=True):
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if check:
        assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return done


@pytest.fixture(scope="session")
def wheel(tmp_path_factory):
    """The wheel, built from a copy of the checkout's sources (a stale build/ folder cannot leak into it)."""
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        item = ROOT / name
        if item.is_dir():
            shutil.copytree(item, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy(item, source / name)
    out = tmp_path_factory.mktemp("wheel")
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
          "--wheel-dir", str(out), str(source)], cwd=source, env=os.environ.copy())
    (built,) = out.glob("ecocheck-*.whl")
    return built


@pytest.fixture(scope="session")
def installed(wheel, tmp_path_factory):
    """A fresh venv with the wheel installed (no pip of its own); its bin folder and the environment to run it in."""
    venv = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", "--clear", "--without-pip", str(venv)], cwd=venv, env=os.environ.copy())
    python = venv / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     cwd=venv, env=os.environ.copy()).stdout.strip())
    # the dependencies from this venv; a plain path line, so its editable-install hook (a .pth of its own) stays off
    deps = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (site / "_ecocheck_deps.pth").write_text("\n".join(deps) + "\n", encoding="utf-8")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", "--no-index",
          str(wheel)], cwd=venv, env=os.environ.copy())
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["ECOCHECK_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    folder = tmp_path_factory.mktemp("elsewhere")
    return venv / "bin", env, folder


def test_the_wheel_carries_every_bundled_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for source, inside in BUNDLED.items():
        tracked = [p for p in (ROOT / source).rglob("*") if p.is_file() and "__pycache__" not in p.parts]
        assert tracked, source
        missing = [str(p.relative_to(ROOT)) for p in tracked if f"{inside}/{p.relative_to(ROOT / source)}" not in names]
        assert not missing, f"not in the wheel: {missing[:5]}"
    assert {"ecocheck/__main__.py", "engine/cli.py", "engine/resources.py"} <= names


def test_the_installed_command_runs_from_any_folder(installed):
    bin_dir, env, folder = installed
    where = _run([str(bin_dir / "python"), "-c", "import engine, engine.resources as r; print(engine.__file__); "
                  "print(r.rules_dir())"], cwd=folder, env=env).stdout.split()
    assert all(Path(p).is_relative_to(bin_dir.parent) for p in where), where  # the wheel's copy, not the checkout

    listed = _run([str(bin_dir / "ecocheck"), "rules", "list"], cwd=folder, env=env).stdout
    ids = {p.stem for p in rule_files(ROOT / "rules")}
    assert {line.split()[0] for line in listed.splitlines() if line.strip()} >= ids

    sample = shutil.copy(ROOT / "inputs" / "samples" / "boilers.csv", folder / "boilers.csv")
    checked = _run([str(bin_dir / "python"), "-m", "ecocheck", "check", sample.name, "--as-of", "2021-12-31",
                    "--format", "json"], cwd=folder, env=env, check=False)
    assert checked.returncode == 1, checked.stderr  # violations found
    findings = json.loads(checked.stdout)["findings"]
    assert {"BOILER-001"} <= {f["rule_id"] for f in findings}


def test_a_users_own_rule_pack_is_still_chosen_with_rules(installed):
    bin_dir, env, folder = installed
    own = shutil.copytree(ROOT / "rules", folder / "own-rules")
    (removed,) = [p for p in rule_files(own) if p.stem == "BOILER-001"]
    removed.unlink()
    listed = _run([str(bin_dir / "ecocheck"), "rules", "list", "--rules", str(own),
                   "--schemas", str(ROOT / "inputs" / "schemas")], cwd=folder, env=env).stdout
    ids = {line.split()[0] for line in listed.splitlines() if line.strip()}
    assert "BOILER-002" in ids and "BOILER-001" not in ids


def test_the_installed_demo_writes_letters_in_every_format(installed):
    bin_dir, env, folder = installed
    _run([str(bin_dir / "ecocheck"), "demo", "--out", "demo"], cwd=folder, env=env)
    out = folder / "demo"
    assert (out / "overview.html").is_file() and (out / "findings.json").is_file()
    for fmt in ("pdf", "docx", "md"):
        assert list((out / f"letters-{fmt}").rglob(f"*.{fmt}")), fmt
    assert list((out / "letters").rglob("*.html"))
