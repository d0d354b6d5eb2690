//! The CloudWatch dashboard as the stack manages it: its body (`PutDashboard` writes it whole),
//! the attributes a plan tells apart and their comparison. The body is compared as data:
//! widgets matched by title, each compared by its content (keys in any order, `12` and `12.0`
//! the same number, whitespace nothing), so a plan shows only the widgets that differ. Pure;
//! what the dashboard shows for a stack is core/dashboard.rs.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use strum::VariantArray;

use super::{Attribute, FieldChange};

/// A dashboard reduced to what the stack manages: its body, as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DashboardSettings {
    pub body: Value,
}

/// A part of the body the plan tells apart. Names unique among every kind's attributes.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::VariantArray,
)]
pub enum DashboardAttribute {
    /// The widgets that differ, by title: live and desired hold only those (`null`: absent).
    #[serde(rename = "dashboard-widgets")]
    Widgets,
    /// Everything of the body but its widgets (`start`, `periodOverride`, ...).
    #[serde(rename = "dashboard-settings")]
    Settings,
}

impl DashboardAttribute {
    pub fn as_str(self) -> &'static str {
        match self {
            DashboardAttribute::Widgets => "dashboard-widgets",
            DashboardAttribute::Settings => "dashboard-settings",
        }
    }
}

/// Every dashboard attribute, for the test that names are the same in text and JSON.
pub fn attributes() -> &'static [DashboardAttribute] {
    DashboardAttribute::VARIANTS
}

/// A JSON value in canonical form: objects with sorted keys, whole numbers as integers. Lists
/// keep their order (a graph's lines are drawn, coloured and listed in it).
pub fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), canonical(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15 => Value::from(f as i64),
            _ => value.clone(),
        },
        other => other.clone(),
    }
}

/// The title a widget is matched by: its `properties.title`; an untitled widget by its type and
/// its place among the untitled ones. A title seen again gets ` (2)`, ` (3)`, ...
pub fn widgets_by_title(body: &Value) -> Vec<(String, Value)> {
    let widgets = body
        .get("widgets")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut out: Vec<(String, Value)> = Vec::new();
    let mut untitled = 0;
    for widget in widgets {
        let title = match widget.pointer("/properties/title").and_then(Value::as_str) {
            Some(t) => t.to_string(),
            None => {
                untitled += 1;
                let kind = widget.get("type").and_then(Value::as_str).unwrap_or("?");
                format!("(untitled {kind} widget {untitled})")
            }
        };
        let mut key = title.clone();
        let mut n = 1;
        while out.iter().any(|(k, _)| *k == key) {
            n += 1;
            key = format!("{title} ({n})");
        }
        out.push((key, canonical(&widget)));
    }
    out
}

/// The body without its widgets, canonical.
pub fn settings(body: &Value) -> Value {
    match body {
        Value::Object(map) => canonical(&Value::Object(
            map.iter()
                .filter(|(k, _)| *k != "widgets")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )),
        other => canonical(other),
    }
}

/// The attributes of `h` (live) that differ from `w` (desired): the settings, and the widgets
/// that differ (live and desired each hold those titles only, in the desired order and then the
/// live's).
pub fn compare(h: &DashboardSettings, w: &DashboardSettings) -> Vec<FieldChange> {
    let mut out = Vec::new();
    let have = widgets_by_title(&h.body);
    let want = widgets_by_title(&w.body);
    let find = |list: &[(String, Value)], title: &str| {
        list.iter()
            .find(|(t, _)| t == title)
            .map(|(_, v)| v.clone())
            .unwrap_or(Value::Null)
    };
    let mut titles: Vec<&String> = want.iter().map(|(t, _)| t).collect();
    titles.extend(
        have.iter()
            .map(|(t, _)| t)
            .filter(|t| !want.iter().any(|(w, _)| w == *t)),
    );
    let (mut live, mut desired) = (Map::new(), Map::new());
    for title in titles {
        let (a, b) = (find(&have, title), find(&want, title));
        if a != b {
            live.insert(title.clone(), a);
            desired.insert(title.clone(), b);
        }
    }
    if !live.is_empty() {
        out.push(FieldChange {
            attribute: Attribute::Dashboard(DashboardAttribute::Widgets),
            live: Some(Value::Object(live)),
            desired: Some(Value::Object(desired)),
            sensitive: false,
        });
    }
    let (a, b) = (settings(&h.body), settings(&w.body));
    if a != b {
        out.push(FieldChange {
            attribute: Attribute::Dashboard(DashboardAttribute::Settings),
            live: Some(a),
            desired: Some(b),
            sensitive: false,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn board(widgets: Value) -> DashboardSettings {
        DashboardSettings {
            body: json!({"start": "-P14D", "periodOverride": "inherit", "widgets": widgets}),
        }
    }

    fn graph(title: &str, stat: &str) -> Value {
        json!({"type": "metric", "x": 0, "y": 0, "width": 12, "height": 6,
               "properties": {"title": title, "region": "us-east-1", "stat": stat,
                              "metrics": [["SSMKeeper/Backup", "BackupDuration", "Region", "us-east-1"]]}})
    }

    #[test]
    fn reordered_keys_whitespace_and_float_forms_are_no_change() {
        let want = board(json!([graph("A", "Maximum"), graph("B", "Sum")]));
        let text = r#"{ "widgets": [
            {"properties": {"metrics": [["SSMKeeper/Backup","BackupDuration","Region","us-east-1"]],
              "stat": "Maximum", "region": "us-east-1", "title": "A"},
             "height": 6.0, "width": 12, "y": 0, "x": 0, "type": "metric"},
            {"type": "metric", "x": 0, "y": 0, "width": 12, "height": 6,
             "properties": {"title": "B", "region": "us-east-1", "stat": "Sum",
               "metrics": [["SSMKeeper/Backup", "BackupDuration", "Region", "us-east-1"]]}}],
            "periodOverride": "inherit", "start": "-P14D" }"#;
        let have = DashboardSettings {
            body: serde_json::from_str(text).unwrap(),
        };
        assert!(compare(&have, &want).is_empty());
    }

    #[test]
    fn a_changed_widget_is_shown_alone_by_its_title() {
        let want = board(json!([
            graph("A", "Maximum"),
            graph("B", "Sum"),
            graph("C", "Sum")
        ]));
        let have = board(json!([
            graph("B", "Sum"),
            graph("A", "Minimum"),
            graph("D", "Sum")
        ]));
        let fields = compare(&have, &want);
        assert_eq!(fields.len(), 1, "{fields:?}");
        assert_eq!(fields[0].attribute.as_str(), "dashboard-widgets");
        let live = fields[0].live.as_ref().unwrap();
        let desired = fields[0].desired.as_ref().unwrap();
        let titles: Vec<&String> = desired.as_object().unwrap().keys().collect();
        assert_eq!(titles, ["A", "C", "D"]);
        assert_eq!(live["A"]["properties"]["stat"], "Minimum");
        assert_eq!(desired["A"]["properties"]["stat"], "Maximum");
        assert_eq!(live["C"], Value::Null);
        assert_eq!(desired["D"], Value::Null);
        assert!(live.get("B").is_none());
    }

    #[test]
    fn settings_and_untitled_widgets_are_compared_too() {
        let text = json!({"type": "text", "x": 0, "y": 0, "width": 6, "height": 2,
                          "properties": {"markdown": "hello"}});
        let want = board(json!([text.clone(), graph("A", "Sum")]));
        let mut have = board(json!([text, graph("A", "Sum")]));
        assert!(compare(&have, &want).is_empty());
        have.body["start"] = json!("-PT3H");
        have.body["widgets"][0]["properties"]["markdown"] = json!("bye");
        let fields = compare(&have, &want);
        let names: Vec<&str> = fields.iter().map(|f| f.attribute.as_str()).collect();
        assert_eq!(names, ["dashboard-widgets", "dashboard-settings"]);
        assert!(fields[0].live.as_ref().unwrap()["(untitled text widget 1)"].is_object());
        assert_eq!(fields[1].live.as_ref().unwrap()["start"], "-PT3H");
    }

    #[test]
    fn a_repeated_title_is_told_apart_by_its_place() {
        let body = json!({"widgets": [graph("A", "Sum"), graph("A", "Maximum")]});
        let titles: Vec<String> = widgets_by_title(&body)
            .into_iter()
            .map(|(t, _)| t)
            .collect();
        assert_eq!(titles, ["A", "A (2)"]);
    }
}
