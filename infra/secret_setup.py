"""``python -m infra.secret_setup --stage prod``: put the secrets listen.yaml names into SSM Parameter Store.

Lists every secret the validated listen.yaml needs: the signing key of action links (``secrets.*``) and
each enabled network's credentials (the options its connector and its replier declare as holding SSM
parameter names). Says which exist already (their values are never read or printed), asks for each
missing one without echo, generates the signing key itself, and writes SecureStrings without ever
overwriting one. Every name must be under the app's path (``infra.stack.SECRETS_PREFIX``): the
functions are allowed to read nothing else.

    python -m infra.secret_setup --stage prod                      # ask for what is missing, write it
    python -m infra.secret_setup --stage prod --check              # only report; exit 1 if anything is missing
    python -m infra.secret_setup --stage prod --rotate-signing-key # new key; the old one becomes the previous key

YouTube replies need three: the OAuth refresh token of the owner's channel (scope
``https://www.googleapis.com/auth/youtube.force-ssl``, from a consent with ``access_type=offline``;
a Google Cloud app left in "Testing" gets refresh tokens that expire after 7 days: publish it) and
the OAuth client's id and secret (``oauth_refresh_token_parameter``, ``oauth_client_id_parameter``,
``oauth_client_secret_parameter``). The replier makes hour-long access tokens from them itself and
keeps those in memory only; a fixed access token is no longer read.

Each stage reads only its own path: listen.yaml's ``/social-listening/<name>`` is written and read as
``/social-listening/<stage>/<name>`` (``chalicelib.runtime.stage_parameter``), so dev and prod never share a
signing key or a token. A secret that exists only at the shared name of an earlier version is copied to the
stage's path once (``migrate_shared_secrets``; ``make deploy`` and this command do it and say so).
listen.yaml is ``--config``, else ``$LISTEN_CONFIG``, else ./listen.yaml.
"""

from __future__ import annotations

import argparse
import getpass
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from secrets import token_urlsafe
from typing import Any

from chalicelib.config import ConfigError, ListenConfig, config_path, load_config
from chalicelib.log_levels import pin_library_loggers
from chalicelib.networks import spec
from chalicelib.runtime import stage_parameter
from infra.names import SECRETS_PREFIX
from infra.policies import stage_secrets_path

SIGNING_KEY_FIELD = "secrets.signing_key_parameter"
PREVIOUS_KEY_FIELD = "secrets.previous_signing_key_parameter"
PARAMETER_NAME = re.compile(r"^/[A-Za-z0-9_.\-/]{1,1010}$")  # SSM's own alphabet for hierarchical names
Ask = Callable[[str], str]  # prompt -> what the owner typed (getpass in real use, a function in tests)
Say = Callable[[str], None]


# What works, said before a secret is asked for (where the network has a trap).
HINTS = {
    "networks.github.token_parameter": (
        "GitHub: a classic personal access token with the public_repo scope replies on any public "
        "repository; a GitHub App token replies where the app is installed; a fine-grained token "
        "(github_pat_...) replies only on its own owner's repositories"
    ),
}
FINE_GRAINED_PREFIX = "github_pat_"


class SecretsError(Exception):
    """listen.yaml names a secret the app could not read; the message names the field."""


@dataclass(frozen=True)
class Secret:
    """One SSM SecureString the service needs: its name, the listen.yaml field naming it, in words."""

    parameter: str  # the SSM name: under the stage's path when a stage is given
    field: str  # e.g. networks.github.token_parameter
    what: str
    generated: bool = False  # the signing key is made here, never typed
    configured: str = ""  # the name as listen.yaml writes it (the shared name of earlier versions)


def check_parameter_name(parameter: str, field: str) -> None:
    """Raise SecretsError unless ``parameter`` is a valid SSM name under SECRETS_PREFIX."""
    if not parameter.startswith(SECRETS_PREFIX) or not PARAMETER_NAME.match(parameter) or "//" in parameter:
        raise SecretsError(
            f"listen.yaml {field}: {parameter!r} is not under {SECRETS_PREFIX}: the functions may only read "
            f"SSM parameters whose names start with {SECRETS_PREFIX} (letters, digits, '_', '.', '-', '/'); "
            f"rename it, e.g. {SECRETS_PREFIX}{parameter.strip('/').split('/')[-1] or 'name'}"
        )


def credential_options(network: str) -> tuple[str, ...]:
    """Names of the network's options that hold SSM parameter names, as its spec lists them
    (reading credentials, then those only replies need)."""
    return tuple(c.option for c in spec(network).credentials)


def needed_secrets(config: ListenConfig, stage: str | None = None) -> list[Secret]:
    """Every secret the configuration names, signing key first, then network by network in listen.yaml order;
    with ``stage``, each under the stage's own path (what the stage's functions read).

    Raises SecretsError (naming the listen.yaml field) for a name outside SECRETS_PREFIX.
    """
    keys = config.secrets
    found = [Secret(keys.signing_key_parameter, SIGNING_KEY_FIELD, "signing key of action links", generated=True)]
    if keys.previous_signing_key_parameter:
        found.append(Secret(keys.previous_signing_key_parameter, PREVIOUS_KEY_FIELD,
                            "previous signing key (links sent before the last rotation)"))
    for network, options in config.enabled_networks().items():
        for option in credential_options(network):
            parameter = getattr(options, option, None)
            if parameter:
                what = f"{network} {option.removesuffix('_parameter').replace('_', ' ')}"
                found.append(Secret(str(parameter), f"networks.{network}.{option}", what))
    for secret in found:
        check_parameter_name(secret.parameter, secret.field)
    if stage:
        found = [replace(secret, parameter=stage_parameter(secret.parameter, stage_secrets_path(stage)),
                         configured=secret.parameter) for secret in found]
    unique: dict[str, Secret] = {}
    for secret in found:
        unique.setdefault(secret.parameter, secret)  # two options may share one parameter
    return list(unique.values())


def parameter_exists(ssm: Any, name: str) -> bool:
    """True if the SSM parameter exists (read without decryption; the value is discarded)."""
    try:
        ssm.get_parameter(Name=name, WithDecryption=False)
    except ssm.exceptions.ParameterNotFound:
        return False
    return True


def missing_secrets(ssm: Any, secrets: list[Secret]) -> list[Secret]:
    """The secrets that do not exist in SSM yet, in the given order."""
    return [secret for secret in secrets if not parameter_exists(ssm, secret.parameter)]


def write_secret(ssm: Any, name: str, value: str, *, overwrite: bool = False) -> None:
    """Write a SecureString (AWS-managed key aws/ssm); never overwrites unless asked (rotation)."""
    ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=overwrite,
                      Description="social-listening secret (written by make secrets or make connect)")


def migrate_shared_secrets(ssm: Any, config: ListenConfig, stage: str, *, say: Say = print) -> list[str]:
    """Copy each secret that exists only at its shared name (``/social-listening/<name>``, what every stage read
    before stages had their own paths) to the stage's path, once: never overwriting, never printing a value.
    The shared parameter is left for the other stage (delete it once every stage has its copy). Returns the
    names written."""
    copied = []
    for secret in needed_secrets(config, stage):
        if secret.configured == secret.parameter or parameter_exists(ssm, secret.parameter):
            continue
        try:
            value = ssm.get_parameter(Name=secret.configured, WithDecryption=True)["Parameter"]["Value"]
        except ssm.exceptions.ParameterNotFound:
            continue
        write_secret(ssm, secret.parameter, value)
        copied.append(secret.parameter)
        say(f"  copied    {secret.configured} -> {secret.parameter}  (once: stage {stage} now reads only "
            f"{stage_secrets_path(stage)}; delete {secret.configured} when no stage needs it)")
    return copied


def setup(ssm: Any, config: ListenConfig, *, stage: str | None = None, ask: Ask = getpass.getpass,
          say: Say = print, new_key: Callable[[], str] = lambda: token_urlsafe(48)) -> list[Secret]:
    """Report each needed secret, ask for the missing ones (empty answer: skip), generate the signing key.

    Returns the secrets still missing afterwards (skipped ones). Values are never printed.
    """
    needed = needed_secrets(config, stage)
    missing = {s.parameter for s in missing_secrets(ssm, needed)}
    still_missing: list[Secret] = []
    for secret in needed:
        if secret.parameter not in missing:
            say(f"  present   {secret.parameter}  ({secret.what})")
            continue
        if secret.generated:
            write_secret(ssm, secret.parameter, new_key())
            say(f"  generated {secret.parameter}  ({secret.what})")
            continue
        if secret.field in HINTS:
            say(f"  note      {HINTS[secret.field]}")
        value = ask(f"  {secret.what} for {secret.parameter} (input hidden; empty to skip): ").strip()
        if not value:
            say(f"  skipped   {secret.parameter}: missing until you run this again ({secret.field})")
            still_missing.append(secret)
            continue
        write_secret(ssm, secret.parameter, value)
        say(f"  written   {secret.parameter}  ({secret.what})")
        if secret.field in HINTS and value.startswith(FINE_GRAINED_PREFIX):
            say(f"  warning   {secret.parameter} is a fine-grained token: replies on other owners' repositories "
                "will be refused; use a classic token with public_repo for those")
    return still_missing


def previous_key_name(config: ListenConfig) -> str:
    """Where rotation moves the current signing key: the configured previous-key parameter or ``<key>-previous``."""
    return config.secrets.previous_signing_key_parameter or f"{config.secrets.signing_key_parameter}-previous"


def rotate_signing_key(ssm: Any, config: ListenConfig, *, stage: str | None = None, say: Say = print,
                       new_key: Callable[[], str] = lambda: token_urlsafe(48)) -> str:
    """Move the current signing key to the previous-key parameter and write a new one (under the stage's path
    when a stage is given); returns the listen.yaml line the owner must add (links already sent keep working
    for their 7 days)."""
    configured_previous = previous_key_name(config)
    check_parameter_name(config.secrets.signing_key_parameter, SIGNING_KEY_FIELD)
    check_parameter_name(configured_previous, PREVIOUS_KEY_FIELD)
    if configured_previous == config.secrets.signing_key_parameter:
        raise SecretsError(f"listen.yaml {PREVIOUS_KEY_FIELD} must differ from {SIGNING_KEY_FIELD}")
    path = stage_secrets_path(stage) if stage else None
    current_name = stage_parameter(config.secrets.signing_key_parameter, path)
    previous_name = stage_parameter(configured_previous, path)
    try:
        current = ssm.get_parameter(Name=current_name, WithDecryption=True)["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        current = None
    if current is not None:
        # The old key is saved before it is replaced: a failure between the two writes loses nothing.
        write_secret(ssm, previous_name, current, overwrite=True)
        say(f"  moved     {current_name} -> {previous_name}")
    write_secret(ssm, current_name, new_key(), overwrite=True)
    say(f"  generated {current_name}  (new signing key)")
    line = f"  previous_signing_key_parameter: {configured_previous}"
    if current is not None:
        say("Add this line under 'secrets:' in listen.yaml and deploy again, so links already sent keep working;")
        say("remove it after 7 days, when they have all expired:")
        say(line)
    return line


def main(argv: list[str] | None = None, *, ssm: Any = None, ask: Ask = getpass.getpass, say: Say = print) -> int:
    """Command line (see the module docstring). Returns the exit status: 0 done, 1 secrets missing, 2 bad config."""
    pin_library_loggers()  # botocore logs SecureString values at DEBUG
    parser = argparse.ArgumentParser(prog="python -m infra.secret_setup", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", default="dev", help="the Chalice stage being prepared (dev, prod)")
    parser.add_argument("--config", type=Path, help="listen.yaml (default: $LISTEN_CONFIG or ./listen.yaml)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="only report missing secrets (exit 1 if any)")
    mode.add_argument("--rotate-signing-key", action="store_true", help="replace the signing key, keep the old")
    args = parser.parse_args(argv)
    path = args.config or config_path()
    try:
        config = load_config(path)
        needed = needed_secrets(config, args.stage)
    except ConfigError as err:
        say(f"{path} is not valid:")
        for problem in err.problems:
            say(f"  {problem}")
        return 2
    except SecretsError as err:
        say(str(err))
        return 2
    if ssm is None:
        import boto3

        ssm = boto3.client("ssm")
    say(f"Secrets for stage {args.stage} (SSM Parameter Store, SecureString) named in {path}:")
    if args.rotate_signing_key:
        migrate_shared_secrets(ssm, config, args.stage, say=say)
        rotate_signing_key(ssm, config, stage=args.stage, say=say)
        return 0
    if args.check:
        missing = {s.parameter for s in missing_secrets(ssm, needed)}
        for secret in needed:
            state = "MISSING" if secret.parameter in missing else "present"
            say(f"  {state:9} {secret.parameter}  ({secret.what}; {secret.field})")
        if missing:
            say(f"{len(missing)} missing: run python -m infra.secret_setup --stage {args.stage}")
        return 1 if missing else 0
    migrate_shared_secrets(ssm, config, args.stage, say=say)
    still_missing = setup(ssm, config, stage=args.stage, ask=ask, say=say)
    return 1 if still_missing else 0


if __name__ == "__main__":
    sys.exit(main())
