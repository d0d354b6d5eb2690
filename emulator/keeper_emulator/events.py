"""Amazon EventBridge as AWS has it where moto 5.2.5 differs: the events AWS services emit on the
default bus (Parameter Store's "Parameter Store Change", emitted by ssm.py through
`emit_aws_event`), their delivery to a CloudWatch Logs target as AWS delivers it (the whole
event, the event's time as the log event's time, the log group's ARN in either form, only when a
Logs resource policy lets events.amazonaws.com write there, a disabled rule delivers nothing),
and each request authorized against the rule it names."""

from __future__ import annotations

import json

from . import iam
from .source import require_source

# The event as AWS delivers it to a target without an input transformer: every field, in AWS's
# order (moto's default template left out `account`).
AWS_EVENT_TEMPLATE = (
    '{"version": "0", "id": "<id>", "detail-type": "<detail-type>", "source": "<source>", '
    '"account": "<account>", "time": <time>, "region": "<region>", "resources": <resources>, '
    '"detail": <detail>}'
)


def emit_aws_event(account_id: str, region: str, source: str, detail_type: str, resources, detail) -> None:
    """An event an AWS service emits, put on the default bus of its account and region (AWS:
    every rule of that bus whose pattern matches receives it). Delivery never fails the API call
    that caused it, as in AWS (a target that cannot be written is skipped)."""
    from moto.events.models import events_backends

    backend = events_backends[account_id][region]
    backend.put_events(
        [
            {
                "Source": source,
                "DetailType": detail_type,
                "Detail": json.dumps(detail),
                "Resources": list(resources),
            }
        ]
    )


def rule_arn(response, request: dict, name: str) -> str:
    """The ARN of a rule: `rule/<name>` on the default bus, `rule/<bus>/<name>` on another."""
    bus = (request.get("EventBusName") or "default").split("/")[-1]
    return iam.arn(response, "events", f"rule/{name}" if bus == "default" else f"rule/{bus}/{name}")


def patch_delivery() -> None:
    """Matched events reach a CloudWatch Logs target as AWS delivers them: the event's JSON (with
    `account`) as one log event whose timestamp is the event's `time` (moto: the time of
    delivery), to the group named by either form of its ARN (moto failed on the `:*` form
    DescribeLogGroups returns); only when a Logs resource policy of the account and region lets
    events.amazonaws.com CreateLogStream and PutLogEvents there (logs.py), and never for a
    disabled rule (moto delivered to both). An undeliverable event is dropped silently, as AWS
    does (moto raised out of the API call that emitted it)."""
    from moto.events.models import Rule
    from moto.events.utils import EventTemplateParser

    require_source(
        Rule.send_to_targets,
        "if not self.event_pattern.matches_event(original_event):",
        'if arn.service == "logs" and arn.resource_type == "log-group":',
        "self._send_to_cw_log_group(arn.resource_id, event)",
    )
    require_source(
        Rule._send_to_cw_log_group,
        'event["time"] = iso_8601_datetime_without_milliseconds(',
        'log_events = [{"timestamp": unix_time_millis(), "message": json.dumps(event)}]',
        "log_backend.create_log_stream(name, log_stream_name)",
    )
    require_source(EventTemplateParser.parse, "EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE")
    # What the delivery reads of CloudWatch Logs (logs.allows_delivery).
    from moto.logs.models import LogResourcePolicy, LogsBackend

    require_source(LogsBackend.put_resource_policy, "self.resource_policies[policy_name] = policy")
    require_source(LogsBackend.create_log_stream, "self.groups[log_group_name]")
    require_source(LogResourcePolicy.__init__, "self.policy_document = policy_document")
    if '"account"' in EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE or (
        "account" not in EventTemplateParser.DEFAULT_EVENT_INPUT_PATHS_MAP
    ):
        from .source import PatchTargetMoved

        raise PatchTargetMoved("moto.events.utils.EventTemplateParser's default template changed")
    EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE = AWS_EVENT_TEMPLATE

    original_send = Rule.send_to_targets

    def send_to_targets(self, original_event, transform_input=True):
        if self.state == "DISABLED":
            return None
        return original_send(self, original_event, transform_input)

    def send_to_cw_log_group(self, name, event):
        import datetime

        from moto.core.utils import iso_8601_datetime_without_milliseconds
        from moto.logs import logs_backends
        from moto.moto_api._internal import mock_random as random

        from . import logs

        if name.endswith(":*"):  # the ARN's form with `:*`, as DescribeLogGroups returns it
            name = name[: -len(":*")]
        seconds = None
        if isinstance(event.get("time"), (int, float)):
            seconds = int(event["time"])
            event["time"] = iso_8601_datetime_without_milliseconds(
                datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
            )
        elif isinstance(event.get("time"), str):
            try:
                when = datetime.datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ")
                seconds = int(when.replace(tzinfo=datetime.timezone.utc).timestamp())
            except ValueError:
                seconds = None
        if seconds is None:  # an input transformer left no time: the time of delivery
            seconds = int(datetime.datetime.now(datetime.timezone.utc).timestamp())

        backend = logs_backends[self.account_id][self.region_name]
        if name not in backend.groups:
            return  # AWS: a FailedInvocations metric, nothing written, nothing raised
        stream = str(random.uuid4())
        if not logs.allows_delivery(backend, name, stream, "events.amazonaws.com", self.arn):
            return  # AWS: fails silently without a resource policy allowing it
        backend.create_log_stream(name, stream)
        message = json.dumps(event, separators=(",", ":"))
        backend.put_log_events(name, stream, [{"timestamp": seconds * 1000, "message": message}])

    Rule.send_to_targets = send_to_targets
    Rule._send_to_cw_log_group = send_to_cw_log_group


def patch_iam_resources() -> None:
    """Each request is authorized against the rule it names (`Name`, `Rule`; `ResourceARN` for
    the tagging actions), `arn:aws:events:<region>:<account>:rule/[<bus>/]<name>`; moto checked
    `*`."""
    from moto.events.responses import EventsHandler

    def events_resources(self, request):
        name = request.get("Name") or request.get("Rule")
        resources = []
        if "ResourceARN" in request:
            resources.append(request["ResourceARN"])
        elif name and self._get_action() in {
            "PutRule",
            "DescribeRule",
            "DeleteRule",
            "EnableRule",
            "DisableRule",
            "PutTargets",
            "RemoveTargets",
            "ListTargetsByRule",
        }:
            resources.append(rule_arn(self, request, name))
        return resources, None

    EventsHandler._authenticate_and_authorize_normal_action = iam.authorize_each(events_resources)


# The match types AWS knows (EventBridge user guide, "Content filtering in event patterns"); a
# filter object of any other kind is refused by PutRule.
MATCH_TYPES = {
    "prefix",
    "suffix",
    "equals-ignore-case",
    "anything-but",
    "numeric",
    "exists",
    "cidr",
    "wildcard",
}


def _refusal(pattern):
    """AWS's reason to refuse an event pattern moto accepts, or None: an unknown match type
    (moto matched every value with it), a wildcard with consecutive `*`."""
    if not isinstance(pattern, dict):
        return None
    for key, value in pattern.items():
        if key == "$or" and isinstance(value, list):  # alternatives: each a pattern
            reasons = [_refusal(p) for p in value]
        elif isinstance(value, dict):
            reasons = [_refusal(value)]
        elif isinstance(value, list):  # a field's filters
            reasons = [_filter_refusal(f) for f in value if isinstance(f, dict)]
        else:
            reasons = []
        reason = next((r for r in reasons if r), None)
        if reason:
            return reason
    return None


def _filter_refusal(item: dict):
    if not item:
        return None
    (kind, value), *_ = item.items()
    if kind not in MATCH_TYPES:
        return f"Unrecognized match type {kind}"
    if kind == "wildcard":
        for w in value if isinstance(value, list) else [value]:
            if isinstance(w, str) and "**" in w:
                return f"Consecutive wildcard characters at pos {w.index('**') + 1}"
    return None


def patch_pattern_validation() -> None:
    """PutRule refuses a pattern AWS refuses (InvalidEventPatternException): a filter of a kind
    AWS does not know (moto matched any value with it, so a misspelt `prefix` matched every
    parameter), a wildcard with consecutive `*`. The reason's wording is AWS's without the
    parser's position."""
    from moto.events.exceptions import InvalidEventPatternException
    from moto.events.models import EventPattern, EventPatternParser

    require_source(EventPatternParser.parse, "self._validate_event_pattern(parsed_pattern)")
    require_source(EventPattern._does_item_match_named_filter, "            return True\n")
    original = EventPatternParser._validate_event_pattern

    def validate(self, pattern):
        original(self, pattern)
        reason = _refusal(pattern)
        if reason:
            raise InvalidEventPatternException(reason=reason)

    EventPatternParser._validate_event_pattern = validate
