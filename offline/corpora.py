"""Public labelled corpora that no one here wrote, for judging triage where it cannot be tuned.

- The VADER paper's four ground-truth files (Hutto & Gilbert, ICWSM 2014): tweets, Amazon review
  snippets, movie review snippets and New York Times editorial snippets, each sentence rated by
  20 people on -4..4. They ship inside the ``vaderSentiment==3.3.2`` source package on PyPI
  (``additional_resources/hutto_ICWSM_2014.tar.gz``, MIT licence), so ``--ensure`` fetches that
  package once with pip, checks its SHA-256 and unpacks the ground-truth files into the cache
  (``~/.cache/social-listening``, or ``$SOCIAL_LISTENING_CACHE``), never edited.
- TweetEval's sentiment and irony test splits (Barbieri et al. 2020), which are only published on
  GitHub: committed verbatim under tests/data/public/tweeteval/ with their source and checksums.

docs/triage.md lists sources, licences and the label conventions.

    python -m offline.corpora --ensure     # fetch the VADER ground truth into the cache if needed
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from chalicelib.triage.sentiment import SentimentLabel, label_for
from offline.stack import cache_dir

VADER_SDIST = "vaderSentiment==3.3.2"
VADER_SDIST_SHA256 = "5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9"
VADER_GROUND_TRUTH = {
    "vader_tweets": "tweets_GroundTruth.txt",
    "vader_amazon": "amazonReviewSnippets_GroundTruth.txt",
    "vader_movies": "movieReviewSnippets_GroundTruth.txt",
    "vader_nyt": "nytEditorialSnippets_GroundTruth.txt",
}
# The paper's convention: the mean rating divided by 4 is a compound-like score, neutral within +-0.05.
VADER_GOLD_BAND = 0.05

TWEETEVAL_DIR = Path(__file__).resolve().parent.parent / "tests" / "data" / "public" / "tweeteval"
TWEETEVAL_SENTIMENT: tuple[SentimentLabel, ...] = ("negative", "neutral", "positive")  # mapping.txt: 0, 1, 2


class CorpusError(RuntimeError):
    """A corpus is missing or not what it should be; the message says which and what to do."""


@dataclass(frozen=True, slots=True)
class Labelled:
    """One sentence of a public corpus and its gold label."""

    text: str
    label: str


def vader_dir() -> Path:
    return cache_dir() / "vader-ground-truth-3.3.2"


def ensure_vader_ground_truth(download: Callable[[Path], Path] | None = None) -> Path:
    """Unpack the VADER paper's ground-truth files into the cache (once); return their folder.

    In: ``download(folder) -> sdist path`` (default: ``pip download`` of VADER_SDIST).
    Out: the folder; CorpusError when the package cannot be had or its checksum is wrong.
    """
    target = vader_dir()
    if all((target / name).exists() for name in VADER_GROUND_TRUTH.values()):
        return target
    with tempfile.TemporaryDirectory() as tmp:
        sdist = (download or _pip_download)(Path(tmp))
        digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
        if digest != VADER_SDIST_SHA256:
            raise CorpusError(f"{sdist.name} has SHA-256 {digest}, expected {VADER_SDIST_SHA256}")
        with tarfile.open(sdist) as outer:
            inner_member = next((m for m in outer.getmembers() if m.name.endswith("hutto_ICWSM_2014.tar.gz")), None)
            if inner_member is None:
                raise CorpusError(f"{sdist.name} has no additional_resources/hutto_ICWSM_2014.tar.gz")
            inner_file = outer.extractfile(inner_member)
            assert inner_file is not None  # a regular file member
            with tarfile.open(fileobj=inner_file) as inner:
                wanted = {*VADER_GROUND_TRUTH.values(), "_README_.txt"}
                staging = Path(tmp) / "out"
                members = [m for m in inner.getmembers() if m.isfile() and Path(m.name).name in wanted]
                inner.extractall(staging, members=members, filter="data")
        target.mkdir(parents=True, exist_ok=True)
        for member in members:
            (staging / member.name).replace(target / Path(member.name).name)
    return target


def _pip_download(folder: Path) -> Path:
    result = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
         "--no-binary", ":all:", VADER_SDIST, "-d", str(folder)],
        capture_output=True, text=True, check=False,
    )
    found = sorted(folder.glob("vaderSentiment-*.tar.gz"))
    if result.returncode != 0 or not found:
        raise CorpusError(f"pip download {VADER_SDIST} failed: {result.stderr.strip()[-500:]}")
    return found[0]


def vader_corpus(name: str, folder: Path | None = None) -> list[Labelled]:
    """One of the VADER ground-truth files: "id <tab> mean rating <tab> text" per line, CRLF endings."""
    path = (folder or vader_dir()) / VADER_GROUND_TRUTH[name]
    if not path.exists():
        raise CorpusError(f"{path} is missing: run 'python -m offline.corpora --ensure' (make bench does)")
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("\t", 2)
        try:
            rating = float(parts[1])
        except (IndexError, ValueError):
            raise CorpusError(f"{path.name} line {number}: expected 'id<TAB>rating<TAB>text'") from None
        rows.append(Labelled(parts[2] if len(parts) > 2 else "", label_for(rating / 4, VADER_GOLD_BAND)))
    return rows


def tweeteval(task: str, folder: Path = TWEETEVAL_DIR) -> list[Labelled]:
    """TweetEval's test split of ``task`` ("sentiment" or "irony"), labels named as in mapping.txt."""
    texts = (folder / task / "test_text.txt").read_text(encoding="utf-8").splitlines()
    labels = (folder / task / "test_labels.txt").read_text(encoding="utf-8").split()
    if len(texts) != len(labels):
        raise CorpusError(f"tweeteval {task}: {len(texts)} texts but {len(labels)} labels")
    names = dict(line.split("\t") for line in (folder / task / "mapping.txt").read_text(encoding="utf-8").splitlines())
    return [Labelled(text, names[label]) for text, label in zip(texts, labels, strict=True)]


def sentiment_corpora() -> dict[str, list[Labelled]]:
    """Every public sentiment corpus by its figure name (the VADER files must be in the cache)."""
    return {**{name: vader_corpus(name) for name in VADER_GROUND_TRUTH}, "tweeteval": tweeteval("sentiment")}


if __name__ == "__main__":
    if sys.argv[1:] != ["--ensure"]:
        sys.exit("usage: python -m offline.corpora --ensure")
    print(f"VADER ground truth in {ensure_vader_ground_truth()}")
