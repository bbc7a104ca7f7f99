//! What the pages and the REST API read, named by subject. Reads need no use case of their
//! own (the caller was authorized, every query is scoped by its tenant id), so they are the
//! data layer's queries, listed here so the entry points depend on this crate alone and the
//! surface they may read is in one place.

pub mod accounts {
    pub use bandpool_store::accounts::{
        list_tenants, open_invitation, password_reset_is_open, team, tenants_of, user_by_email,
    };
}
pub mod allocation {
    pub use bandpool_store::allocation::{daily, monthly};
}
pub mod billing {
    pub use bandpool_store::billing::{
        all_applications, applications, entitlement, virtual_services,
    };
}
pub mod connectors {
    pub use bandpool_store::connectors::list;
}
pub mod devices {
    pub use bandpool_store::devices::list;
}
pub mod events {
    pub use bandpool_store::events::list;
}
pub mod licenses {
    pub use bandpool_store::licenses::{history, list};
}
pub mod notifications {
    pub use bandpool_store::notifications::{channels, deliveries};
}
pub mod outbox {
    pub use bandpool_store::outbox::deliveries;
}
pub mod pool {
    pub use bandpool_store::pool::summary;
}
pub mod tokens {
    pub use bandpool_store::tokens::list;
}
