#!/usr/bin/env python3
"""Seed SSM parameters into the emulator (demo and benchmarks) with boto3, which the emulator's
virtualenv has. Uses the standard AWS environment (endpoint, CA bundle, credentials).

  seed-parameters.py REGION ENV COUNT     COUNT parameters of ENV (every fifth a SecureString)
  seed-parameters.py REGION ENV demo      a handful of realistic ones, plus decoys
"""
import sys
from concurrent.futures import ThreadPoolExecutor

import boto3


def main() -> int:
    region, env, what = sys.argv[1], sys.argv[2], sys.argv[3]
    ssm = boto3.client("ssm", region_name=region)
    if what == "demo":
        params = [
            (f"/jenkins/{env}/github/app-id", "123456", "String"),
            (f"/jenkins/{env}/github/private-key", "demo-private-key-not-real", "SecureString"),
            (f"/jenkins/{env}/slack/webhook-token", "demo-token-not-real", "SecureString"),
            (f"/app/{env}/db/host", f"db.{region}.internal", "String"),
            (f"/app/{env}/db/replicas", "r1,r2,r3", "StringList"),
            (f"/app/{env}/db/password", "demo-password-not-real", "SecureString"),
            (f"/prod/{env}ices/serial", "decoy: not in the backup", "String"),
            (f"/jenkins/{env}ops/token", "decoy: not in the backup", "String"),
        ]
    else:
        count = int(what)
        params = [
            (f"/bench/{env}/group{i // 100:03d}/param{i:05d}", f"value-{i:05d}-" + "x" * 64,
             "SecureString" if i % 5 == 0 else "String")
            for i in range(count)
        ]

    def put(p):
        name, value, kind = p
        ssm.put_parameter(Name=name, Value=value, Type=kind, Overwrite=True)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(put, params))
    print(f"seeded {len(params)} parameters in {region}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
