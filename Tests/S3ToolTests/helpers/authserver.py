#!/usr/bin/env python3
"""A moto_server on 127.0.0.1 that checks SigV4 and IAM (tests only).

Starts moto_server with INITIAL_NO_AUTH_ACTION_COUNT=3: the first three requests create an IAM
user, an allow-all user policy and an access key; from then on every request must be signed
by that key. Creates a bucket with it, prints one JSON line
{"endpoint", "access_key", "secret_key", "bucket"} and runs until its stdin closes.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import boto3
from botocore.config import Config


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    port = free_port()
    env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="3")
    server = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(port)], env=env,
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        endpoint = "http://127.0.0.1:%d" % port
        iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                           aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
        iam.create_user(UserName="pgarchive")
        iam.put_user_policy(UserName="pgarchive", PolicyName="all", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="pgarchive")["AccessKey"]
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
                          config=Config(s3={"addressing_style": "path"}))
        s3.create_bucket(Bucket="auth-bucket")
        print(json.dumps({"endpoint": endpoint, "access_key": key["AccessKeyId"],
                          "secret_key": key["SecretAccessKey"], "bucket": "auth-bucket"}), flush=True)
        sys.stdin.read()
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


if __name__ == "__main__":
    main()
