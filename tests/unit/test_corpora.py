"""Public corpora: fetched once into the cache, checked by checksum, parsed with their gold labels."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import pytest

from offline import corpora
from offline.corpora import CorpusError, ensure_vader_ground_truth, tweeteval, vader_corpus

GROUND_TRUTH = "1\t2.726315789\tSo lucky.\r\n2\t-0.1\tMeh.\r\n3\t-1.5\tAwful day.\r\n"


def _tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _fake_sdist(folder: Path) -> Path:
    inner = _tar({f"hutto_ICWSM_2014/{name}": GROUND_TRUTH.encode() for name in corpora.VADER_GROUND_TRUTH.values()}
                 | {"hutto_ICWSM_2014/vader_icwsm2014_final.pdf": b"%PDF"})
    path = folder / "vaderSentiment-3.3.2.tar.gz"
    path.write_bytes(_tar({"vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz": inner}))
    return path


def test_ground_truth_is_unpacked_once_into_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCIAL_LISTENING_CACHE", str(tmp_path / "cache"))
    sdist = _fake_sdist(tmp_path)
    monkeypatch.setattr(corpora, "VADER_SDIST_SHA256", hashlib.sha256(sdist.read_bytes()).hexdigest())
    calls: list[Path] = []

    def download(folder: Path) -> Path:
        calls.append(folder)
        return _fake_sdist(folder)

    folder = ensure_vader_ground_truth(download)
    assert sorted(p.name for p in folder.iterdir()) == sorted(corpora.VADER_GROUND_TRUTH.values())
    assert ensure_vader_ground_truth(download) == folder
    assert len(calls) == 1
    labels = [item.label for item in vader_corpus("vader_tweets")]
    assert labels == ["positive", "neutral", "negative"]  # rating / 4 against +-0.05: 0.68, -0.025, -0.375


def test_a_package_with_the_wrong_checksum_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCIAL_LISTENING_CACHE", str(tmp_path / "cache"))
    with pytest.raises(CorpusError, match=r"has SHA-256 \w+, expected 5d7c06e0"):
        ensure_vader_ground_truth(_fake_sdist)
    assert not (tmp_path / "cache" / "vader-ground-truth-3.3.2").exists()


def test_a_bad_line_is_named(tmp_path: Path) -> None:
    (tmp_path / "tweets_GroundTruth.txt").write_text("1\t0.5\tfine\r\n2\tnot-a-number\toops\r\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"tweets_GroundTruth.txt line 2: expected 'id<TAB>rating<TAB>text'"):
        vader_corpus("vader_tweets", tmp_path)


def test_missing_ground_truth_says_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match=r"python -m offline\.corpora --ensure"):
        vader_corpus("vader_nyt", tmp_path)


def test_committed_tweeteval_splits_load_with_their_labels() -> None:
    irony = tweeteval("irony")
    sentiment = tweeteval("sentiment")
    assert (len(irony), len(sentiment)) == (784, 12284)
    assert {item.label for item in irony} == {"irony", "non_irony"}
    assert sum(item.label == "irony" for item in irony) == 311
    assert {item.label for item in sentiment} == {"negative", "neutral", "positive"}
