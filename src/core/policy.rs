//! Semantic normalization of IAM / bucket policy JSON, so that documents which mean the same
//! compare equal: key order, whitespace, one item for a one-item list, the order of string lists,
//! `{"AWS": "*"}` for `"*"`, and scalars written as booleans or numbers. Pure.

use serde_json::Value;

/// Keys whose value may be one item or a list of items: always a list in canonical form.
const LIST_KEYS: [&str; 5] = [
    "Statement",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
];

/// The canonical form of a policy document: objects with sorted keys, list-capable values as
/// lists (string lists sorted), condition values and principals as sorted string lists, and
/// every scalar as a string.
pub fn normalize(policy: &Value) -> Value {
    canonical(policy, None)
}

fn canonical(value: &Value, key: Option<&str>) -> Value {
    let out = match value {
        Value::Object(map) => sorted_object(map.iter().map(|(k, v)| {
            let v = match k.as_str() {
                "Condition" => condition(v),
                "Principal" | "NotPrincipal" => principal(v),
                _ => canonical(v, Some(k)),
            };
            (k.clone(), v)
        })),
        Value::Array(items) => sorted(items.iter().map(|v| canonical(v, None)).collect()),
        Value::Bool(b) => Value::String(b.to_string()),
        Value::Number(n) => Value::String(n.to_string()),
        other => other.clone(),
    };
    match (key, out) {
        (Some(k), Value::Array(items)) if LIST_KEYS.contains(&k) => Value::Array(items),
        (Some(k), single) if LIST_KEYS.contains(&k) => Value::Array(vec![single]),
        (_, out) => out,
    }
}

/// An object with its keys in sorted order (JSON objects keep insertion order here).
fn sorted_object(entries: impl Iterator<Item = (String, Value)>) -> Value {
    let mut entries: Vec<(String, Value)> = entries.collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Value::Object(entries.into_iter().collect())
}

/// A list of strings sorted and deduplicated (order carries no meaning there); other lists
/// (statements) keep their order.
fn sorted(mut items: Vec<Value>) -> Value {
    if items.iter().all(Value::is_string) {
        items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
        items.dedup();
    }
    Value::Array(items)
}

fn string_list(value: &Value) -> Value {
    match canonical(value, None) {
        Value::Array(items) => sorted(items),
        single => Value::Array(vec![single]),
    }
}

/// `{"Operator": {"key": value-or-list}}` with every value a sorted string list.
fn condition(value: &Value) -> Value {
    match value {
        Value::Object(operators) => sorted_object(operators.iter().map(|(op, keys)| {
            let keys = match keys {
                Value::Object(keys) => {
                    sorted_object(keys.iter().map(|(k, v)| (k.clone(), string_list(v))))
                }
                other => canonical(other, None),
            };
            (op.clone(), keys)
        })),
        other => canonical(other, None),
    }
}

/// `"*"` and `{"AWS": "*"}` are the same principal; other principals as sorted lists.
fn principal(value: &Value) -> Value {
    match value {
        Value::Object(map) if map.len() == 1 && map.get("AWS") == Some(&Value::from("*")) => {
            Value::from("*")
        }
        Value::Object(map) => sorted_object(map.iter().map(|(k, v)| (k.clone(), string_list(v)))),
        other => canonical(other, None),
    }
}

/// Whether two policy documents mean the same.
pub fn equivalent(a: &Value, b: &Value) -> bool {
    normalize(a) == normalize(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_whitespace_and_single_item_lists_do_not_matter() {
        let a: Value = serde_json::from_str(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Sid":"X","Action":["s3:*"],"Principal":"*","Resource":["arn:aws:s3:::b/*","arn:aws:s3:::b"]}]}"#,
        )
        .unwrap();
        let b: Value = serde_json::from_str(
            r#"{
              "Statement": {"Sid": "X", "Principal": {"AWS": "*"}, "Effect": "Deny",
                            "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"], "Action": "s3:*"},
              "Version": "2012-10-17"
            }"#,
        )
        .unwrap();
        assert!(equivalent(&a, &b));
    }

    #[test]
    fn condition_scalars_compare_as_strings() {
        let a = json!({"Condition": {"Bool": {"aws:SecureTransport": false}}});
        let b = json!({"Condition": {"Bool": {"aws:SecureTransport": "false"}}});
        assert!(equivalent(&a, &b));
    }

    #[test]
    fn canonical_form_keeps_lists_so_diffs_stay_small() {
        let p = json!({"Statement": {"Action": "s3:*", "Condition": {"Bool": {"k": false}}}});
        assert_eq!(
            normalize(&p),
            json!({"Statement": [{"Action": ["s3:*"], "Condition": {"Bool": {"k": ["false"]}}}]})
        );
    }

    #[test]
    fn canonical_keys_are_sorted_whatever_the_input_order() {
        let p: Value = serde_json::from_str(
            r#"{"Version": "1", "Statement": [{"Sid": "A", "Effect": "Deny"}]}"#,
        )
        .unwrap();
        let text = serde_json::to_string(&normalize(&p)).unwrap();
        assert_eq!(
            text,
            r#"{"Statement":[{"Effect":"Deny","Sid":"A"}],"Version":"1"}"#
        );
    }

    #[test]
    fn a_removed_statement_is_a_difference() {
        let a = json!({"Statement": [{"Sid": "A"}, {"Sid": "B"}]});
        let b = json!({"Statement": [{"Sid": "A"}]});
        assert!(!equivalent(&a, &b));
    }

    #[test]
    fn changed_values_are_a_difference() {
        let a = json!({"Statement": [{"Effect": "Deny"}]});
        let b = json!({"Statement": [{"Effect": "Allow"}]});
        assert!(!equivalent(&a, &b));
    }
}
