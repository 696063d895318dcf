"""Documentation standards: public classes document their arguments with an example, and the
project's files speak of the project only (no references to issue numbers)."""

import importlib
import inspect
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PUBLIC_MODULES = ("keras_skeletonmae", "keras_skeletonmae.layers", "keras_skeletonmae.models",
                  "keras_skeletonmae.data", "keras_skeletonmae.layouts")
ISSUE_REFERENCE = re.compile(r"[Ii]ssue\s*#?\d+")
TEXT_SUFFIXES = {".py", ".md", ".rst", ".txt", ".json", ".toml", ".cfg"}


def public_classes():
    classes = {}
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.isclass(value):
                classes[f"{value.__module__}.{value.__qualname__}"] = value
    return sorted(classes.items())


def documented_files():
    files = [ROOT / "presets" / "README.md", ROOT / "benchmarks" / "README.md",
             ROOT / "README.md"]
    for folder in ("keras_skeletonmae", "docs", "examples"):
        files += [path for path in sorted((ROOT / folder).rglob("*"))
                  if path.is_file() and path.suffix in TEXT_SUFFIXES
                  and "__pycache__" not in path.parts]
    return files


@pytest.mark.parametrize("name, cls", public_classes(), ids=[n for n, _ in public_classes()])
def test_public_class_docstring_has_args_and_example(name, cls):
    doc = inspect.getdoc(cls) or ""
    assert "Args:" in doc, f"{name}'s docstring has no 'Args:' section."
    assert "Example" in doc, f"{name}'s docstring has no 'Example' section."


def test_public_classes_are_found():
    names = {name.rsplit(".", 1)[-1] for name, _ in public_classes()}
    assert {"SkeletonMAEBackbone", "SkeletonClassifier", "SkeletonData", "GINConv",
            "SkeletonLayout"} <= names


def test_no_issue_numbers_in_code_and_docs():
    found = []
    for path in documented_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if ISSUE_REFERENCE.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "references to issue numbers:\n" + "\n".join(found)


def test_issue_pattern_matches_the_usual_spellings():
    for text in ("issue 7", "Issue #12", "(issue9)", "issue #3's target"):
        assert ISSUE_REFERENCE.search(text), text
    for text in ("a known issue", "issues with the input, 3 of them"):
        assert not ISSUE_REFERENCE.search(text), text
