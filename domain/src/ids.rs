//! Ids in URLs and request bodies are UUIDs. Every entry point checks them with `Id::parse`,
//! so a malformed id is the same 400 `invalid_parameter` everywhere, before any query runs.

use crate::AppError;

/// An id known to have a UUID's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Id(String);

impl Id {
    /// `parameter` names the field in the refusal; `what` says what the id should name
    /// ("a license", "a command").
    pub fn parse(parameter: &str, what: &str, value: &str) -> Result<Id, AppError> {
        if uuid_shaped(value) {
            Ok(Id(value.to_string()))
        } else {
            Err(AppError::invalid(
                parameter,
                format!("is not the id of {what} (a UUID)"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Id {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

fn uuid_shaped(id: &str) -> bool {
    id.len() == 36
        && id.chars().enumerate().all(|(i, c)| {
            matches!(i, 8 | 13 | 18 | 23) == (c == '-') && (c == '-' || c.is_ascii_hexdigit())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_pass_and_anything_else_is_a_named_refusal() {
        for good in [
            "0b7c3a52-6f1e-4b8a-9d2c-3e4f5a6b7c8d",
            "0B7C3A52-6F1E-4B8A-9D2C-3E4F5A6B7C8D",
        ] {
            assert_eq!(Id::parse("id", "a license", good).unwrap().as_str(), good);
        }
        for bad in [
            "",
            "42",
            "0b7c3a526f1e4b8a9d2c3e4f5a6b7c8d",
            "0b7c3a52-6f1e-4b8a-9d2c-3e4f5a6b7c8g",
            "0b7c3a52-6f1e-4b8a-9d2c-3e4f5a6b7c8d ",
            "0b7c3a52_6f1e-4b8a-9d2c-3e4f5a6b7c8d",
        ] {
            match Id::parse("license_id", "a license", bad) {
                Err(AppError::InvalidParameter { parameter, reason }) => {
                    assert_eq!(parameter, "license_id");
                    assert!(reason.contains("a license"), "{reason}");
                }
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }
}
