"""Amazon CloudWatch Logs as AWS has it where moto 5.2.5 differs: the account's resource
policies decide whether a service may write to a log group (EventBridge's delivery asks,
events.py), FilterLogEvents interleaves the streams of a group and takes `logGroupIdentifier`,
and each request is authorized against the log group it names, in the ARN form AWS checks."""

from __future__ import annotations

import json

from . import iam
from .policy import as_list, evaluate_policy
from .source import require_source


def _names_service(principal, service: str) -> bool:
    """Whether a resource policy statement's Principal covers an AWS service principal."""
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return service in as_list(principal.get("Service")) or "*" in as_list(principal.get("AWS"))
    return False


def allows_delivery(backend, group: str, stream: str, service: str, source_arn: str) -> bool:
    """Whether the resource policies of the backend's account and region let `service` create a
    stream in `group` and put log events in it, for a delivery on behalf of `source_arn`
    (`aws:SourceArn`; `aws:SourceAccount` is the account). AWS evaluates the account's
    resource policies (PutResourcePolicy) as any resource policy: an explicit Deny wins, an
    Allow is needed; a statement that names another principal does not apply."""
    from moto.utilities.utils import get_partition

    resource = (
        f"arn:{get_partition(backend.region_name)}:logs:{backend.region_name}:{backend.account_id}:"
        f"log-group:{group}:log-stream:{stream}"
    )
    context = {"aws:sourcearn": source_arn, "aws:sourceaccount": backend.account_id}
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        verdicts = set()
        for policy in backend.resource_policies.values():
            try:
                document = json.loads(policy.policy_document)
            except (TypeError, ValueError):
                continue
            statements = [
                s for s in as_list(document.get("Statement")) if _names_service(s.get("Principal"), service)
            ]
            verdicts.add(evaluate_policy({"Statement": statements}, action, resource, context))
        if "DENIED" in verdicts or "PERMITTED" not in verdicts:
            return False
    return True


def patch_filter_log_events() -> None:
    """FilterLogEvents returns the events of all the group's streams in time order (AWS always
    interleaves; `interleaved` is deprecated and ignored), and finds the group by
    `logGroupIdentifier` (its name or ARN) as by `logGroupName`. moto returned stream after
    stream unless `interleaved` was sent, and ignored the identifier."""
    from moto.logs.models import LogGroup
    from moto.logs.responses import LogsResponse

    require_source(
        LogGroup.filter_log_events,
        "if interleaved:",
        'events = sorted(events, key=lambda event: event["timestamp"])',
    )
    require_source(LogsResponse.filter_log_events, 'log_group_name = self._get_param("logGroupName")')
    original_group = LogGroup.filter_log_events

    def filter_log_events(self, log_group_name, log_stream_names, start_time, end_time, limit,
                          next_token, filter_pattern, interleaved):
        return original_group(self, log_group_name, log_stream_names, start_time, end_time, limit,
                              next_token, filter_pattern, True)

    original_response = LogsResponse.filter_log_events

    def filter_log_events_response(self):
        identifier = self._get_param("logGroupIdentifier")
        if identifier and not self._get_param("logGroupName"):
            name = identifier
            if identifier.startswith("arn:"):
                name = identifier.split(":log-group:", 1)[1]
                name = name[: -len(":*")] if name.endswith(":*") else name
            get_param = self._get_param

            def by_identifier(param, if_none=None):
                return name if param == "logGroupName" else get_param(param, if_none)

            self._get_param = by_identifier
        return original_response(self)

    LogGroup.filter_log_events = filter_log_events
    LogsResponse.filter_log_events = filter_log_events_response


# The actions authorized against the ARN of the log group without `:*` (AWS: "The exception is
# when specifying permissions for TagResource, UntagResource, and ListTagsForResource").
_WITHOUT_STAR = {"TagResource", "UntagResource", "ListTagsForResource"}
# No resource type: authorized against `*` (PutResourcePolicy, DescribeResourcePolicies,
# DeleteResourcePolicy, ...).
_ACCOUNT_LEVEL = {"PutResourcePolicy", "DescribeResourcePolicies", "DeleteResourcePolicy"}


def patch_iam_resources() -> None:
    """Each request is authorized against the log group it names, as AWS checks it: most actions
    against `arn:aws:logs:<region>:<account>:log-group:<name>:*` (the form DescribeLogGroups
    returns as `arn`), TagResource/UntagResource/ListTagsForResource against the ARN without
    `:*` (their `resourceArn`); CreateLogStream and PutLogEvents against the stream
    (`...:log-group:<name>:log-stream:<stream>`); DescribeLogGroups against
    `arn:aws:logs:<region>:<account>:log-group::log-stream:` (so a policy scoped to a prefix of
    group names does not allow it); the resource policy actions against `*`. CreateLogGroup with
    tags also needs logs:TagResource. moto checked every request against `*`."""
    from moto.logs.responses import LogsResponse

    def group_arn(self, name: str, star: bool = True) -> str:
        return iam.arn(self, "logs", f"log-group:{name}" + (":*" if star else ""))

    def logs_resources(self, request):
        action = self._get_action()
        if action in _ACCOUNT_LEVEL:
            return [], None
        if action == "DescribeLogGroups":
            return [iam.arn(self, "logs", "log-group::log-stream:")], None
        if action in _WITHOUT_STAR and "resourceArn" in request:
            arn = request["resourceArn"]
            return [arn[: -len(":*")] if arn.endswith(":*") else arn], None
        name = request.get("logGroupName")
        identifier = request.get("logGroupIdentifier")
        if not name and identifier:
            if identifier.startswith("arn:"):
                return [identifier if identifier.endswith(":*") else identifier + ":*"], None
            name = identifier
        if not name:
            return [], None
        if action in {"CreateLogStream", "PutLogEvents"} and "logStreamName" in request:
            return [iam.arn(self, "logs", f"log-group:{name}:log-stream:{request['logStreamName']}")], None
        return [group_arn(self, name)], None

    authorize_logs = iam.authorize_each(logs_resources)

    def authorize_logs_and_tags(self, resource="*"):
        authorize_logs(self, resource)
        request = iam.json_request(self)
        if self._get_action() == "CreateLogGroup" and request.get("tags"):
            token = iam.action.set("logs:TagResource")
            try:
                iam.authorize_each(
                    lambda s, r: ([group_arn(s, r["logGroupName"], star=False)], None)
                )(self, resource)
            finally:
                iam.action.reset(token)

    LogsResponse._authenticate_and_authorize_normal_action = authorize_logs_and_tags
