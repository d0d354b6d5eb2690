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


def as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def wildcard_match(pattern: str, value: str) -> bool:
    # IAM wildcards: * any run, ? one character; fnmatch's [] classes do not exist in IAM.
    escaped = pattern.replace("[", "[[]")
    return fnmatch.fnmatchcase(value, escaped)


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
            if base.startswith("StringNot") or if_exists:
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
        elif base == "Bool":
            ok = actual.lower() in [e.lower() for e in expected]
        else:
            raise NotImplementedError(
                f"bucket policy condition operator {operator} is not emulated (emulator/keeper_emulator/policy.py)"
            )
        if not ok:
            return False
    return True


def evaluate_bucket_policy(policy: dict, action: str, resource: str, context: dict) -> str:
    """AWS policy evaluation for one request: 'DENIED', 'PERMITTED' or 'NEUTRAL'."""
    permitted = False
    for statement in as_list(policy.get("Statement")):
        actions = as_list(statement.get("Action"))
        if not any(wildcard_match(a.lower(), action.lower()) for a in actions):
            continue
        resources = as_list(statement.get("Resource"))
        if not any(wildcard_match(r, resource) for r in resources):
            continue
        if not _principal_matches(statement.get("Principal")):
            continue
        conditions = statement.get("Condition") or {}
        if not all(condition_holds(op, kv, context) for op, kv in conditions.items()):
            continue  # AWS: the statement does not apply
        if statement.get("Effect") == "Deny":
            return "DENIED"
        if statement.get("Effect") == "Allow":
            permitted = True
    return "PERMITTED" if permitted else "NEUTRAL"
