"""Run moto's S3 server with buckets filled in-process (run by moto's own interpreter).

Uploading 20,000 objects over HTTP costs moto about a minute of CPU; filling its
backend directly takes a second, and everything after that goes through the real
S3 API. Reads ``{"buckets": {"bucket": {"key": size, ...}, ...}, "modified": ISO or null}``
as JSON on stdin, prints ``ready`` once it serves on 127.0.0.1:PORT, and runs until stdin
closes or it is killed. ``modified`` stamps every seeded object's ``LastModified`` (moto
would stamp the wall clock, which no test may depend on); objects uploaded later over
the API get moto's clock as usual.
"""

import json
import sys
import time
from datetime import UTC, datetime

from moto.core import DEFAULT_ACCOUNT_ID  # type: ignore[import-not-found]
from moto.s3.models import s3_backends  # type: ignore[import-not-found]
from moto.server import ThreadedMotoServer  # type: ignore[import-not-found]


def main() -> None:
    port = int(sys.argv[1])
    seed = json.loads(sys.stdin.readline())
    modified = seed.get("modified")
    # moto keeps naive UTC times.
    stamp = datetime.fromisoformat(modified).astimezone(UTC).replace(tzinfo=None) if modified else None
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["global"]
    for bucket, objects in seed["buckets"].items():
        backend.create_bucket(bucket, "us-east-1")
        for key, size in objects.items():
            stored = backend.put_object(bucket, key, b"x" * size)
            if stamp is not None:
                stored.last_modified = stamp
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    print("ready", flush=True)
    try:
        while sys.stdin.readline():
            time.sleep(0.1)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
