"""CloudWatch as AWS authorizes it where moto 5.2.5 differs: each request against the alarms or
the dashboards it names, with `cloudwatch:namespace` from the request (the `cloudwatch` prefix
itself is iam.py's); dashboards global to the account, as AWS keeps them, and PutDashboard's
checks of the name and body. Its Smithy RPC v2 CBOR protocol is translated in front of moto
(server.py)."""

from __future__ import annotations

import json
import re

from . import iam
from .source import require_source


def dashboard_arn(response, name: str) -> str:
    """`arn:<partition>:cloudwatch::<account>:dashboard/<name>`: no region, dashboards are global."""
    from moto.utilities.utils import get_partition

    return f"arn:{get_partition(response.region)}:cloudwatch::{response.current_account}:dashboard/{name}"


def patch_iam_resources() -> None:
    from moto.cloudwatch.responses import CloudWatchResponse

    def cloudwatch_resources(self, request):
        names = request.get("AlarmNames") or ([request["AlarmName"]] if "AlarmName" in request else [])
        conditions = {"cloudwatch:namespace": request["Namespace"]} if "Namespace" in request else None
        resources = [iam.arn(self, "cloudwatch", f"alarm:{n}") for n in names]
        dashboards = request.get("DashboardNames") or (
            [request["DashboardName"]] if "DashboardName" in request else []
        )
        resources += [dashboard_arn(self, n) for n in dashboards]
        return resources, conditions

    CloudWatchResponse._authenticate_and_authorize_normal_action = iam.authorize_each(cloudwatch_resources)


# The dashboards of each account and partition, shared by every region's backend.
_DASHBOARDS: dict[tuple[str, str], dict] = {}

WIDGET_TYPES = ("metric", "text", "log", "alarm", "explorer", "custom")
NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")


def body_errors(body: str) -> list[dict]:
    """What AWS's validation of a DashboardBody refuses, as its validation messages
    (`dataPath`, `message`): a JSON object with a `widgets` list of at most 500 widgets, each an
    object of a known `type` with `properties`, its place and size whole numbers in the grid
    (x 0-23, y from 0, width 1-24, height 1-1000); a metric widget names its `region` and lists
    `metrics` (each a list: namespace, name, dimension pairs and an optional options object, or
    an expression object with `expression` and `id`), an alarm widget its `alarms`, a text
    widget its `markdown`."""
    try:
        doc = json.loads(body)
    except (TypeError, ValueError):
        return [{"dataPath": "", "message": "Should be a valid JSON object"}]
    if not isinstance(doc, dict):
        return [{"dataPath": "", "message": "Should be object"}]
    errors = []

    def error(path, message):
        errors.append({"dataPath": path, "message": message})

    widgets = doc.get("widgets")
    if widgets is None:
        return [{"dataPath": "", "message": "Should have required property 'widgets'"}]
    if not isinstance(widgets, list):
        return [{"dataPath": "/widgets", "message": "Should be array"}]
    if len(widgets) > 500:
        error("/widgets", "Should NOT have more than 500 items")
    bounds = {"x": (0, 23), "y": (0, None), "width": (1, 24), "height": (1, 1000)}
    for i, widget in enumerate(widgets):
        at = f"/widgets/{i}"
        if not isinstance(widget, dict):
            error(at, "Should be object")
            continue
        kind = widget.get("type")
        if kind is None:
            error(at, "Should have required property 'type'")
        elif kind not in WIDGET_TYPES:
            error(f"{at}/type", "Should be equal to one of the allowed values")
        for key, (low, high) in bounds.items():
            value = widget.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
                error(f"{at}/{key}", "Should be integer")
            elif value < low or (high is not None and value > high):
                error(f"{at}/{key}", f"Should be {'>=' if value < low else '<='} {low if value < low else high}")
        props = widget.get("properties")
        if not isinstance(props, dict):
            error(at, "Should have required property 'properties'" if props is None else "Should be object")
            continue
        if kind == "metric":
            if not isinstance(props.get("region"), str):
                error(f"{at}/properties", "Should have required property 'region'")
            metrics = props.get("metrics")
            if metrics is None and not props.get("annotations", {}).get("alarms"):
                error(f"{at}/properties", "Should have required property 'metrics'")
            for j, m in enumerate(metrics if isinstance(metrics, list) else []):
                path = f"{at}/properties/metrics/{j}"
                if not isinstance(m, list) or not m:
                    error(path, "Should be array")
                    continue
                options = m[-1] if isinstance(m[-1], dict) else None
                names = m[:-1] if options is not None else m
                if not names:
                    if "expression" not in options or not isinstance(options.get("id"), str):
                        error(path, "Should have required property 'expression' and 'id'")
                    elif not re.fullmatch(r"[a-z][A-Za-z0-9_]*", options["id"]):
                        error(f"{path}/0/id", "Should start with a lowercase letter")
                elif len(names) < 2 or len(names) % 2 or not all(isinstance(n, str) for n in names):
                    error(path, "Should be namespace, metric name and dimension name-value pairs")
        elif kind == "alarm":
            alarms = props.get("alarms")
            if not isinstance(alarms, list) or not alarms:
                error(f"{at}/properties", "Should have required property 'alarms'")
            elif len(alarms) > 100 or not all(isinstance(a, str) and a.startswith("arn:") for a in alarms):
                error(f"{at}/properties/alarms", "Should be at most 100 alarm ARNs")
        elif kind == "text" and not isinstance(props.get("markdown"), str):
            error(f"{at}/properties", "Should have required property 'markdown'")
    return errors


def patch_dashboards() -> None:
    """Dashboards are global to the account (moto kept them per region: one written through
    us-east-1 was not found through eu-west-1); GetDashboard and DeleteDashboards of a missing
    one answer `ResourceNotFound` with HTTP 404 (AWS's DashboardNotFoundError); PutDashboard
    refuses a name or body AWS refuses, with `InvalidParameterInput` and its validation
    messages (moto accepted any name, and any JSON)."""
    from moto.cloudwatch import models, responses
    from moto.cloudwatch.exceptions import DashboardInvalidInputError, ResourceNotFound
    from moto.utilities.utils import get_partition

    require_source(models.CloudWatchBackend.__init__, "self.dashboards: dict[str, Dashboard] = {}")
    require_source(responses.CloudWatchResponse.get_dashboard, 'raise ResourceNotFound("Dashboard does not exist")')
    require_source(responses.CloudWatchResponse.put_dashboard, 'raise DashboardInvalidInputError("Body is invalid JSON")')
    require_source(responses.CloudWatchResponse.delete_dashboards, "raise ResourceNotFound(error)")
    require_source(models.make_arn_for_dashboard, "cloudwatch::{account_id}:dashboard/{name}")

    original_init = models.CloudWatchBackend.__init__

    def __init__(self, region_name, account_id):
        original_init(self, region_name, account_id)
        self.dashboards = _DASHBOARDS.setdefault((account_id, get_partition(region_name)), {})

    class DashboardNotFound(ResourceNotFound):
        """Serialized with the model's DashboardNotFoundError (code ResourceNotFound, 404)."""

    class InvalidDashboard(DashboardInvalidInputError):
        def __init__(self, message, messages):
            super().__init__(message)
            self.dashboardValidationMessages = [
                {"DataPath": m["dataPath"], "Message": m["message"]} for m in messages
            ]

    original_get = responses.CloudWatchResponse.get_dashboard
    original_put = responses.CloudWatchResponse.put_dashboard
    original_delete = responses.CloudWatchResponse.delete_dashboards

    def get_dashboard(self):
        name = self._get_param("DashboardName")
        if self.cloudwatch_backend.get_dashboard(name) is None:
            raise DashboardNotFound(f"Dashboard {name} does not exist")
        return original_get(self)

    def put_dashboard(self):
        name = self._get_param("DashboardName") or ""
        if not NAME.fullmatch(name):
            raise InvalidDashboard(
                "The value for field DashboardName must be 1 to 255 characters, alphanumerics, "
                "dash (-) and underscore (_) only",
                [{"dataPath": "/DashboardName", "message": "Should match pattern [A-Za-z0-9_-]{1,255}"}],
            )
        errors = body_errors(self._get_param("DashboardBody"))
        if errors:
            listed = json.dumps(errors, indent=1)
            raise InvalidDashboard(
                f"The dashboard body is invalid, there are {len(errors)} validation errors:\n{listed}", errors
            )
        return original_put(self)

    def delete_dashboards(self):
        names = self._get_param("DashboardNames", [])
        missing = [n for n in names if self.cloudwatch_backend.get_dashboard(n) is None]
        if names and missing:
            raise DashboardNotFound(f"The specified dashboard does not exist. [{', '.join(missing)}]")
        return original_delete(self)

    models.CloudWatchBackend.__init__ = __init__
    responses.CloudWatchResponse.get_dashboard = get_dashboard
    responses.CloudWatchResponse.put_dashboard = put_dashboard
    responses.CloudWatchResponse.delete_dashboards = delete_dashboards
