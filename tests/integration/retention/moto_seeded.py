"""Run moto's S3 server with buckets filled in-process (run by moto's own interpreter).

Uploading 20,000 objects over HTTP costs moto about a minute of CPU; filling its
backend directly takes a second, and everything after that goes through the real
S3 API. Reads ``{"buckets": {"bucket": {"key": size, ...}, ...}, "modified": ISO or null}``
as JSON on stdin, prints ``ready`` once it serves on 127.0.0.1:PORT, and runs until stdin
closes or it is killed. ``modified`` stamps every seeded object's ``LastModified`` (moto
would stamp the wall clock, which no test may depend on); objects uploaded later over
the API get moto's clock as usual. ``users`` (``{"name": ["bucket", ...]}``, optional) creates
IAM users allowed only on those buckets and prints their keys after ``ready`` as JSON
(``{"name": ["access key", "secret key"]}``); with ``INITIAL_NO_AUTH_ACTION_COUNT=0`` moto
then refuses every other key and every other bucket.
"""

import json
import sys
import time
from datetime import UTC, datetime

from moto.core import DEFAULT_ACCOUNT_ID  # type: ignore[import-not-found]
from moto.iam.models import iam_backends  # type: ignore[import-not-found]
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
    keys = {}
    iam = iam_backends[DEFAULT_ACCOUNT_ID]["global"]
    for user, allowed in (seed.get("users") or {}).items():
        iam.create_user(region_name="us-east-1", user_name=user)
        key = iam.create_access_key(user)
        resources = [f"arn:aws:s3:::{b}" for b in allowed] + [f"arn:aws:s3:::{b}/*" for b in allowed]
        statement = {"Effect": "Allow", "Action": "s3:*", "Resource": resources}
        document = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
        policy = iam.create_policy(
            description="", path="/", policy_document=document, policy_name=f"{user}-buckets", tags=[]
        )
        iam.attach_user_policy(policy.arn, user)
        keys[user] = [key.access_key_id, key.secret_access_key]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    print(f"ready {json.dumps(keys)}", flush=True)
    try:
        while sys.stdin.readline():
            time.sleep(0.1)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
