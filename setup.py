"""Builds the one C extension (the HTML scanner); everything else is in pyproject.toml."""

from Cython.Build import cythonize
from setuptools import Extension, setup

setup(
    ext_modules=cythonize(
        [Extension("askwell.data._html", ["src/askwell/data/_html.pyx"])],
        compiler_directives={"language_level": "3"},
    )
)
