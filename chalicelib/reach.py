"""What ``Mention.reach`` counts on each network, said one way everywhere (the alert
emails, the priority reasons): "2.3k reputation", "1 follower", "12 points"."""

from __future__ import annotations

# network -> (one, many); a network not named counts followers.
REACH_UNITS: dict[str, tuple[str, str]] = {
    "hackernews": ("point", "points"),
    "reddit": ("point", "points"),
    "lobsters": ("point", "points"),
    "stackexchange": ("reputation", "reputation"),
    "devto": ("reaction", "reactions"),
    "bluesky": ("like", "likes"),
}
FOLLOWERS = ("follower", "followers")


def short_count(n: int) -> str:
    """1234 -> "1.2k", 12000 -> "12k", 2500000 -> "2.5M", 950 -> "950"."""
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if n >= size:
            value = f"{n / size:.1f}".removesuffix(".0") if n < 10 * size else str(n // size)
            return value + suffix
    return str(n)


def reach_label(network: str, reach: int) -> str:
    """The reach with its network's unit: "1 follower", "2.3k reputation", "12 points"."""
    one, many = REACH_UNITS.get(network, FOLLOWERS)
    return f"{short_count(reach)} {one if reach == 1 else many}"
