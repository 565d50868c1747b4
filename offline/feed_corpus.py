"""feedparser's own test corpus (``tests/`` of its source distribution on PyPI: over 2,000
feeds, well-formed and ill-formed, with the HTTP headers and expectations each test states),
fetched once with pip into the cache beside DynamoDB Local and read offline after that.

    python -m offline.feed_corpus      # fetch it into the cache if needed (make install does)

The version is the one installed (requirements.txt pins it), so the corpus always matches
the parser the connector runs.
"""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from offline.stack import StackError, cache_dir


def feedparser_version() -> str:
    return importlib.metadata.version("feedparser")


def corpus_dir() -> Path:
    """Where the corpus lives (``<cache>/feedparser-<version>-tests``), present or not."""
    return cache_dir() / f"feedparser-{feedparser_version()}-tests"


def ensure_feed_corpus() -> Path:
    """Download feedparser's sdist with pip (once) and keep its ``tests/`` folder; return it."""
    target = corpus_dir()
    if (target / "wellformed").is_dir():
        return target
    version = feedparser_version()
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
             "--no-binary", ":all:", f"feedparser=={version}", "-d", tmp],
            capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise StackError(f"pip download feedparser=={version} failed: {result.stderr.strip()[-500:]}")
        [sdist] = Path(tmp).glob("feedparser-*.tar.gz")
        prefix = f"feedparser-{version}/tests/"
        with tarfile.open(sdist) as tar:
            members = [m for m in tar.getmembers() if m.name.startswith(prefix)]
            tar.extractall(tmp, members=members, filter="data")
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            shutil.rmtree(target)
        shutil.move(str(Path(tmp) / prefix), target)
    if not (target / "wellformed").is_dir():
        raise StackError(f"feedparser {version}'s source distribution has no tests/wellformed folder")
    return target


if __name__ == "__main__":
    print(f"feedparser's test corpus ready in {ensure_feed_corpus()}")
