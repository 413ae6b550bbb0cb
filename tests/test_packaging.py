"""One installable package: namespaced imports, a complete wheel, and a CLI that works from it."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: the design card's folders, installed as ticketguard.<name>
SOURCE_FOLDERS = ("cli", "data", "models", "relabel", "service", "training")
BARE_NAMES = frozenset(SOURCE_FOLDERS)


def _python_files() -> list[Path]:
    folders = [*SOURCE_FOLDERS, "ticketguard", "tests", "benchmarks"]
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def test_code_imports_only_the_ticketguard_namespace() -> None:
    offenders = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            offenders += [f"{path.relative_to(ROOT)}:{node.lineno} {n}" for n in names if n.split(".")[0] in BARE_NAMES]
    assert offenders == []


def _package_folder(package: str) -> Path:
    _, *parts = package.split(".")
    return ROOT.joinpath(*parts) if parts else ROOT / "ticketguard"


def test_every_source_package_is_listed_in_pyproject() -> None:
    """Code packages (an ``__init__.py``) are listed; so are data-only folders, each with its package-data."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    code = {"ticketguard"}
    for folder in SOURCE_FOLDERS:
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder)
            code.add(".".join(["ticketguard", folder, *relative.parts]))
    listed = set(config["packages"])
    assert code <= listed
    for package in sorted(listed - code):
        patterns = config["package-data"].get(package, [])
        assert patterns, f"{package} holds no code and ships no data"
        assert any(f.is_file() for pattern in patterns for f in _package_folder(package).glob(pattern)), package


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(out), str(ROOT)], check=True, capture_output=True)
    (built,) = out.glob("ticketguard-*.whl")
    return built


def test_the_wheel_holds_one_package_with_its_data(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names if not n.startswith("ticketguard-")} == {"ticketguard"}
    for required in ("ticketguard/py.typed", "ticketguard/service/alembic.ini",
                     "ticketguard/service/migrations/env.py", "ticketguard/service/migrations/script.py.mako",
                     "ticketguard/service/migrations/versions/0001_messages_and_feedback.py",
                     "ticketguard/data/corpus/en.jsonl", "ticketguard/data/challenge/en.jsonl",
                     "ticketguard/data/public/en.jsonl", "ticketguard/data/registers/en.jsonl",
                     "ticketguard/data/GUIDELINES.md"):
        assert required in names, required
    assert not [n for n in names if n.startswith(("ticketguard/tests", "tests/"))]


def test_the_installed_wheel_runs_its_cli(wheel: Path, tmp_path: Path) -> None:
    """A fresh venv with the wheel alone (its dependencies come from this environment's site-packages)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next(venv.glob("lib/python*/site-packages"))
    deps = [p for p in sys.path if p.endswith("site-packages")]
    # a plain path line adds the dependencies without processing their .pth files, so this
    # checkout's editable install is not visible: only the wheel provides ticketguard
    (site / "deps.pth").write_text("\n".join(deps) + "\n", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--quiet",
                    "--no-deps", str(wheel)], check=True, capture_output=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = {"cwd": tmp_path, "env": env, "capture_output": True, "text": True}
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import ticketguard.data as d; print(d.CORPUS_DIR)"],
                           **run)  # type: ignore[call-overload]
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(site)
    helped = subprocess.run([str(venv / "bin" / "ticketguard"), "--help"], **run)  # type: ignore[call-overload]
    assert helped.returncode == 0 and "predict" in helped.stdout, helped.stderr
    checked = subprocess.run([str(venv / "bin" / "ticketguard"), "data", "check"], **run)  # type: ignore[call-overload]
    assert checked.returncode == 0 and "corpus OK" in checked.stdout, checked.stdout + checked.stderr


def test_help_and_data_check_do_not_import_torch_or_matplotlib() -> None:
    code = ("import sys; from typer.testing import CliRunner; from ticketguard.cli.main import app; "
            "r = CliRunner().invoke(app, ['data', 'check']); assert r.exit_code == 0, r.output; "
            "CliRunner().invoke(app, ['--help']); "
            "print(sorted(m for m in ('torch', 'matplotlib', 'transformers', 'sklearn') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
