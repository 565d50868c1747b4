"""The local stack as a process uses it: several stacks one after another (make bench runs a
dozen) each read their own secrets."""

from __future__ import annotations

import pytest

from chalicelib.runtime import read_secret
from offline.stack import LocalStack


def test_a_second_stack_in_the_same_process_reads_its_own_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for value in ("first-stack-secret", "second-stack-secret"):
        with LocalStack(table_name="stack-one-after-another", prefer_java=False) as stack:
            for name, setting in stack.env().items():
                monkeypatch.setenv(name, setting)
            stack.client("ssm").put_parameter(Name="/social-listening/reddit-secret", Value=value,
                                              Type="SecureString", Overwrite=True)  # moto keeps one backend a process
            assert read_secret("/social-listening/reddit-secret") == value
