#!/usr/bin/env bash
# The main job end to end on a fresh local emulator: plan, apply, plan again, the nightly backup,
# its monitor (verify) and a restore preview after a parameter is lost.
set -euo pipefail
bin=${1:-target/debug/ssm-keeper}
here=$(cd "$(dirname "$0")/.." && pwd)
source "$here/scripts/emulator-env.sh"
start_emulator "$here/.emulator/demo"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "ssm-keeper plan --stack dev   (empty account: everything to create, exit code 2)"
set +e; "$bin" plan --stack dev --detailed-exitcode; code=$?; set -e
echo "exit code: $code"; [ "$code" -eq 2 ]

step "ssm-keeper apply --stack dev --auto-approve"
"$bin" apply --stack dev --auto-approve

step "ssm-keeper plan --stack dev --detailed-exitcode   (converged: no changes, exit code 0)"
"$bin" plan --stack dev --detailed-exitcode
echo "exit code: 0"

step "ssm-keeper outputs --stack dev"
"$bin" outputs --stack dev

step "the dead-man's switch (an SNS topic made with boto3, the stack's alarm section), backups under a customer-managed KMS key per region (encryption: kms), a copy of each region's backups in the other region (copies) and the change journal (journal)"
topic=$("$here/.venv/bin/python" -c 'import boto3; print(boto3.client("sns", region_name="ap-northeast-1").create_topic(Name="ops-alerts")["TopicArn"])')
stack="$here/.emulator/demo/stacks/dev.yaml"   # stacks/dev.yaml plus the alarm section and kms
mkdir -p "$(dirname "$stack")"
{ cat "$here/stacks/dev.yaml"
  printf 'alarm:\n  snsTopicArn: %s\n  maxAgeHours: 26\nencryption: kms\n' "$topic"
  printf 'copies:\n  ap-northeast-1: us-west-2\n  us-west-2: ap-northeast-1\n'
  printf 'journal: {retentionDays: 30}\n'; } > "$stack"
tail -8 "$stack"

step "ssm-keeper plan --stack $stack --detailed-exitcode   (a key, an alarm and a journal (log group, Logs policy, EventBridge rule) per region to create, the buckets to encrypt with the keys, the copies parameter: exit code 2)"
set +e; "$bin" plan --stack "$stack" --detailed-exitcode; code=$?; set -e
echo "exit code: $code"; [ "$code" -eq 2 ]

step "ssm-keeper apply --stack $stack --auto-approve"
"$bin" apply --stack "$stack" --auto-approve
"$bin" plan --stack "$stack" --detailed-exitcode

step "seed a handful of parameters (some SecureString, and decoys that only contain 'dev')"
for region in ap-northeast-1 us-west-2; do
    "$here/.venv/bin/python" "$here/scripts/seed-parameters.py" "$region" dev demo
done

step "ssm-keeper backup --stack dev   (the nightly job)"
"$bin" backup --stack dev --summary-file "$here/backup-work/region_summaries.json"

step "where the objects went (read back with boto3, another client)"
"$here/.venv/bin/python" - <<'PY'
import json, os
import boto3
summary = json.load(open("backup-work/region_summaries.json"))
for region, s in summary.items():
    bucket, key = s["artifactPath"][len("s3://"):].split("/", 1)
    s3 = boto3.client("s3", region_name=region)
    listing = s3.list_objects_v2(Bucket=bucket)
    print(f"s3://{bucket}/")
    for obj in listing.get("Contents", []):
        print(f"    {obj['Key']}  ({obj['Size']} bytes)")
    head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    doc = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    names = [p["Name"] for p in doc["parameters"]]
    print(f"    latest-{region}.txt -> {s3.get_object(Bucket=bucket, Key=f'latest-{region}.txt')['Body'].read().decode()}")
    under = f" under {head['SSEKMSKeyId']}" if head.get("SSEKMSKeyId") else ""
    print(f"    encryption {head['ServerSideEncryption']}{under}, SHA-256 {head.get('ChecksumSHA256')}, "
          f"{doc['parameter_count']} parameters (values not shown): {', '.join(names)}")
PY

step "the metrics the alarms watch (read back with boto3)"
"$here/.venv/bin/python" - <<'PY'
import datetime
import boto3
cw = boto3.client("cloudwatch", region_name="ap-northeast-1")
now = datetime.datetime.now(datetime.timezone.utc)
for region in ("ap-northeast-1", "us-west-2"):
    dims = [{"Name": "Environment", "Value": "dev"}, {"Name": "Region", "Value": region}]
    values = {}
    for metric in ("BackupSuccess", "ParameterCount", "BackupDuration"):
        points = cw.get_metric_statistics(Namespace="SSMKeeper/Backup", MetricName=metric, Dimensions=dims,
                                          StartTime=now - datetime.timedelta(hours=1), EndTime=now + datetime.timedelta(minutes=1),
                                          Period=3600, Statistics=["Maximum"])["Datapoints"]
        values[metric] = points[0]["Maximum"] if points else None
    alarm = cw.describe_alarms(AlarmNames=[f"jenkins-infra-ssm-backup-dev/{region}"])["MetricAlarms"][0]
    print(f"    {region}: {values}; alarm {alarm['AlarmName']}: {alarm['MetricName']} < 1 for "
          f"{alarm['EvaluationPeriods']} hours, missing data {alarm['TreatMissingData']} -> {alarm['AlarmActions'][0]}")
PY

step "ssm-keeper verify --stack $stack   (the monitor after the nightly job, copies included: exit 0 when every check holds)"
"$bin" verify --stack "$stack"

step "ssm-keeper restore --stack $stack --drill   (the weekly restore drill: each region's latest backup restored under a scratch path, read back, compared, deleted: exit 0)"
"$bin" restore --stack "$stack" --drill
"$here/.venv/bin/python" -c 'import boto3; left = [p["Name"] for r in ("ap-northeast-1", "us-west-2") for p in boto3.client("ssm", region_name=r).describe_parameters(ParameterFilters=[{"Key": "Path", "Option": "Recursive", "Values": ["/drills/ssm-keeper/dev/"]}])["Parameters"]]; print(f"left under /drills/ssm-keeper/dev/: {len(left)} parameters"); assert not left'

step "a change after the nightly backup: a bad deploy overwrites /app/dev/db/host (boto3)"
sleep 1; before=$(date -u +%Y-%m-%dT%H:%M:%SZ); sleep 1
"$here/.venv/bin/python" -c 'import boto3; boto3.client("ssm", region_name="ap-northeast-1").put_parameter(Name="/app/dev/db/host", Value="wrong.example", Type="String", Overwrite=True); print("overwrote /app/dev/db/host in ap-northeast-1")'

step "ssm-keeper changes --stack $stack --region ap-northeast-1   (what changed, and who wrote what is live, from the journal: never a value)"
"$bin" changes --stack "$stack" --region ap-northeast-1

step "ssm-keeper snapshots --stack $stack --region ap-northeast-1   (the recovery points and the window restore --at reaches)"
"$bin" snapshots --stack "$stack" --region ap-northeast-1

step "ssm-keeper restore --stack $stack --region ap-northeast-1 --at $before --overwrite   (preview of the state just before the change: read-only)"
"$bin" restore --stack "$stack" --region ap-northeast-1 --at "$before" --overwrite
echo "(to write it back: the same command with --apply)"

step "a parameter is lost by mistake (deleted with boto3)"
"$here/.venv/bin/python" -c 'import boto3; boto3.client("ssm", region_name="ap-northeast-1").delete_parameter(Name="/app/dev/db/password"); print("deleted /app/dev/db/password in ap-northeast-1")'

step "ssm-keeper restore --stack dev --region ap-northeast-1 --detailed-exitcode   (preview: read-only, exit code 2)"
set +e; "$bin" restore --stack dev --region ap-northeast-1 --detailed-exitcode; code=$?; set -e
echo "exit code: $code"; [ "$code" -eq 2 ]
echo "(to write it back: the same command with --apply)"
