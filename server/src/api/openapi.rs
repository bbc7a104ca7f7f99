//! The REST API's OpenAPI 3.1 document, at /api/v1/openapi.json. utoipa generates it from
//! the handlers' `#[utoipa::path]` attributes and the types they take and answer, and the
//! router is built from the same `routes!` list (`api::mounted`), so a route cannot be
//! served without being described. What every operation shares is added here once: the
//! error answers, and who may call it (the connector API takes its own credential).

use super::PREFIX;
use axum::http::header;
use axum::response::IntoResponse;
use bandpool_domain::error::ErrorBody;
use bandpool_domain::license::{Column, LicenseStatus, SortOrder};
use bandpool_domain::lifecycle::LicensesSort;
use std::sync::OnceLock;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, ObjectBuilder, OpenApi as Document, Ref, Response, ResponseBuilder,
};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Bandpool API",
        version = "1",
        description = "Pooled LoadMaster licensing: the tenant's pool, its allocation history, its licenses (Kill License, Sync licenses), connectors and LoadMasters, Usage and billing, the event log; and the connector API agents call under /api/v1/connector/."
    ),
    // The query parameters' types: utoipa gathers the bodies' and answers' schemas by
    // itself, not those of parameters described inline.
    components(schemas(ErrorBody, Column, SortOrder, LicenseStatus, LicensesSort)),
    security(("bearer" = []), ("session" = [])),
    modifiers(&SecuritySchemes)
)]
struct Base;

/// The document's starting point: its title and description, and the security schemes.
pub(super) fn base() -> Document {
    Base::openapi()
}

/// The finished document: the routes' paths under /api/v1, each operation with the shared
/// answers. Built once, from the router's own list.
pub fn spec() -> &'static Document {
    static DOCUMENT: OnceLock<Document> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let (_, mut doc) = super::mounted().split_for_parts();
        doc.paths.paths = std::mem::take(&mut doc.paths.paths)
            .into_iter()
            .map(|(path, item)| (format!("{PREFIX}{path}"), item))
            .collect();
        shared_answers(&mut doc);
        doc
    })
}

/// This document.
#[utoipa::path(
    get, path = "/openapi.json", tag = "meta", operation_id = "getOpenApi",
    security(()),
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json"))
)]
pub async fn document() -> axum::response::Response {
    static JSON: OnceLock<String> = OnceLock::new();
    let json = JSON
        .get_or_init(|| serde_json::to_string(spec()).expect("the OpenAPI document serializes"));
    ([(header::CONTENT_TYPE, "application/json")], json.as_str()).into_response()
}

/// Who may call: the three ways in, named by the operations' `security`.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API token (bp_...) made on the API tokens page by an Owner or Admin; scope read or read_write"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "bandpool_session",
                "A signed-in portal session",
            ))),
        );
        components.add_security_scheme(
            "connector",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "Connector <credential>: a connector agent's own credential (bpc_...), from /api/v1/connector/register; valid on /api/v1/connector/ only",
            ))),
        );
    }
}

/// The error answers any operation may give, by status.
const ERRORS: &[(&str, &str)] = &[
    ("400", "A parameter is invalid; the message names it (code invalid_parameter, with `parameter`: the query parameter, body field such as `checks[2].serial_no`, or `path`). Text holding the NUL character is refused this way wherever it is sent."),
    ("401", "Not signed in, or the bearer token is unknown, expired or revoked (code unauthenticated or invalid_token)."),
    ("403", "The role or the token's scope does not allow this (code forbidden)."),
    ("404", "Not found (code not_found; `what` names it)."),
    ("405", "The endpoint does not take this method (code method_not_allowed)."),
    ("408", "The request body did not arrive within the portal's body timeout (code request_timeout)."),
    ("413", "The request body is larger than the portal takes (code payload_too_large; `reason` holds the limit in bytes)."),
    ("415", "The body is not JSON (code unsupported_media_type)."),
    ("429", "Too many requests with this token; see Retry-After (code rate_limited)."),
    ("500", "Internal error; answered with a request id only."),
    ("503", "The database is unavailable."),
];

/// What the connector API answers instead, or besides.
const CONNECTOR_ERRORS: &[(&str, &str)] = &[
    ("401", "The connector credential is unknown or revoked (code invalid_connector_credential)."),
    ("422", "The idempotency key was already used by this connector for a different message of the same kind (code idempotency_key_reused; `what` names the kind). A key is scoped by connector and kind of message and names one request: the same request again is answered as the first was, another request needs a new key."),
];

/// Adds the error answers to every operation (keeping any the operation states itself), the
/// connector API's credential and refusals, and the event log's list of actions.
fn shared_answers(doc: &mut Document) {
    let connector = format!("{PREFIX}/connector/");
    let register = format!("{PREFIX}/connector/register");
    for (path, item) in doc.paths.paths.iter_mut() {
        let on_connector_api = path.starts_with(&connector);
        for operation in operations(item) {
            let mut errors: Vec<(&str, &str)> = ERRORS.to_vec();
            if on_connector_api {
                errors.retain(|(status, _)| *status != "401" && *status != "403");
                errors.extend_from_slice(CONNECTOR_ERRORS);
                if *path == register {
                    errors.retain(|(status, _)| *status != "401");
                    errors.push(("401", "The registration token is unknown, used or expired (code invalid_registration_token)."));
                    operation.security = Some(Vec::new());
                } else {
                    operation.security =
                        Some(vec![utoipa::openapi::security::SecurityRequirement::new(
                            "connector",
                            Vec::<String>::new(),
                        )]);
                }
            }
            if operation.operation_id.as_deref() == Some("getOpenApi") {
                continue;
            }
            for (status, description) in errors {
                operation
                    .responses
                    .responses
                    .entry(status.to_string())
                    .or_insert_with(|| error(description).into());
            }
        }
    }
    let actions = serde_json::json!(bandpool_domain::events::ACTIONS);
    for path in ["/events", "/events/export.csv"] {
        let Some(item) = doc.paths.paths.get_mut(&format!("{PREFIX}{path}")) else {
            continue;
        };
        for operation in operations(item) {
            for parameter in operation.parameters.iter_mut().flatten() {
                if parameter.name == "action" {
                    parameter.schema = Some(
                        ObjectBuilder::new()
                            .schema_type(utoipa::openapi::schema::Type::String)
                            .enum_values(actions.as_array().cloned())
                            .into(),
                    );
                }
            }
        }
    }
}

/// An error answer: `ErrorBody` as JSON.
fn error(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.patch.as_mut(),
    ]
    .into_iter()
    .flatten()
}

#[cfg(test)]
mod tests {
    use super::spec;
    use crate::api::routes;

    #[test]
    fn the_document_describes_every_route_and_no_other() {
        let doc = serde_json::to_value(spec()).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        let routes = routes();
        for (method, path) in &routes {
            let operation = &paths[path.as_str()][*method];
            assert!(operation.is_object(), "{method} {path} is not documented");
            let answers = operation["responses"].as_object().unwrap();
            assert!(
                answers.keys().any(|status| status.starts_with('2')),
                "{method} {path} has no success answer"
            );
            assert!(
                path.ends_with("/openapi.json") || operation["responses"]["500"].is_object(),
                "{method} {path} lacks the shared error answers"
            );
        }
        let documented: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
        assert_eq!(documented, routes.len());
    }

    #[test]
    fn every_referenced_schema_is_defined() {
        let text = serde_json::to_string(spec()).unwrap();
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = &reference[..reference.find('"').unwrap()];
            assert!(
                schemas.contains_key(name),
                "{name} is referenced, not defined"
            );
        }
    }
}
