"""CloudWatch as AWS authorizes it where moto 5.2.5 differs: each request against the alarms it
names, with `cloudwatch:namespace` from the request (the `cloudwatch` prefix itself is iam.py's).
Its Smithy RPC v2 CBOR protocol is translated in front of moto (server.py)."""

from __future__ import annotations

from . import iam


def patch_iam_resources() -> None:
    from moto.cloudwatch.responses import CloudWatchResponse

    def cloudwatch_resources(self, request):
        names = request.get("AlarmNames") or ([request["AlarmName"]] if "AlarmName" in request else [])
        conditions = {"cloudwatch:namespace": request["Namespace"]} if "Namespace" in request else None
        return [iam.arn(self, "cloudwatch", f"alarm:{n}") for n in names], conditions

    CloudWatchResponse._authenticate_and_authorize_normal_action = iam.authorize_each(cloudwatch_resources)
