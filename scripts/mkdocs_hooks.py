"""MkDocs hook: the repository's files that the docs link to are published with the site.

A page links to a study file, a benchmark script or its output as the repository has it
(``../studies/demo.py`` from ``docs/index.md``), so the link works when the Markdown is read in
the repository. This hook adds those files to the site under ``source/`` (``source/studies/demo.py``),
so MkDocs checks each such link like any other (``--strict`` fails on one to a file that is not
there) and the site serves the file it names. Only the folders below are published.

It also puts the repository first on ``sys.path``, so that the CLI reference (mkdocs-click
imports ``rnnstudy.cli``) documents the code being built, as the Python reference does
(mkdocstrings' ``paths``), whichever installed copy of rnnstudy the environment has.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mkdocs.structure.files import File, Files, InclusionLevel

PUBLISHED = ("studies/*.py", "benchmarks/*.py", "benchmarks/*.txt", "examples/*.ipynb")


def on_config(config):
    root = str(Path(config["config_file_path"]).resolve().parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    return config


def on_files(files: Files, config) -> Files:
    docs = Path(config["docs_dir"])
    root = docs.parent
    for pattern in PUBLISHED:
        for path in sorted(root.glob(pattern)):
            relative = path.relative_to(root).as_posix()
            # the path a page's link resolves to, relative to docs/: "../studies/demo.py"
            files.append(
                File(
                    f"../{relative}",
                    src_dir=str(docs),
                    dest_dir=config["site_dir"],
                    use_directory_urls=config["use_directory_urls"],
                    dest_uri=f"source/{relative}",
                    inclusion=InclusionLevel.INCLUDED,  # not hidden by the default exclusion of ".*"
                )
            )
    return files
