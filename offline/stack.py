"""The local AWS stack: the official DynamoDB Local (Java) and moto in server mode for
SES v2, SNS and SSM, on free ports, awaited until ready, always stopped.

DynamoDB Local comes from the npm package ``amplify-dynamodb-simulator``, which ships the
official jar; it is unpacked once into a cache outside the clone
(``~/.cache/social-listening``, or ``$SOCIAL_LISTENING_CACHE``) so fresh clones and CI reuse it.
Where Java is missing, moto's DynamoDB stands in, and that is said out loud.

    python -m offline.stack --ensure     # fetch DynamoDB Local (and feedparser's test corpus) into the cache
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3

from chalicelib.table import create_table

SIMULATOR_PACKAGE = "amplify-dynamodb-simulator@2.9.30"
DYNAMODB_LOCAL_VERSION = "1.25.1"
REGION = "eu-west-1"
TEST_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}  # local emulators only


class StackError(RuntimeError):
    """The local stack could not start; the message says what to do."""


def cache_dir() -> Path:
    return Path(os.environ.get("SOCIAL_LISTENING_CACHE", Path.home() / ".cache" / "social-listening"))


def dynamodb_local_dir() -> Path:
    return cache_dir() / f"dynamodb-local-{DYNAMODB_LOCAL_VERSION}"


def java_available() -> bool:
    java = shutil.which("java")
    if not java:
        return False
    return subprocess.run([java, "-version"], capture_output=True, check=False).returncode == 0


def ensure_dynamodb_local() -> Path:
    """Unpack DynamoDB Local from the npm package into the cache (once); return its folder."""
    target = dynamodb_local_dir()
    if (target / "DynamoDBLocal.jar").exists():
        return target
    npm = shutil.which("npm")
    if not npm:
        raise StackError("npm is needed once to fetch DynamoDB Local (package amplify-dynamodb-simulator)")
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run([npm, "pack", SIMULATOR_PACKAGE, "--silent"], cwd=tmp, capture_output=True, text=True,
                                check=False)
        if result.returncode != 0:
            raise StackError(f"npm pack {SIMULATOR_PACKAGE} failed: {result.stderr.strip()[-500:]}")
        tarball = Path(tmp) / result.stdout.strip().splitlines()[-1]
        staging = Path(tempfile.mkdtemp(dir=cache_dir().as_posix() if cache_dir().exists() else None))
        with tarfile.open(tarball) as tar:
            members = [m for m in tar.getmembers() if m.name.startswith("package/emulator/")]
            tar.extractall(staging, members=members, filter="data")
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            shutil.rmtree(target)
        (staging / "package" / "emulator").rename(target)
        shutil.rmtree(staging, ignore_errors=True)
    if not (target / "DynamoDBLocal.jar").exists():
        raise StackError(f"{SIMULATOR_PACKAGE} did not contain emulator/DynamoDBLocal.jar")
    return target


def _die_with_parent() -> Any:
    """A preexec_fn asking Linux to send SIGTERM to the child when its parent dies (no-op elsewhere)."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig, sigterm = 1, 15
    return lambda: prctl(pr_set_pdeathsig, sigterm)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, seconds: float, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise StackError(f"{url}: the process exited with code {process.returncode} before it was ready")
        try:
            urllib.request.urlopen(url, timeout=1)  # noqa: S310 (loopback only)
            return
        except urllib.error.HTTPError:
            return  # it answered: it is up
        except OSError:
            time.sleep(0.1)
    raise StackError(f"{url} was not ready within {seconds:g} s")


class LocalStack:
    """DynamoDB Local + moto server. Use as a context manager, or start()/stop()."""

    def __init__(self, *, table_name: str = "social-listening-local", data_dir: Path | None = None,
                 prefer_java: bool = True) -> None:
        self.table_name = table_name
        self.data_dir = data_dir  # None: in memory; else DynamoDB Local keeps its data there
        self.prefer_java = prefer_java
        self.dynamodb_url = ""
        self.moto_url = ""
        self.dynamodb_engine = ""
        self._java: subprocess.Popen[bytes] | None = None
        self._moto: Any = None

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> LocalStack:
        try:
            self._start_moto()
            if self.prefer_java and java_available():
                self._start_dynamodb_local()
            else:
                why = "Java not found" if self.prefer_java else "asked for moto"
                print(f"WARNING: {why}: using moto's DynamoDB instead of the official DynamoDB Local "
                      "(install Java 17 for the real thing).", file=sys.stderr)
                self.dynamodb_url = self.moto_url
                self.dynamodb_engine = "moto"
            self.create_table(self.table_name)
            return self
        except BaseException:
            self.stop()
            raise

    def _start_moto(self) -> None:
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._moto.start()
        host, port = self._moto.get_host_and_port()
        self.moto_url = f"http://{host}:{port}"

    def _start_dynamodb_local(self) -> None:
        folder = ensure_dynamodb_local()
        port = free_port()
        storage = ["-inMemory"] if self.data_dir is None else ["-dbPath", str(self.data_dir)]
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        heap = os.environ.get("DYNAMODB_LOCAL_HEAP", "512m")
        command = ["java", f"-Xmx{heap}", f"-Djava.library.path={folder / 'DynamoDBLocal_lib'}", "-jar",
                   str(folder / "DynamoDBLocal.jar"), *storage, "-port", str(port), "-disableTelemetry"]
        # Own session: a Ctrl-C at the terminal reaches us, and we stop Java in order. Parent-death
        # signal: should this process be killed outright, Java goes too instead of lingering.
        self._java = subprocess.Popen(command, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True, preexec_fn=_die_with_parent())
        self.dynamodb_url = f"http://127.0.0.1:{port}"
        self.dynamodb_engine = f"DynamoDB Local {DYNAMODB_LOCAL_VERSION}"
        _wait_http(self.dynamodb_url, 30, self._java)

    def stop(self) -> None:
        if self._java is not None:
            self._java.terminate()
            try:
                self._java.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._java.kill()
                self._java.wait()
            self._java = None
        if self._moto is not None:
            # moto's stop() joins its server thread; never let a stuck connection hang the exit
            stopper = threading.Thread(target=self._moto.stop, daemon=True)
            stopper.start()
            stopper.join(timeout=10)
            self._moto = None
        _forget_parameter_clients()

    def env(self) -> dict[str, str]:
        """Environment for any process (the app, chalice local, boto3) to use this stack."""
        return {
            **TEST_CREDENTIALS,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL_DYNAMODB": self.dynamodb_url,
            "AWS_ENDPOINT_URL_SESV2": self.moto_url,
            "AWS_ENDPOINT_URL_SES": self.moto_url,
            "AWS_ENDPOINT_URL_SNS": self.moto_url,
            "AWS_ENDPOINT_URL_SSM": self.moto_url,
            "TABLE_NAME": self.table_name,
        }

    def client(self, service: str, config: Any = None) -> Any:
        endpoint = self.dynamodb_url if service == "dynamodb" else self.moto_url
        return boto3.session.Session(
            aws_access_key_id=TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=TEST_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=REGION,
        ).client(service, endpoint_url=endpoint, config=config)

    def create_table(self, name: str) -> None:
        client = self.client("dynamodb")
        if name not in client.list_tables()["TableNames"]:
            create_table(client, name)

    def sent_messages(self) -> dict[str, Any]:
        """Everything moto holds (SES messages, SNS SMS...), from /moto-api/data.json."""
        import json

        url = f"{self.moto_url}/moto-api/data.json"
        with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 (loopback only)
            data: dict[str, Any] = json.load(resp)
        return data

    def sent_emails(self) -> list[Any]:
        """Every raw email SES accepted, parsed (``email.message.EmailMessage``), oldest first."""
        import email
        import email.policy

        raw = self.sent_messages().get("ses", {}).get("RawMessage", [])
        return [email.message_from_string(m["raw_data"], policy=email.policy.default) for m in raw]

    def sent_sms(self) -> list[tuple[str, str]]:
        """Every SMS SNS accepted, as (phone number, text), oldest first."""
        return [(m["phone_number"], m["message"]) for m in self.sent_messages().get("sns", {}).get("SMS", [])]

    def prepare_aws(self, *, sender: str, signing_key_parameter: str, signing_key: str) -> None:
        """What the owner's setup does once in a real account: verify the sender, store the key."""
        self.client("ses").verify_email_identity(EmailAddress=sender)
        self.client("ssm").put_parameter(Name=signing_key_parameter, Value=signing_key, Type="SecureString",
                                         Overwrite=True)

    def reset_moto(self) -> None:
        request = urllib.request.Request(f"{self.moto_url}/moto-api/reset", method="POST")  # noqa: S310
        urllib.request.urlopen(request, timeout=10).close()  # noqa: S310


if __name__ == "__main__":
    if "--ensure" in sys.argv:
        if not java_available():
            print("Java not found: tests and the demo will use moto's DynamoDB instead of DynamoDB Local.")
        else:
            print(f"DynamoDB Local ready in {ensure_dynamodb_local()}")
        from offline.feed_corpus import ensure_feed_corpus  # feedparser's own tests, for the RSS contract tests

        print(f"feedparser's test corpus ready in {ensure_feed_corpus()}")


def _forget_parameter_clients() -> None:
    """Powertools keeps one SSM client, and the values it read, per process: once a stack stops
    both point at its dead endpoint, so a later stack in the same process (a bench run, the
    tests) would read its secrets from nowhere. Forget them with the stack."""
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters import base

    parameters.clear_caches()
    base.DEFAULT_PROVIDERS.clear()
