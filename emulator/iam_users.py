"""Creates IAM users on an emulator that enforces IAM (started with INITIAL_NO_AUTH_ACTION_COUNT=3),
for the tests that run ssm-keeper with a role's policy.

Reads {"<user>": <policy document>, ...} on stdin. The first three requests (free of checks) make
the user `admin` with every permission; every other user is made with admin's keys and gets its
policy inline. Prints {"<user>": {"key": ..., "secret": ...}, ...} including admin.
"""

import argparse
import json
import sys

import boto3


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--ca-bundle", required=True)
    args = parser.parse_args()
    wanted = json.load(sys.stdin)

    def iam(key="testing", secret="testing"):
        return boto3.client(
            "iam",
            endpoint_url=args.endpoint,
            verify=args.ca_bundle,
            region_name="us-east-1",
            aws_access_key_id=key,
            aws_secret_access_key=secret,
        )

    everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    bootstrap = iam()
    bootstrap.create_user(UserName="admin")
    bootstrap.put_user_policy(UserName="admin", PolicyName="admin", PolicyDocument=json.dumps(everything))
    key = bootstrap.create_access_key(UserName="admin")["AccessKey"]
    keys = {"admin": {"key": key["AccessKeyId"], "secret": key["SecretAccessKey"]}}

    admin = iam(keys["admin"]["key"], keys["admin"]["secret"])
    for user, policy in wanted.items():
        admin.create_user(UserName=user)
        admin.put_user_policy(UserName=user, PolicyName=user, PolicyDocument=json.dumps(policy))
        key = admin.create_access_key(UserName=user)["AccessKey"]
        keys[user] = {"key": key["AccessKeyId"], "secret": key["SecretAccessKey"]}
    json.dump(keys, sys.stdout)


if __name__ == "__main__":
    main()
