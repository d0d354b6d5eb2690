//! Semantic normalization of IAM / bucket policy JSON, so that documents which mean the same
//! compare equal: key order, whitespace, single-item lists, the order of string lists,
//! `{"AWS": "*"}` for `"*"`, and scalars written as booleans or numbers. Pure.

use serde_json::Value;

/// The canonical form of a policy document.
pub fn normalize(policy: &Value) -> Value {
    match policy {
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (k, v) in map {
                let v = normalize(v);
                let v = if k == "Principal" { principal(v) } else { v };
                out.insert(k.clone(), v);
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            let mut items: Vec<Value> = items.iter().map(normalize).collect();
            if items.iter().all(Value::is_string) {
                items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
                items.dedup();
            }
            if items.len() == 1 {
                items.pop().unwrap_or(Value::Null)
            } else {
                Value::Array(items)
            }
        }
        Value::Bool(b) => Value::String(b.to_string()),
        Value::Number(n) => Value::String(n.to_string()),
        other => other.clone(),
    }
}

fn principal(v: Value) -> Value {
    match &v {
        Value::Object(map) if map.len() == 1 && map.get("AWS") == Some(&Value::from("*")) => {
            Value::from("*")
        }
        _ => v,
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
