"""Packaging beyond pyproject.toml: ship the repository's cases/*.toml inside the package.

The case files live once, in cases/ at the repository root (users copy them, tests read them).
Mapping the package `eofpinn.case_files` onto that folder puts them into every wheel as
eofpinn/case_files/*.toml, so `load_case("quickstart")` and `eofpinn cases` work outside a
clone; pyproject.toml cannot add a mapped package to an automatic package search, hence this
file. An editable install reads cases/ directly (eofpinn/cases/shipped.py).
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["eofpinn*"]) + ["eofpinn.case_files"],
    package_dir={"eofpinn.case_files": "cases"},
    package_data={"eofpinn.case_files": ["*.toml"]},
)
