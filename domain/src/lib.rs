//! Bandpool's domain vocabulary, shared by the server and the browser bundle.
//!
//! Nothing here touches a database or the network: the types that cross the wire
//! (licenses, pools, allocation series), the arithmetic the product is defined by
//! (allocation, daily and monthly peaks, usage levels), the chart geometry both the
//! server renderer and the hydrated overlay draw from, the CSV rules, and the one
//! error type with its stable codes.

/// `TryFrom<String>` for an enum stored as its text key (`from_key`): a row's column read back
/// through the enum's one parser. Server-only: the browser never reads rows.
macro_rules! stored_as_key {
    ($type:ty, $what:literal) => {
        #[cfg(feature = "ssr")]
        impl TryFrom<String> for $type {
            type Error = crate::AppError;
            fn try_from(key: String) -> Result<$type, crate::AppError> {
                <$type>::from_key(&key).ok_or_else(|| {
                    crate::AppError::internal(format!(concat!("unknown ", $what, " {:?}"), key))
                })
            }
        }
    };
}

pub mod accounts;
pub mod activation;
pub mod allocation;
pub mod auth;
pub mod billing;
pub mod chart;
pub mod connector;
pub mod csv_rules;
pub mod error;
pub mod events;
pub mod format;
pub mod ids;
pub mod license;
pub mod lifecycle;
pub mod metered;
pub mod metered_report;
pub mod metered_reporting;
pub mod names;
pub mod offline;
pub mod pool;

pub use error::AppError;

/// A yes/no stored as 0 or 1 (the portable schema has no boolean type), read into a `bool`
/// field of a row type: `#[sqlx(try_from = "bandpool_domain::Flag")]`.
#[cfg(feature = "ssr")]
pub struct Flag(i64);

#[cfg(feature = "ssr")]
impl sqlx::Type<sqlx::Any> for Flag {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <i64 as sqlx::Type<sqlx::Any>>::type_info()
    }
    fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
        <i64 as sqlx::Type<sqlx::Any>>::compatible(ty)
    }
}

#[cfg(feature = "ssr")]
impl<'r> sqlx::Decode<'r, sqlx::Any> for Flag {
    fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Flag, sqlx::error::BoxDynError> {
        Ok(Flag(<i64 as sqlx::Decode<'r, sqlx::Any>>::decode(value)?))
    }
}

#[cfg(feature = "ssr")]
impl From<Flag> for bool {
    fn from(flag: Flag) -> bool {
        flag.0 != 0
    }
}
