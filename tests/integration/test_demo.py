"""`make demo` itself: the scripted cycles, the summary, the outbox, and the served action links."""

from __future__ import annotations

import email
import email.policy
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_demo_runs_serves_its_action_links_and_stops_cleanly(tmp_path: Path) -> None:
    env = {**os.environ, "SOCIAL_LISTENING_LOCAL_DIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-m", "offline.demo"], cwd=ROOT, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    lines: list[str] = []
    ready = threading.Event()

    def collect() -> None:  # reads to the end, so a full pipe can never block the demo
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if "Press Ctrl-C to stop." in line:
                ready.set()

    threading.Thread(target=collect, daemon=True).start()
    try:
        ready.wait(timeout=120)
        output = "".join(lines)
        assert "Press Ctrl-C to stop." in output, output

        assert re.search(r"cycle 1: mentions arrive on every network\n  \d+ tasks, \d+ items fetched, "
                         r"57 new mentions, 1 email\(s\), 1 SMS", output), output
        assert "  ! stackexchange: throttle violation (error 502, retry after 600 s)" in output
        assert "  not alerted on their own: 1 attached to a story told elsewhere" in output
        assert "  ! github: server error (HTTP 503)" in output
        assert re.search(r"cycle 2: .*\n  \d+ tasks, \d+ items fetched, 2 new mentions, 0 email\(s\), 1 SMS", output)
        assert "  ~ the email to Maria (1 mention(s)) could not be sent yet (a transient failure): a later cycle " \
               "tries again" in output
        assert re.search(r"cycle 3: .*\n  \d+ tasks, 1 items fetched, 1 new mentions, 2 email\(s\), 1 SMS", output)
        assert "  ! google_reviews: Google's quota of requests a minute is used up (HTTP 429: RESOURCE_EXHAUSTED); " \
               "retry after 60 s" in output
        assert "Replied to the one-star Google review from its alert (HTTP 200); its reply now reads \"Marta" in output
        assert "  ~ 1 delivery(ies) tried again after a transient failure" in output
        assert "Deliveries to try again later (transient failure): 1   tried again: 1   failed for good: 0   " \
               "unconfirmed: 0" in output
        assert re.search(r"cycle 4: .*\n  \d+ tasks, 0 items fetched, 0 new mentions, 0 email\(s\), 0 SMS", output)
        assert "Daily digest sent to Maria" in output
        assert re.search(r"  forged: 401 \(stored nowhere\); signed: 200 in [\d.]+ s, 1 email\(s\) and 1 SMS sent "
                         r"in the same request\n  the Reply link from the alert: 200; posted on Instagram: "
                         r"\['So sorry, refunded today'\]", output)  # the webhook story (#17)
        assert "Emails sent: 5   SMS sent: 4" in output
        assert re.search(r"  brand-complaints +3  \(brand, urgent\)", output)

        emails = sorted((tmp_path / "outbox").glob("*.eml"))
        assert len(emails) == 5
        first = email.message_from_bytes(emails[0].read_bytes(), policy=email.policy.default)
        assert first["To"] == "Maria <maria@beanthere.example>"
        html = first.get_body(("html",)).get_content()
        assert "<mark" in html and "<script" not in html
        sms = (tmp_path / "outbox" / "sms.log").read_text(encoding="utf-8").splitlines()
        assert len(sms) == 4 and all(line.startswith("+351912345678\tURGENT ") for line in sms)
        assert sms[2].startswith('+351912345678\tURGENT Google reviews 1/5 stars: "Waited 25 minutes, cold coffee')

        link = re.findall(r"Try one \(GET shows it, the button POSTs\): (\S+)", output)[0]
        with urllib.request.urlopen(link, timeout=10) as page:  # noqa: S310 (loopback)
            assert page.status == 200 and "Mark as handled" in page.read().decode()
        form = urllib.request.Request(link, data=b"", method="POST",  # noqa: S310 (loopback)
                                      headers={"Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(form, timeout=10) as done:  # noqa: S310 (loopback)
            assert "<h1>Marked as handled</h1>" in done.read().decode()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGUSR1)  # the demo prints its threads' stacks
            time.sleep(2)
            os.killpg(process.pid, signal.SIGKILL)
            pytest.fail("the demo did not stop within 60 s of Ctrl-C; its output:\n" + "".join(lines)[-6000:])
    assert process.returncode == 0, "".join(lines)[-3000:]
    output = "".join(lines)
    assert output.rstrip().endswith("Stopped."), output[-2000:]
    port = int(re.findall(r"DynamoDB Local [\d.]+ on http://127\.0\.0\.1:(\d+)", output)[0])
    with pytest.raises(ConnectionRefusedError):  # DynamoDB Local was stopped with the demo
        socket.create_connection(("127.0.0.1", port), timeout=2)
