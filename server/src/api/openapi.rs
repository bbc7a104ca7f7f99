//! The OpenAPI 3.1 document of the REST API, at /api/v1/openapi.json. A test checks that
//! it describes every route in `api::ROUTES` and nothing else.

use axum::Json;
use serde_json::{json, Value};

pub async fn document() -> Json<Value> {
    Json(spec())
}

fn error_responses() -> Value {
    json!({
        "400": { "description": "A parameter is invalid; the message names it.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
        "401": { "description": "Not signed in, or the bearer token is unknown, expired or revoked (code unauthenticated or invalid_token).", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
        "403": { "description": "The role or the token's scope does not allow this (code forbidden).", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
        "429": { "description": "Too many requests with this token; see Retry-After (code rate_limited).", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
        "404": { "description": "Not found.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
        "500": { "description": "Internal error; answered with a request id only.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
        "503": { "description": "The database is unavailable.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
    })
}

fn ok(schema: &str, extra: Value) -> Value {
    let mut responses = error_responses();
    responses["200"] = json!({ "description": "OK", "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } });
    let mut op = json!({ "responses": responses });
    if let Value::Object(map) = extra {
        for (k, v) in map {
            op[k] = v;
        }
    }
    op
}

fn query(name: &str, description: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "query", "required": false, "description": description, "schema": schema })
}

pub fn spec() -> Value {
    let event_params = json!([
        query(
            "actor",
            "Part of the actor's name (case-insensitive)",
            json!({ "type": "string" })
        ),
        query(
            "action",
            "One action",
            json!({ "type": "string", "enum": bandpool_domain::events::ACTIONS })
        ),
        query(
            "target",
            "Part of the target's name (case-insensitive)",
            json!({ "type": "string" })
        ),
        query(
            "from",
            "First day, YYYY-MM-DD (UTC)",
            json!({ "type": "string", "format": "date" })
        ),
        query(
            "to",
            "Last day, YYYY-MM-DD (UTC)",
            json!({ "type": "string", "format": "date" })
        ),
        query("page", "From 1", json!({ "type": "integer", "minimum": 1 })),
        query(
            "per_page",
            "1 to 500, default 50",
            json!({ "type": "integer", "minimum": 1, "maximum": 500 })
        )
    ]);
    let statuses = json!(["active", "grace_period", "expired", "killed"]);
    let columns = json!([
        "device_name",
        "ip_address",
        "serial_no",
        "license_name",
        "status",
        "bandwidth",
        "ssl_tps",
        "grace_period",
        "activation_date",
        "recovery_date"
    ]);
    let mut export = json!({
        "summary": "Export every license of the pool as Pool_usage_YYYYMMDD.csv (all ten columns; Bandwidth in Mb/s)",
        "operationId": "exportLicenses",
        "responses": error_responses()
    });
    export["responses"]["200"] = json!({ "description": "CSV file", "content": { "text/csv": { "schema": { "type": "string" } } } });
    json!({
        "security": [ { "bearer": [] }, { "session": [] } ],
        "openapi": "3.1.0",
        "info": { "title": "Bandpool API", "version": "1", "description": "Pooled LoadMaster licensing: the tenant's pool, its allocation history and its licenses." },
        "paths": {
            "/api/v1/pool": { "get": ok("PoolSummary", json!({ "summary": "Current allocation vs maximum capacity, per license type", "operationId": "getPool" })) },
            "/api/v1/pool/allocation/monthly": { "get": ok("MonthlyAllocation", json!({ "summary": "Peak allocation of each of the last twelve months, with the day it happened", "operationId": "getMonthlyAllocation" })) },
            "/api/v1/pool/allocation/daily": { "get": ok("DailyAllocation", json!({
                "summary": "Peak allocation of each day of a month",
                "operationId": "getDailyAllocation",
                "parameters": [ { "name": "month", "in": "query", "required": true, "description": "YYYY-MM", "schema": { "type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$" } } ]
            })) },
            "/api/v1/licenses": { "get": ok("LicensePage", json!({
                "summary": "One page of the pool's licenses, filtered, searched and sorted",
                "operationId": "listLicenses",
                "parameters": [
                    query("status", "Only licenses in this status", json!({ "type": "string", "enum": statuses })),
                    query("q", "Search device name, IP address, serial no. and license name (case-insensitive)", json!({ "type": "string", "maxLength": 200 })),
                    query("sort", "Column to sort by (default device_name)", json!({ "type": "string", "enum": columns })),
                    query("order", "asc (default) or desc", json!({ "type": "string", "enum": ["asc", "desc"] })),
                    query("page", "1-based page (default 1)", json!({ "type": "integer", "minimum": 1 })),
                    query("per_page", "Licenses per page (default 10)", json!({ "type": "integer", "minimum": 1, "maximum": 500 }))
                ]
            })) },
            "/api/v1/licenses/{id}/history": { "get": ok("LicenseHistory", json!({
                "summary": "A license's history records, oldest first",
                "operationId": "getLicenseHistory",
                "parameters": [ { "name": "id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" } } ]
            })) },
            "/api/v1/licenses/export.csv": { "get": export },
            "/api/v1/events": { "get": ok("EventPage", json!({
                "summary": "The event log, newest first (never editable)",
                "operationId": "listEvents",
                "parameters": event_params.clone()
            })) },
            "/api/v1/events/export.csv": { "get": {
                "summary": "The event log as CSV (Event_log_YYYYMMDD.csv), with the same filters",
                "operationId": "exportEvents",
                "parameters": event_params,
                "responses": { "200": { "description": "CSV", "content": { "text/csv": {} } } }
            } },
            "/api/v1/openapi.json": { "get": { "summary": "This document", "operationId": "getOpenApi", "responses": { "200": { "description": "OpenAPI document", "content": { "application/json": {} } } } } }
        },
        "components": {
          "securitySchemes": {
            "bearer": { "type": "http", "scheme": "bearer", "description": "An API token (bp_...) made on the API tokens page by an Owner or Admin; scope read or read_write" },
            "session": { "type": "apiKey", "in": "cookie", "name": "bandpool_session", "description": "A signed-in portal session" }
          },
          "schemas": {
            "Error": { "type": "object", "required": ["code", "message"], "properties": {
                "code": { "type": "string", "description": "Stable machine code, e.g. invalid_parameter, not_found, internal_error" },
                "message": { "type": "string" },
                "parameter": { "type": "string", "description": "invalid_parameter: the parameter at fault" },
                "reason": { "type": "string", "description": "invalid_parameter: what is expected of it" },
                "what": { "type": "string", "description": "not_found: what was not found" },
                "request_id": { "type": "string", "description": "Present on internal errors: quote it to the operator" } } },
            "Event": { "type": "object", "properties": {
                "id": { "type": "string" }, "at_ms": { "type": "integer", "description": "Milliseconds since the Unix epoch, UTC" },
                "actor": { "type": "string" }, "action": { "type": "string" }, "target": { "type": "string" },
                "request_id": { "type": "string" }, "detail": { "type": "string" } } },
            "EventPage": { "type": "object", "properties": {
                "events": { "type": "array", "items": { "$ref": "#/components/schemas/Event" } },
                "total": { "type": "integer" }, "page": { "type": "integer" }, "per_page": { "type": "integer" } } },
            "TypeSection": { "type": "object", "properties": {
                "license_type": { "type": "string" }, "allocated_mbps": { "type": "integer" },
                "active_licenses": { "type": "integer" }, "grace_period_licenses": { "type": "integer" } } },
            "PoolSummary": { "type": "object", "properties": {
                "tenant_name": { "type": "string" }, "max_capacity_mbps": { "type": "integer" }, "loadmaster_limit": { "type": "integer" },
                "allocated_mbps": { "type": "integer" }, "available_mbps": { "type": "integer", "description": "Negative when over-allocated" },
                "loadmasters": { "type": "integer" }, "sections": { "type": "array", "items": { "$ref": "#/components/schemas/TypeSection" } },
                "last_refreshed_at": { "type": ["integer", "null"], "description": "Unix seconds UTC" } } },
            "MonthPeak": { "type": "object", "properties": {
                "month": { "type": "string" }, "peak_mbps": { "type": "integer" }, "peak_day": { "type": ["string", "null"] },
                "level": { "type": "string", "enum": ["normal", "warning", "over"] } } },
            "DayPeak": { "type": "object", "properties": {
                "day": { "type": "string" }, "peak_mbps": { "type": "integer" }, "level": { "type": "string", "enum": ["normal", "warning", "over"] } } },
            "MonthlyAllocation": { "type": "object", "properties": {
                "capacity_mbps": { "type": "integer" }, "has_history": { "type": "boolean" },
                "months": { "type": "array", "items": { "$ref": "#/components/schemas/MonthPeak" } } } },
            "DailyAllocation": { "type": "object", "properties": {
                "capacity_mbps": { "type": "integer" }, "month": { "type": "string" }, "has_history": { "type": "boolean" },
                "days": { "type": "array", "items": { "$ref": "#/components/schemas/DayPeak" } } } },
            "License": { "type": "object", "properties": {
                "id": { "type": "string", "format": "uuid" }, "device_name": { "type": ["string", "null"] }, "ip_address": { "type": ["string", "null"] },
                "serial_no": { "type": "string" }, "license_name": { "type": "string" }, "status": { "type": "string", "enum": statuses },
                "bandwidth_mbps": { "type": "integer" }, "ssl_tps": { "type": "integer" }, "grace_period_end": { "type": ["integer", "null"] },
                "activated_at": { "type": "integer" }, "recovered_at": { "type": ["integer", "null"] },
                "issued_through_portal": { "type": "boolean" }, "connector_id": { "type": ["string", "null"] } } },
            "StatusCounts": { "type": "object", "properties": {
                "active": { "type": "integer" }, "grace_period": { "type": "integer" }, "expired": { "type": "integer" }, "killed": { "type": "integer" } } },
            "LicensePage": { "type": "object", "properties": {
                "licenses": { "type": "array", "items": { "$ref": "#/components/schemas/License" } },
                "total": { "type": "integer" }, "page": { "type": "integer" }, "per_page": { "type": "integer" }, "pages": { "type": "integer" },
                "status_counts": { "$ref": "#/components/schemas/StatusCounts" } } },
            "HistoryEntry": { "type": "object", "properties": {
                "at": { "type": "integer" }, "from_status": { "type": ["string", "null"] }, "to_status": { "type": "string" }, "note": { "type": "string" } } },
            "LicenseHistory": { "type": "object", "properties": {
                "license": { "$ref": "#/components/schemas/License" },
                "entries": { "type": "array", "items": { "$ref": "#/components/schemas/HistoryEntry" } } } }
        } }
    })
}

#[cfg(test)]
mod tests {
    use super::spec;
    use crate::api::ROUTES;

    #[test]
    fn the_document_describes_every_route_and_no_other() {
        let doc = spec();
        let paths = doc["paths"].as_object().unwrap();
        for (method, path) in ROUTES {
            assert!(
                paths.get(*path).and_then(|p| p.get(*method)).is_some(),
                "{method} {path} is not documented"
            );
        }
        let documented: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
        assert_eq!(
            documented,
            ROUTES.len(),
            "the document describes routes the API does not have"
        );
    }
}
