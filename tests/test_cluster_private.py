"""The embedded Dask cluster is the instructor's alone: no dashboard, loopback only, and TLS with
temporary credentials, so another local user cannot connect and run code as the instructor."""
from __future__ import annotations

import urllib.request

import pytest
from distributed import Client
from distributed.security import Security

from course_grader.grading.runner import _Cluster

pytestmark = pytest.mark.slow


def _connects(address: str, **kwargs) -> bool:
    try:
        Client(address, timeout=5, **kwargs).close()
    except Exception:  # noqa: BLE001 - refused, whatever the way
        return False
    return True


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
        assert not _connects(address, security=Security.temporary())  # credentials of its own making
    finally:
        cluster.close()
