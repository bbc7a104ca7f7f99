//! The values people type that every entry point checks the same way, each with one limit:
//! a name (of a tenant, a connector, an application, an API token), a capacity in Mb/s, and
//! a count (a LoadMaster limit, base assets).

use crate::format::group_thousands;
use crate::AppError;

/// The largest pool capacity, in Mb/s (a million Tb/s): a pool of a million licenses of
/// 10 Gb/s each needs 10^10.
pub const MAX_CAPACITY_MBPS: i64 = 1_000_000_000_000;

/// The largest count (LoadMasters in a pool, base assets).
pub const MAX_COUNT: i64 = 1_000_000_000;

/// A name people give something: trimmed, 1 to `Name::MAX` characters, no control
/// characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    pub const MAX: usize = 100;

    /// `field` names the parameter in the refusal.
    pub fn parse(field: &str, value: &str) -> Result<Name, AppError> {
        let name = value.trim();
        if name.is_empty() || !is_plain_text(name, Name::MAX) {
            return Err(AppError::invalid(
                field,
                format!("must be 1 to {} characters of text", Name::MAX),
            ));
        }
        Ok(Name(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::ops::Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

/// Whether `value` is text of at most `max` characters with no control characters (no line
/// breaks, no tabs): the check every typed value shares before its own rules.
pub fn is_plain_text(value: &str, max: usize) -> bool {
    value.chars().count() <= max && !value.chars().any(char::is_control)
}

/// A pool capacity in Mb/s, 0 to `MAX_CAPACITY_MBPS`.
pub fn capacity(field: &str, mbps: i64) -> Result<i64, AppError> {
    whole_number_up_to(field, mbps, MAX_CAPACITY_MBPS, " of Mb/s")
}

/// A count, 0 to `MAX_COUNT`.
pub fn count(field: &str, n: i64) -> Result<i64, AppError> {
    whole_number_up_to(field, n, MAX_COUNT, "")
}

/// `value` when it is 0 to `max`; the refusal states the range (and `unit`, if any) in the
/// figures the limit is written with, so the message follows the limit.
fn whole_number_up_to(field: &str, value: i64, max: i64, unit: &str) -> Result<i64, AppError> {
    if (0..=max).contains(&value) {
        Ok(value)
    } else {
        Err(AppError::invalid(
            field,
            format!(
                "must be a whole number{unit} from 0 to {}",
                group_thousands(max)
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_text_of_one_limit() {
        assert_eq!(
            Name::parse("name", "  dc-east ").unwrap().as_str(),
            "dc-east"
        );
        assert!(Name::parse("name", &"n".repeat(Name::MAX)).is_ok());
        for bad in ["", "   ", "tab\there", &"n".repeat(Name::MAX + 1)] {
            match Name::parse("name", bad) {
                Err(AppError::InvalidParameter { parameter, .. }) => assert_eq!(parameter, "name"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn capacity_and_counts_have_one_limit_each() {
        assert_eq!(capacity("c", MAX_CAPACITY_MBPS).unwrap(), MAX_CAPACITY_MBPS);
        assert!(capacity("c", MAX_CAPACITY_MBPS + 1).is_err());
        assert!(capacity("c", -1).is_err());
        assert_eq!(count("n", MAX_COUNT).unwrap(), MAX_COUNT);
        assert!(count("n", MAX_COUNT + 1).is_err());
        assert!(count("n", -1).is_err());
    }

    #[test]
    fn range_refusals_state_the_limit_in_grouped_figures() {
        let reason = |refusal: Result<i64, AppError>| match refusal {
            Err(AppError::InvalidParameter { reason, .. }) => reason,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            reason(capacity("c", -1)),
            "must be a whole number of Mb/s from 0 to 1,000,000,000,000"
        );
        assert_eq!(
            reason(count("n", -1)),
            "must be a whole number from 0 to 1,000,000,000"
        );
    }
}
