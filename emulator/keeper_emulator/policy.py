"""The IAM policy language as AWS evaluates it: wildcards, condition operators, and the verdict
of a policy on one request (a statement whose condition does not hold does not apply). Shared by
the bucket policies (s3.py) and the identity policies of enforced IAM (iam.py); no moto here."""

from __future__ import annotations

import contextvars
import fnmatch

# The S3 request being served (its condition keys, and what the evaluation learnt): set by
# s3.py around every bucket and object request.
request_context: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "ssm_keeper_request_context", default=None
)


def tag_keys(prefix: str, tags: dict) -> dict:
    """Condition keys `<prefix>/<tag key>` for each tag (aws:ResourceTag, aws:RequestTag,
    s3:ExistingObjectTag): the tag key is matched without regard to case, its value as is."""
    return {f"{prefix}/{k}".lower(): str(v) for k, v in tags.items()}


def as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def wildcard_match(pattern: str, value: str) -> bool:
    # IAM wildcards: * any run, ? one character; fnmatch's [] classes do not exist in IAM.
    escaped = pattern.replace("[", "[[]")
    return fnmatch.fnmatchcase(value, escaped)


def arn_like(pattern: str, arn: str) -> bool:
    """ArnLike/ArnEquals: each of the six colon-separated parts of the ARN is matched on its own,
    with the IAM wildcards (the resource, the sixth part, keeps its own colons)."""
    patterns, parts = pattern.split(":", 5), arn.split(":", 5)
    return len(patterns) == len(parts) == 6 and all(
        wildcard_match(p, v) for p, v in zip(patterns, parts, strict=True)
    )


def _principal_matches(principal) -> bool:
    # Every request to the emulator comes from the one test account; "*" and AWS principals match.
    return principal is not None


def condition_holds(operator: str, key_values: dict, context: dict) -> bool:
    if_exists = operator.endswith("IfExists")
    base = operator[: -len("IfExists")] if if_exists else operator
    for key, expected in key_values.items():
        expected = [str(v) for v in as_list(expected)]
        actual = context.get(key.lower())
        if base == "Null":
            want_absent = expected[0].lower() == "true"
            if (actual is None) != want_absent:
                return False
            continue
        if actual is None:
            # AWS: a negated operator matches a missing key; any other operator does not,
            # unless it is an ...IfExists operator.
            if base.startswith(("StringNot", "ArnNot")) or if_exists:
                continue
            return False
        if base == "StringEquals":
            ok = actual in expected
        elif base == "StringNotEquals":
            ok = actual not in expected
        elif base == "StringEqualsIgnoreCase":
            ok = actual.lower() in [e.lower() for e in expected]
        elif base == "StringNotEqualsIgnoreCase":
            ok = actual.lower() not in [e.lower() for e in expected]
        elif base == "StringLike":
            ok = any(wildcard_match(e, actual) for e in expected)
        elif base == "StringNotLike":
            ok = not any(wildcard_match(e, actual) for e in expected)
        elif base in ("ArnEquals", "ArnLike"):
            ok = any(arn_like(e, actual) for e in expected)
        elif base in ("ArnNotEquals", "ArnNotLike"):
            ok = not any(arn_like(e, actual) for e in expected)
        elif base == "Bool":
            ok = actual.lower() in [e.lower() for e in expected]
        else:
            raise NotImplementedError(
                f"IAM condition operator {operator} is not emulated (emulator/keeper_emulator/policy.py)"
            )
        if not ok:
            return False
    return True


def _matches(patterns, value: str, ignore_case: bool) -> bool:
    if ignore_case:
        return any(wildcard_match(p.lower(), value.lower()) for p in as_list(patterns))
    return any(wildcard_match(p, value) for p in as_list(patterns))


def statement_applies(statement: dict, action: str, resource: str, context: dict) -> bool:
    """Whether a statement concerns this request: its action (Action or NotAction, without
    regard to case), its resource (Resource or NotResource) and every condition hold. A
    statement whose condition does not hold simply does not apply, whatever its Effect."""
    if "NotAction" in statement:
        if _matches(statement["NotAction"], action, ignore_case=True):
            return False
    elif not _matches(statement.get("Action"), action, ignore_case=True):
        return False
    if "NotResource" in statement:
        if _matches(statement["NotResource"], resource, ignore_case=False):
            return False
    elif not _matches(statement.get("Resource"), resource, ignore_case=False):
        return False
    conditions = statement.get("Condition") or {}
    return all(condition_holds(op, kv, context) for op, kv in conditions.items())


def evaluate_policy(policy: dict, action: str, resource: str, context: dict) -> str:
    """AWS's verdict of an identity policy on one request: 'DENIED' (an explicit Deny applies),
    'PERMITTED' (an Allow applies and no Deny) or 'NEUTRAL' (no statement applies). `context`
    holds the request's condition keys, lower-cased."""
    permitted = False
    for statement in as_list(policy.get("Statement")):
        if not statement_applies(statement, action, resource, context):
            continue
        if statement.get("Effect") == "Deny":
            return "DENIED"
        if statement.get("Effect") == "Allow":
            permitted = True
    return "PERMITTED" if permitted else "NEUTRAL"


def evaluate_bucket_policy(policy: dict, action: str, resource: str, context: dict) -> str:
    """AWS policy evaluation of a bucket policy for one request: only its statements that name a
    principal (every request to the emulator is of the one test account)."""
    statements = [s for s in as_list(policy.get("Statement")) if _principal_matches(s.get("Principal"))]
    return evaluate_policy({"Statement": statements}, action, resource, context)
