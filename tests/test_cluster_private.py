"""The embedded Dask cluster is the instructor's alone: no dashboard, loopback only, and TLS with
temporary credentials, so another local user cannot connect and run code as the instructor."""
from __future__ import annotations

import subprocess
import sys
import urllib.request

import pytest

from course_grader.grading.runner import _Cluster

pytestmark = pytest.mark.slow


ATTEMPT = """
import sys
from distributed import Client
from distributed.security import Security
kwargs = {"security": Security.temporary()} if sys.argv[2] == "own-credentials" else {}
client = Client(sys.argv[1], timeout=5, **kwargs)
print("CONNECTED", client.submit(abs, -1).result(timeout=10))
"""


def _connects(address: str, how: str = "none") -> bool:
    """Another user's attempt, in a process of its own (a failed distributed Client can deadlock the
    process that made it when it is garbage-collected)."""
    try:
        done = subprocess.run([sys.executable, "-c", ATTEMPT, address, how], capture_output=True, text=True,
                              timeout=60)
    except subprocess.TimeoutExpired:
        return False
    return "CONNECTED" in done.stdout


def test_the_embedded_cluster_accepts_only_the_grader() -> None:
    cluster = _Cluster(None, 1)
    try:
        address = cluster.cluster.scheduler_address
        assert address.startswith("tls://127.0.0.1:"), address
        assert cluster.client.submit(abs, -3).result() == 3
        port = cluster.client.scheduler_info().get("services", {}).get("dashboard")
        for page in ("status", "info/main/workers.html", "metrics"):  # no dashboard, no pages of the cluster
            with pytest.raises(OSError):  # urllib's HTTPError (404) or a refused connection
                urllib.request.urlopen(f"http://127.0.0.1:{port}/{page}", timeout=5)
        assert not _connects(address)  # no credentials
        assert not _connects(address.replace("tls://", "tcp://"))  # plain TCP
        assert not _connects(address, "own-credentials")  # credentials of its own making
    finally:
        cluster.close()


def test_the_same_attempt_connects_to_an_open_cluster() -> None:
    """The control: against a plain Dask cluster (what `course grade` used to start) the attempt gets in."""
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=1, processes=True, host="127.0.0.1", dashboard_address=None)
    try:
        assert _connects(cluster.scheduler_address)
    finally:
        cluster.close()
