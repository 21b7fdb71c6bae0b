#!/usr/bin/env python3
"""boto3 as the independent judge of what s3put/s3get did (tests only).

  s3helper.py download ENDPOINT BUCKET KEY OUT   -> {"etag": "...", "size": N, "metadata": {...}}
  s3helper.py put-many ENDPOINT BUCKET PREFIX N  -> puts N small objects PREFIX00000..
  s3helper.py uploads ENDPOINT BUCKET            -> {"uploads": [{"key":..., "upload_id":...}]}
  s3helper.py exists ENDPOINT BUCKET KEY         -> {"exists": true|false}
  s3helper.py delete ENDPOINT BUCKET KEY
Credentials come from AWS_* in the environment.
"""
import json
import sys
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


def client(endpoint):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}))


def main(argv):
    cmd, endpoint, bucket = argv[1], argv[2], argv[3]
    s3 = client(endpoint)
    if cmd == "download":
        key, out = argv[4], argv[5]
        s3.download_file(bucket, key, out)
        head = s3.head_object(Bucket=bucket, Key=key)
        print(json.dumps({"etag": head["ETag"].strip('"'), "size": head["ContentLength"], "metadata": head.get("Metadata", {})}))
    elif cmd == "put-many":
        prefix, n = argv[4], int(argv[5])
        def put(i):
            s3.put_object(Bucket=bucket, Key="%s%05d" % (prefix, i), Body=b"x" * (i % 7))
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(put, range(n)))
    elif cmd == "uploads":
        found = []
        for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
            found += [{"key": u["Key"], "upload_id": u["UploadId"]} for u in page.get("Uploads", [])]
        print(json.dumps({"uploads": found}))
    elif cmd == "exists":
        try:
            s3.head_object(Bucket=bucket, Key=argv[4])
            print(json.dumps({"exists": True}))
        except ClientError as e:
            if e.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                print(json.dumps({"exists": False}))
            else:
                raise
    elif cmd == "delete":
        s3.delete_object(Bucket=bucket, Key=argv[4])
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
