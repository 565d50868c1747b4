"""`make check`: validate listen.yaml (or the file ``LISTEN_CONFIG`` names) without AWS.

The same validation ``make deploy``'s preflight and every Lambda run (``load_config``): the YAML,
every field, and every rule compiled exactly as the runtime compiles it. A valid file gets a
one-line summary and, per enabled network, how often its published limits let it be polled for
these terms; an invalid one, one line per problem naming file, line (and column for a
query), field and what was expected, and exit status 1.

    python -m offline.check [listen.yaml]
"""

from __future__ import annotations

import sys
from pathlib import Path

from chalicelib.config import ConfigError, compiled_rules, config_path, load_config
from chalicelib.sources.limits import statements


def check(path: Path) -> tuple[bool, list[str]]:
    """Whether the file at ``path`` is a valid configuration, and the lines to print."""
    try:
        config = load_config(path)
    except ConfigError as err:
        return False, [f"{path} is not valid:", *(f"  {problem}" for problem in err.problems)]
    enabled = list(config.enabled_networks())
    terms = len(compiled_rules(config).search_terms())
    plural = "" if len(config.recipients) == 1 else "s"
    return True, [
        f"{path} is valid: {len(config.rules)} rules ({terms} search terms), {len(enabled)} of "
        f"{len(config.networks)} networks enabled ({', '.join(enabled) or 'none'}), "
        f"{len(config.recipients)} recipient{plural}",
        *(f"  {line}" for line in statements(config)),  # how often each network's limits let it be polled
    ]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else config_path()
    ok, lines = check(path)
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
