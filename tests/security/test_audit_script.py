"""scripts/audit tells an audit that found nothing from one that could not look (pip-audit replaced by a stub)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STUB = """#!/usr/bin/env python3
import os, sys
args = sys.argv[1:]
open(args[args.index("-o") + 1], "w").write(os.environ["STUB_REPORT"])
sys.exit(1 if '"vulns": [{' in os.environ["STUB_REPORT"] else 0)
"""


def _report(*deps: dict) -> str:
    return json.dumps({"dependencies": list(deps), "fixes": []})


def _run(tmp_path: Path, report: str, **env: str) -> subprocess.CompletedProcess:
    stub = tmp_path / "pip-audit"
    stub.write_text(STUB)
    stub.chmod(stub.stat().st_mode | stat.S_IEXEC)
    environment = {key: value for key, value in os.environ.items() if key != "AUDIT_OFFLINE_OK"}
    environment.update(PIP_AUDIT=str(stub), STUB_REPORT=report, **env)
    return subprocess.run(["bash", str(ROOT / "scripts" / "audit")], env=environment, capture_output=True, text=True,
                          timeout=60, check=False)


SKIPPED = {"name": "flask", "skip_reason": "Dependency not found on PyPI and could not be audited: flask (3.1.3)"}
CLEAN = {"name": "flask", "version": "3.1.3", "vulns": []}
VULNERABLE = {"name": "werkzeug", "version": "3.1.9",
              "vulns": [{"id": "GHSA-test-0001", "fix_versions": ["3.1.10"], "aliases": [], "description": "x"}]}


def test_unreachable_database_is_reported_as_not_performed_and_fails(tmp_path):
    result = _run(tmp_path, _report(SKIPPED, {**SKIPPED, "name": "werkzeug"}))
    assert result.returncode == 2
    assert "audit NOT performed: vulnerability database unreachable" in result.stdout


def test_offline_is_tolerated_only_when_asked_and_still_said(tmp_path):
    result = _run(tmp_path, _report(SKIPPED), AUDIT_OFFLINE_OK="1")
    assert result.returncode == 0 and "audit NOT performed" in result.stdout


@pytest.mark.parametrize("offline_ok", ["0", "1"])
def test_vulnerabilities_fail_the_build(tmp_path, offline_ok):
    result = _run(tmp_path, _report(CLEAN, VULNERABLE), AUDIT_OFFLINE_OK=offline_ok)
    assert result.returncode == 1
    assert "GHSA-test-0001" in result.stdout and "3.1.10" in result.stdout


def test_a_clean_audit_passes(tmp_path):
    result = _run(tmp_path, _report(CLEAN, {**CLEAN, "name": "werkzeug"}))
    assert result.returncode == 0 and "audit passed" in result.stdout


def test_a_partial_audit_is_not_a_pass(tmp_path):
    result = _run(tmp_path, _report(CLEAN, SKIPPED))
    assert result.returncode == 2 and "audit NOT performed" in result.stdout and "not checked: flask" in result.stdout
