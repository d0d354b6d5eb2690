"""Creates IAM roles on an emulator that enforces IAM, for the tests of `iam-policy --trust`.

Reads {"<role>": <trust policy document>, ...} on stdin and creates each role with the given
access key (an administrator's), so IAM checks the document as it would a real one. Prints
{"<role>": "<role ARN>", ...}; exits non-zero when IAM refuses a document.
"""

import argparse
import json
import sys

import boto3


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--ca-bundle", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--secret", required=True)
    args = parser.parse_args()
    iam = boto3.client(
        "iam",
        endpoint_url=args.endpoint,
        verify=args.ca_bundle,
        region_name="us-east-1",
        aws_access_key_id=args.key,
        aws_secret_access_key=args.secret,
    )
    arns = {}
    for role, trust in json.load(sys.stdin).items():
        created = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))
        stored = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
        if isinstance(stored, str):
            stored = json.loads(stored)
        if stored != trust:
            sys.exit(f"role {role}: IAM holds another trust policy than the one given: {stored}")
        arns[role] = created["Role"]["Arn"]
    json.dump(arns, sys.stdout)


if __name__ == "__main__":
    main()
