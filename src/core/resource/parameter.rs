//! The SSM parameter as the stack manages it (the backup metadata): its type and value, never
//! the value of a SecureString. Pure.

use serde::{Deserialize, Serialize};

use super::{Attribute, FieldChange, json};

/// The type of an SSM parameter, as SSM names it (`String`, `StringList`, `SecureString`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::VariantArray)]
pub enum ParameterKind {
    String,
    StringList,
    SecureString,
}

impl ParameterKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            ParameterKind::String => "String",
            ParameterKind::StringList => "StringList",
            ParameterKind::SecureString => "SecureString",
        }
    }

    /// The kind SSM names `name`, if any.
    pub fn from_name(name: &str) -> Option<ParameterKind> {
        use strum::VariantArray;
        ParameterKind::VARIANTS
            .iter()
            .copied()
            .find(|k| k.as_str() == name)
    }

    pub fn is_secure(self) -> bool {
        self == ParameterKind::SecureString
    }
}

/// An SSM parameter. The value of a SecureString is never read while planning, so it is
/// `None` there: such a value cannot leak into a plan, a saved plan or a log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParameterState {
    pub kind: ParameterKind,
    pub value: Option<String>,
}

impl ParameterState {
    pub fn string(value: impl Into<String>) -> Self {
        ParameterState {
            kind: ParameterKind::String,
            value: Some(value.into()),
        }
    }
}

/// A parameter attribute the stack manages.
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
#[serde(rename_all = "kebab-case")]
pub enum ParameterAttribute {
    Type,
    Value,
}

impl ParameterAttribute {
    pub fn as_str(self) -> &'static str {
        match self {
            ParameterAttribute::Type => "type",
            ParameterAttribute::Value => "value",
        }
    }
}

/// The type, then the value. A value is sensitive when either side is a SecureString: then
/// the change carries no values, and a change of type always changes the value too (the
/// SecureString's value was never read, so it cannot be compared).
pub fn compare(h: &ParameterState, w: &ParameterState) -> Vec<FieldChange> {
    let ParameterState { kind, value } = h;
    let sensitive = kind.is_secure() || w.kind.is_secure();
    let mut out = Vec::new();
    if *kind != w.kind {
        out.push(FieldChange {
            attribute: Attribute::Parameter(ParameterAttribute::Type),
            live: json(&kind.as_str()),
            desired: json(&w.kind.as_str()),
            sensitive: false,
        });
    }
    if *value != w.value || sensitive && *kind != w.kind {
        out.push(FieldChange {
            attribute: Attribute::Parameter(ParameterAttribute::Value),
            live: if sensitive { None } else { json(value) },
            desired: if sensitive { None } else { json(&w.value) },
            sensitive,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_read_by_their_ssm_names() {
        use strum::VariantArray;
        for kind in ParameterKind::VARIANTS {
            assert_eq!(ParameterKind::from_name(kind.as_str()), Some(*kind));
        }
        assert_eq!(ParameterKind::from_name("securestring"), None);
    }
}
