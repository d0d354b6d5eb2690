#!/usr/bin/env python3
"""Local AWS emulator for ssm-keeper: the pinned moto server, corrected where it deviates from AWS.

ssm-keeper must behave exactly as against AWS, so deviations of moto are fixed here, never in the
product. Every patch checks that the code it replaces is still what it was written against and
refuses to start otherwise (a newer moto must be re-checked by a person, not silently mis-patched).

The corrections live in the package keeper_emulator/, one module per AWS service as moto has a
folder per service (details in docs/emulator.md):
  s3.py          bucket policy conditions (each API under its own action, the object's tags),
                 the GetBucketVersioning root, the expected bucket owner, S3's IAM action names
                 and condition keys, S3 asking KMS for SSE-KMS objects, Object Lock
  ssm.py         DescribeParameters' page size and pages, parameter policies as JSON text, no
                 tier downgrade, the names AWS refuses, requests authorized per parameter with its
                 tags and the request's, change events, who wrote each version, the history's
                 bounds; a parameter written long ago (a test facility)
  kms.py         key state operations by ARN, requests authorized per key with its tags and the
                 request's
  cloudwatch.py  requests authorized per alarm or dashboard, with cloudwatch:namespace;
                 dashboards global to the account, PutDashboard's checks, ResourceNotFound
  events.py      the events AWS services emit (Parameter Store Change), their delivery to a
                 CloudWatch Logs group as AWS delivers it, requests authorized per rule
  logs.py        the account's resource policies deciding a delivery, FilterLogEvents
                 interleaved, requests authorized per log group in the ARN form AWS checks
  iam.py         IAM enforcement's shared mechanism: the action checked, the condition values,
                 AWS's verdict on identity policies, the signature as sent, denials in the JSON
                 protocols
  policy.py      the policy language: wildcards, condition operators, a policy's verdict
  server.py      TLS, keep-alive without Nagle's delay, one request at a time, the CBOR bridge
  source.py      require_source, the guard every patch stands behind

This file is the entry point: it checks the installed moto, applies the corrections and serves
the same state over TLS (with a locally generated CA) and, for tests of the
DenyInsecureConnections statement, over plain HTTP on a second port.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
import threading
from pathlib import Path

from keeper_emulator import cloudwatch, events, iam, kms, logs, s3, server, ssm
from keeper_emulator.source import PINNED_MOTO, PatchTargetMoved


def apply_patches() -> None:
    import moto

    if moto.__version__ != PINNED_MOTO:
        raise PatchTargetMoved(f"moto {moto.__version__} installed, the launcher is written for {PINNED_MOTO}")
    s3.patch_bucket_policy_conditions()
    s3.patch_bucket_versioning_root()
    ssm.patch_describe_parameters_page_size()
    s3.patch_expected_bucket_owner()
    ssm.patch_parameter_policies()
    ssm.patch_parameter_age()
    ssm.patch_parameter_history()
    ssm.patch_change_events()  # before the names and the tier: they check moto's put_parameter
    ssm.patch_parameter_names()
    ssm.patch_parameter_keys()
    ssm.patch_tier_downgrade()
    ssm.patch_last_modified_user()
    events.patch_delivery()
    events.patch_pattern_validation()
    logs.patch_filter_log_events()
    iam.patch_enforcement()
    s3.patch_iam_actions()
    ssm.patch_iam_resources()
    iam.patch_json_denials()
    kms.patch_iam_resources()
    cloudwatch.patch_iam_resources()
    cloudwatch.patch_dashboards()
    events.patch_iam_resources()
    logs.patch_iam_resources()
    s3.patch_asks_kms()
    kms.patch_key_state_by_arn()
    s3.patch_object_lock()
    server.patch_backend_lookup()
    ssm.patch_ssm_generation()  # last: it wraps the SSM actions as the others left them


def serve(host: str, tls_port: int, http_port: int, state_dir: Path, ready) -> None:
    apply_patches()
    server.serve(host, tls_port, http_port, state_dir, ready)


def watch_parent(parent_pid: int) -> None:
    """Exit when the process that started us is gone (test runs must not leak servers)."""

    def run():
        while True:
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                os._exit(0)
            threading.Event().wait(1.0)

    threading.Thread(target=run, daemon=True).start()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="TLS port (0: any free port)")
    parser.add_argument("--http-port", type=int, default=0, help="plain HTTP port (0: any free port)")
    parser.add_argument("--state-dir", default=".emulator", help="where the CA and certificates live")
    parser.add_argument("--exit-with-parent", type=int, default=0, metavar="PID")
    parser.add_argument(
        "--detach",
        action="store_true",
        help="run in the background; return once serving, printing the ready line",
    )
    parser.add_argument(
        "--print-env",
        action="store_true",
        help="with --detach: print `export` lines for a shell to eval instead of the ready line; "
        "reuses an emulator already serving from --state-dir",
    )
    parser.add_argument("--stop", action="store_true", help="stop the emulator of --state-dir")
    parser.add_argument(
        "--self-check", action="store_true", help="check that every patch still fits moto, then exit"
    )
    args = parser.parse_args(argv)
    state_dir = Path(args.state_dir)
    if args.self_check:
        apply_patches()
        server.keep_alive_handler()
        server.cbor_bridge(None)
        print("emulator patches fit moto " + PINNED_MOTO)
        return 0
    if args.stop:
        return stop(state_dir)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    if args.exit_with_parent:
        watch_parent(args.exit_with_parent)

    if not args.detach:
        def ready(info):
            print("READY " + json.dumps(info), flush=True)

        serve(args.host, args.port, args.http_port, state_dir, ready)
        return 0

    state_dir.mkdir(parents=True, exist_ok=True)
    running = running_emulator(state_dir)
    if running and args.print_env:
        print(shell_env(running), flush=True)
        return 0
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        os.setsid()
        log = open(state_dir / "emulator.log", "ab", buffering=0)
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)

        def ready(info):
            (state_dir / "emulator.json").write_text(json.dumps(info))
            os.write(write_fd, ("READY " + json.dumps(info) + "\n").encode())
            os.close(write_fd)

        try:
            serve(args.host, args.port, args.http_port, state_dir, ready)
        except BaseException as error:  # report the failure to the waiting parent
            os.write(write_fd, f"FAILED {error!r}\n".encode())
            raise
        return 0

    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        line = pipe.readline().strip()
    if not line.startswith("READY "):
        print(f"emulator failed to start: {line or 'no answer'} (log: {state_dir / 'emulator.log'})", file=sys.stderr)
        return 1
    info = json.loads(line[len("READY "):])
    print(shell_env(info) if args.print_env else line, flush=True)
    return 0


def running_emulator(state_dir: Path):
    """The emulator this state dir describes, if it is still serving."""
    try:
        info = json.loads((state_dir / "emulator.json").read_text())
        os.kill(info["pid"], 0)
        port = int(info["endpoint"].rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return info
    except (OSError, ValueError, KeyError):
        return None


def shell_env(info: dict) -> str:
    """The environment that points ssm-keeper and the AWS CLI at the emulator. It overrides an
    AWS_CA_BUNDLE the machine may set to its system store, and any profile or real credentials."""
    lines = [
        f"export AWS_ENDPOINT_URL={info['endpoint']}",
        f"export AWS_CA_BUNDLE={info['ca_bundle']}",
        "export AWS_ACCESS_KEY_ID=testing",
        "export AWS_SECRET_ACCESS_KEY=testing",
        "export AWS_REGION=us-east-1",
        "export AWS_DEFAULT_REGION=us-east-1",
        "export AWS_EC2_METADATA_DISABLED=true",
        "unset AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE",
        f"export SSM_KEEPER_EMULATOR_HTTP_URL={info['http_endpoint']}",
        f"export SSM_KEEPER_EMULATOR_PID={info['pid']}",
    ]
    return "\n".join(lines)


def stop(state_dir: Path) -> int:
    info = running_emulator(state_dir)
    if not info:
        print(f"no emulator is running from {state_dir}")
        return 0
    os.kill(info["pid"], signal.SIGTERM)
    (state_dir / "emulator.json").unlink(missing_ok=True)
    print(f"stopped the emulator (pid {info['pid']})")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except PatchTargetMoved as moved:
        print(f"emulator: {moved}", file=sys.stderr)
        sys.exit(3)
