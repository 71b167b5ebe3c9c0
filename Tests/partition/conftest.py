"""Shared set-up of the partition suite: which kv-node binaries to use, when to skip, and a
summary of every scenario's figures at the end of the run (printed also when checks pass,
so the heal times are visible in CI logs)."""

import os
from pathlib import Path

import pytest

from netcluster import is_root, missing_tools

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("KV_PARTITION_ARTIFACTS", ROOT / ".build" / "partition-artifacts"))
#: The issue's target: a write acknowledged within 2 s of every heal.
HEAL_BUDGET_S = float(os.environ.get("KV_PARTITION_HEAL_BUDGET_S", "2.0"))

REPORTS = []


def kv_node_binary(build):
    """`.build/<build>/kv-node`, or $KV_NODE_DEBUG / $KV_NODE_RELEASE."""
    override = os.environ.get("KV_NODE_" + build.upper())
    return Path(override) if override else ROOT / ".build" / build / "kv-node"


@pytest.fixture
def network_ready():
    """Skips (saying why) where network namespaces and nftables cannot be used."""
    if not is_root():
        pytest.skip("the partition suite needs root (network namespaces, nftables)")
    missing = missing_tools()
    if missing:
        pytest.skip("missing %s: apt-get install -y iproute2 nftables" % ", ".join(missing))


def pytest_terminal_summary(terminalreporter):
    if not REPORTS:
        return
    terminalreporter.section("partition scenarios")
    for report in REPORTS:
        terminalreporter.write_line(report.summary())
