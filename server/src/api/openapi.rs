//! The OpenAPI 3.1 document of the REST API, at /api/v1/openapi.json. A test checks that
//! it describes every route in `api::endpoints` (the list the router mounts) and nothing else.

use axum::Json;
use serde_json::{json, Value};

pub async fn document() -> Json<Value> {
    Json(spec())
}

fn error_responses() -> Value {
    json!({
        "400": { "description": "A parameter is invalid; the message names it (code invalid_parameter, with `parameter`: the query parameter, body field such as `checks[2].serial_no`, or `path`). Text holding the NUL character is refused this way wherever it is sent.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
        "405": { "description": "The endpoint does not take this method (code method_not_allowed).", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
        "408": { "description": "The request body did not arrive within the portal's body timeout (code request_timeout).", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
        "413": { "description": "The request body is larger than the portal takes (code payload_too_large; `reason` holds the limit in bytes).", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
        "415": { "description": "The body is not JSON (code unsupported_media_type).", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
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

/// An operation with a JSON request body described by `body` (a schema).
fn with_body(schema: &str, status: &str, summary: &str, id: &str, body: Value) -> Value {
    let mut op = ok(schema, json!({ "summary": summary, "operationId": id }));
    if status != "200" {
        let answer = op["responses"]["200"].take();
        op["responses"].as_object_mut().map(|r| r.remove("200"));
        op["responses"][status] = answer;
    }
    op["requestBody"] =
        json!({ "required": true, "content": { "application/json": { "schema": body } } });
    op
}

/// A connector API operation: its own credential, refusals with their codes.
fn connector_op(schema: &str, status: &str, summary: &str, id: &str, body: Option<Value>) -> Value {
    let mut op = match body {
        Some(body) => with_body(schema, status, summary, id, body),
        None => ok(schema, json!({ "summary": summary, "operationId": id })),
    };
    op["security"] = json!([ { "connector": [] } ]);
    op["responses"]["401"] = json!({ "description": "The connector credential is unknown or revoked (invalid_connector_credential)", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } });
    op["responses"]["409"] = json!({ "description": "Refused: instance_limit_reached, pool_capacity_exceeded, no_license_for_sku, device_ip_exists (403: appliance_blocked, tenant_unlicensed, tenant_expired; 400: invalid_license_type)", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } });
    op["responses"]["422"] = json!({ "description": "The idempotency key was already used by this connector for a different message of the same kind (code idempotency_key_reused; `what` names the kind). A key is scoped by connector and kind of message and names one request: the same request again is answered as the first was, another request needs a new key.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } });
    op
}

fn id_param() -> Value {
    json!([ { "name": "id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" } } ])
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
    let mut doc = json!({
        "security": [ { "bearer": [] }, { "session": [] } ],
        "openapi": "3.1.0",
        "info": { "title": "Bandpool API", "version": "1", "description": "Pooled LoadMaster licensing: the tenant's pool, its allocation history, its licenses (Kill License, Sync licenses), connectors and LoadMasters; and the connector API agents call under /api/v1/connector/." },
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
            "/api/v1/licenses/{id}/kill": { "post": ({
                let mut op = with_body("KillOutcome", "200", "Kill License: recover the license (confirm must be KILL); the kill is relayed to the LoadMaster through its connector; killing twice is harmless (409 license_not_killable when not issued through the portal or expired)", "killLicense",
                    json!({ "type": "object", "required": ["confirm"], "properties": { "confirm": { "type": "string", "const": "KILL" } } }));
                op["parameters"] = id_param();
                op
            }) },
            "/api/v1/licenses/sync": { "post": ({
                let mut op = ok("SyncRun", json!({ "summary": "Sync licenses: ask every connected connector for its LoadMasters (joins a running sync); 202 while it runs", "operationId": "syncLicenses" }));
                op["responses"]["202"] = op["responses"]["200"].clone();
                op
            }) },
            "/api/v1/licenses/sync/{id}": { "get": ok("SyncRun", json!({ "summary": "A sync run: connectors asked and answered, differences found", "operationId": "getSyncRun", "parameters": id_param() })) },
            "/api/v1/connectors": {
                "get": ok("ConnectorList", json!({ "summary": "The tenant's connectors and their health", "operationId": "listConnectors" })),
                "post": with_body("CreatedConnector", "201", "Add a connector; its one-time registration token is in the answer (shown once)", "createConnector",
                    json!({ "type": "object", "required": ["name"], "properties": { "name": { "type": "string", "maxLength": 80 } } }))
            },
            "/api/v1/devices": { "get": ok("DeviceList", json!({ "summary": "The LoadMaster device inventory, by name", "operationId": "listDevices",
                "parameters": [ query("page", "From 1", json!({ "type": "integer", "minimum": 1 })), query("per_page", "1 to 500, default 100", json!({ "type": "integer", "minimum": 1, "maximum": 500 })) ] })) },
            "/api/v1/devices/{id}": { "delete": ok("Device", json!({ "summary": "Remove a LoadMaster from the inventory (409 device_has_pooled_license while it holds a pooled license)", "operationId": "removeDevice", "parameters": id_param() })) },
            "/api/v1/devices/{id}/block": { "post": ok("Device", json!({ "summary": "Block a LoadMaster from taking licenses from the pool", "operationId": "blockDevice", "parameters": id_param() })) },
            "/api/v1/devices/{id}/unblock": { "post": ok("Device", json!({ "summary": "Unblock a LoadMaster", "operationId": "unblockDevice", "parameters": id_param() })) },
            "/api/v1/connector/register": { "post": ({
                let mut op = with_body("RegisterResponse", "201", "A connector agent exchanges its one-time registration token for its credential (401 invalid_registration_token)", "registerConnector",
                    json!({ "type": "object", "required": ["registration_token", "version"], "properties": { "registration_token": { "type": "string" }, "version": { "type": "string" }, "address": { "type": ["string", "null"], "format": "uri" } } }));
                op["security"] = json!([]);
                op
            }) },
            "/api/v1/connector/heartbeat": { "post": connector_op("HeartbeatResponse", "200", "The connector is alive (and where its LoadMasters reach it)", "connectorHeartbeat",
                Some(json!({ "type": "object", "required": ["version"], "properties": { "version": { "type": "string" }, "address": { "type": ["string", "null"] } } }))) },
            "/api/v1/connector/checks": { "post": connector_op("CheckReportResponse", "200", "Periodic license checks of many LoadMasters (at most 1,000); a replayed report is answered, not counted again", "connectorChecks",
                Some(json!({ "type": "object", "required": ["idempotency_key", "checks"], "properties": { "idempotency_key": { "type": "string" }, "checks": { "type": "array", "maxItems": 1000, "items": { "type": "object", "properties": { "license_id": { "type": "string" }, "serial_no": { "type": "string" }, "checked_at": { "type": "integer" } } } } } }))) },
            "/api/v1/connector/activations": { "post": connector_op("Activation", "201", "A LoadMaster asks for a license of a type from the pool (200 for a replay or a license it already holds)", "connectorActivate",
                Some(json!({ "type": "object", "required": ["idempotency_key", "serial_no", "device_name", "ip_address", "sku", "license_type_id"], "properties": { "idempotency_key": { "type": "string" }, "serial_no": { "type": "string" }, "device_name": { "type": "string" }, "ip_address": { "type": "string" }, "sku": { "type": "string" }, "license_type_id": { "type": "string" } } }))) },
            "/api/v1/connector/deactivations": { "post": connector_op("Deactivation", "200", "A LoadMaster gives its license back", "connectorDeactivate",
                Some(json!({ "type": "object", "required": ["idempotency_key", "license_id", "serial_no"], "properties": { "idempotency_key": { "type": "string" }, "license_id": { "type": "string" }, "serial_no": { "type": "string" } } }))) },
            "/api/v1/connector/commands": { "get": ({
                let mut op = connector_op("CommandBatch", "200", "The command channel (long-poll): kill and sync commands not yet acknowledged; waits up to `wait` seconds for one", "connectorCommands", None);
                op["parameters"] = json!([ query("wait", "Seconds to wait for a command, 0 to 30", json!({ "type": "integer", "minimum": 0, "maximum": 30 })) ]);
                op
            }) },
            "/api/v1/connector/commands/{id}/ack": { "post": ({
                let mut op = connector_op("CommandBatch", "204", "Acknowledge a command: done, failed, or a sync's report; twice is harmless", "connectorAck",
                    Some(json!({ "type": "object", "required": ["result"], "properties": { "result": { "type": "string", "enum": ["done", "failed", "sync"] }, "reason": { "type": "string" }, "appliances": { "type": "array" } } })));
                op["responses"]["204"] = json!({ "description": "Acknowledged" });
                op["parameters"] = id_param();
                op
            }) },
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
            "session": { "type": "apiKey", "in": "cookie", "name": "bandpool_session", "description": "A signed-in portal session" },
            "connector": { "type": "apiKey", "in": "header", "name": "Authorization", "description": "Connector <credential>: a connector agent's own credential (bpc_...), from /api/v1/connector/register; valid on /api/v1/connector/ only" }
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
            "KillOutcome": { "type": "object", "properties": {
                "license": { "$ref": "#/components/schemas/License" }, "already_killed": { "type": "boolean" },
                "relayed_to": { "type": ["string", "null"], "description": "The connector the kill was sent through" } } },
            "SyncRun": { "type": "object", "properties": {
                "id": { "type": "string" }, "started_at": { "type": "integer" }, "deadline_at": { "type": "integer" }, "finished_at": { "type": ["integer", "null"] },
                "connectors": { "type": "array", "items": { "type": "object", "properties": { "connector_id": { "type": "string" }, "name": { "type": "string" }, "answered_at": { "type": ["integer", "null"] } } } },
                "drift": { "type": "array", "items": { "type": "object", "properties": {
                    "kind": { "type": "string", "enum": ["kill_resent", "unknown_here", "status_mismatch"] }, "connector": { "type": ["string", "null"] },
                    "license_id": { "type": ["string", "null"] }, "serial_no": { "type": ["string", "null"] }, "detail": { "type": "string" } } } } } },
            "Connector": { "type": "object", "properties": {
                "id": { "type": "string" }, "name": { "type": "string" }, "status": { "type": "string", "enum": ["pending", "up", "down"] },
                "address": { "type": ["string", "null"] }, "version": { "type": ["string", "null"] }, "last_seen_at": { "type": ["integer", "null"] },
                "down_since": { "type": ["integer", "null"] }, "created_at": { "type": "integer" }, "registration_expires_at": { "type": ["integer", "null"] },
                "licensed_loadmasters": { "type": "integer" } } },
            "ConnectorList": { "type": "array", "items": { "$ref": "#/components/schemas/Connector" } },
            "CreatedConnector": { "type": "object", "properties": { "connector": { "$ref": "#/components/schemas/Connector" }, "registration_token": { "type": "string" } } },
            "Device": { "type": "object", "properties": {
                "id": { "type": "string" }, "name": { "type": "string" }, "ip_address": { "type": "string" }, "serial_no": { "type": "string" },
                "blocked": { "type": "boolean" }, "connector": { "type": ["string", "null"] }, "pooled_license_id": { "type": ["string", "null"] } } },
            "DeviceList": { "type": "array", "items": { "$ref": "#/components/schemas/Device" } },
            "RegisterResponse": { "type": "object", "properties": { "connector_id": { "type": "string" }, "name": { "type": "string" }, "credential": { "type": "string" } } },
            "HeartbeatResponse": { "type": "object", "properties": { "connector_id": { "type": "string" }, "status": { "type": "string" }, "server_time": { "type": "integer" } } },
            "CheckReportResponse": { "type": "object", "properties": { "results": { "type": "array", "items": { "type": "object", "properties": {
                "license_id": { "type": "string" }, "status": { "type": ["string", "null"] }, "grace_period_end": { "type": ["integer", "null"] }, "refused": { "type": "string" } } } } } },
            "Activation": { "type": "object", "properties": {
                "license_id": { "type": "string" }, "license_name": { "type": "string" }, "bandwidth_mbps": { "type": "integer" }, "ssl_tps": { "type": "integer" },
                "status": { "type": "string" }, "activated_at": { "type": "integer" } } },
            "Deactivation": { "type": "object", "properties": { "license_id": { "type": "string" }, "status": { "type": "string" } } },
            "CommandBatch": { "type": "object", "properties": { "commands": { "type": "array", "items": { "type": "object", "properties": {
                "id": { "type": "string" }, "issued_at": { "type": "integer" }, "type": { "type": "string", "enum": ["kill", "sync"] },
                "license_id": { "type": "string" }, "serial_no": { "type": "string" }, "run_id": { "type": "string" } } } } } },
            "LicenseHistory": { "type": "object", "properties": {
                "license": { "$ref": "#/components/schemas/License" },
                "entries": { "type": "array", "items": { "$ref": "#/components/schemas/HistoryEntry" } } } }
        } }
    });
    add_usage(&mut doc);
    doc
}

/// Usage and billing: the overview, entitlements, applications, notifications.
fn add_usage(doc: &mut Value) {
    let vs_params = json!([
        { "name": "id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" }, "description": "The application" },
        { "name": "vs", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" }, "description": "The Virtual Service" }
    ]);
    let mut csv = json!({
        "summary": "Export Usage and billing as Usage_and_billing_YYYYMMDD.csv: Name, Progress ID, Order ID, Plan, Base Assets, Total Assets, Used Assets, Remaining Assets, Virtual Service Limit, Status, Activation Date, Bill Date; then the Add Ons; then the Assets (applications with used and remaining Virtual Services)",
        "operationId": "exportUsage",
        "responses": error_responses()
    });
    csv["responses"]["200"] = json!({ "description": "CSV file", "content": { "text/csv": { "schema": { "type": "string" } } } });
    let conflict = json!({ "description": "application_full (an application holds at most 15 Virtual Services) or virtual_service_mapped", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } });
    let mut sync = ok(
        "EntitlementSync",
        json!({ "summary": "Sync entitlements: pull the latest from the entitlement source (the operator's records: 200, finished; an upstream licensing service: 202 while it runs; joins a running sync)", "operationId": "syncEntitlements" }),
    );
    sync["responses"]["202"] = sync["responses"]["200"].clone();
    let mut map = ok(
        "Changed",
        json!({ "summary": "Map a Virtual Service to the application", "operationId": "mapVirtualService", "parameters": vs_params.clone() }),
    );
    map["responses"]["409"] = conflict.clone();
    let mut create = with_body(
        "Changed",
        "201",
        "Manual mapping: a new application with these (unmapped) Virtual Services",
        "createApplication",
        json!({ "type": "object", "required": ["name"], "properties": { "name": { "type": "string", "maxLength": 100 }, "virtual_service_ids": { "type": "array", "items": { "type": "string", "format": "uuid" }, "maxItems": 15 } } }),
    );
    create["responses"]["409"] = conflict;
    let paths = json!({
        "/api/v1/usage": { "get": ok("UsageOverview", json!({ "summary": "Usage and billing: the entitlement, license capacity, LoadMaster capacity and asset bars (with their green/amber/red level), mapped applications, Last refreshed", "operationId": "getUsage" })) },
        "/api/v1/usage/export.csv": { "get": csv },
        "/api/v1/entitlements": { "get": ok("Entitlement", json!({ "summary": "The tenant's entitlement: plan, base assets, add-ons, dates, pool capacity and LoadMaster limit", "operationId": "getEntitlement" })) },
        "/api/v1/entitlements/sync": { "post": sync },
        "/api/v1/entitlements/sync/{id}": { "get": ok("EntitlementSync", json!({ "summary": "A Sync entitlements run: running, done (with what changed) or failed (with why)", "operationId": "getEntitlementSync", "parameters": id_param() })) },
        "/api/v1/applications": {
            "get": ok("ApplicationPage", json!({ "summary": "Mapped application usage, by name", "operationId": "listApplications",
                "parameters": [ query("page", "From 1", json!({ "type": "integer", "minimum": 1 })), query("per_page", "10, 20 or 50 (default 10)", json!({ "type": "integer", "enum": [10, 20, 50] })) ] })),
            "post": create
        },
        "/api/v1/applications/quick-map": { "post": ok("Changed", json!({ "summary": "Quick mapping: one application per unmapped Virtual Service", "operationId": "quickMapApplications" })) },
        "/api/v1/applications/{id}": { "delete": ok("Changed", json!({ "summary": "Delete an application (its Virtual Services become unmapped)", "operationId": "deleteApplication", "parameters": id_param() })) },
        "/api/v1/applications/{id}/virtual-services/{vs}": {
            "put": map,
            "delete": ok("Changed", json!({ "summary": "Take a Virtual Service out of the application", "operationId": "unmapVirtualService", "parameters": vs_params }))
        },
        "/api/v1/virtual-services": { "get": ok("VirtualServiceList", json!({ "summary": "The Virtual Services of the tenant's LoadMasters (unmapped first), as connectors reported them", "operationId": "listVirtualServices" })) },
        "/api/v1/notifications/channels": {
            "get": ok("Channels", json!({ "summary": "The communication channels: email recipients and the webhook", "operationId": "getChannels" })),
            "put": with_body("ChannelsSaved", "200", "Set the channels; a new webhook URL (or rotate_secret) makes a new signing secret, answered once. Webhooks are POSTs of JSON signed with X-Bandpool-Signature: t=<unix>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">, retried with backoff", "setChannels",
                json!({ "type": "object", "properties": { "email_recipients": { "type": "array", "items": { "type": "string", "format": "email" }, "maxItems": 50 }, "webhook_url": { "type": ["string", "null"] }, "rotate_secret": { "type": "boolean" } } }))
        },
        "/api/v1/notifications/webhook-deliveries": { "get": ok("WebhookDeliveryList", json!({ "summary": "The latest webhook deliveries: pending, delivered or failed, with the last error", "operationId": "listWebhookDeliveries" })) },
        "/api/v1/notifications/email-deliveries": { "get": ok("EmailDeliveryList", json!({ "summary": "The tenant's latest emails (invitations, kills, limit crossings, connector health): pending, delivered or failed, with the last error", "operationId": "listEmailDeliveries" })) }
    });
    let usage = json!({ "type": "object", "properties": { "used": { "type": "integer" }, "total": { "type": "integer" }, "percent": { "type": "integer" }, "level": { "type": "string", "enum": ["green", "amber", "red"] } } });
    let add_on = json!({ "type": "object", "properties": { "description": { "type": "string" }, "quantity": { "type": "integer" }, "status": { "type": "string", "enum": ["active", "trial", "suspended", "expired"] }, "activated_at": { "type": ["integer", "null"] }, "bill_at": { "type": ["integer", "null"] } } });
    let change = json!({ "type": "object", "properties": { "field": { "type": "string" }, "from": { "type": "string" }, "to": { "type": "string" } } });
    let schemas = json!({
        "Usage": usage,
        "Entitlement": { "type": "object", "description": "Also the JSON an upstream licensing service answers to GET <entitlements_url>/v1/entitlements/<Progress ID>", "properties": {
            "owner_name": { "type": "string" }, "progress_id": { "type": "string" }, "order_id": { "type": "string" }, "plan": { "type": "string" },
            "pooled": { "type": "boolean" }, "base_assets": { "type": "integer" }, "add_ons": { "type": "array", "items": add_on },
            "virtual_service_limit": { "type": "integer" }, "status": { "type": "string", "enum": ["active", "trial", "suspended", "expired"] },
            "activated_at": { "type": ["integer", "null"] }, "bill_at": { "type": ["integer", "null"] }, "next_bill_at": { "type": ["integer", "null"] },
            "max_capacity_mbps": { "type": "integer" }, "loadmaster_limit": { "type": "integer" } } },
        "EntitlementSync": { "type": "object", "properties": {
            "id": { "type": "string" }, "source": { "type": "string", "enum": ["operator", "upstream"] }, "started_at": { "type": "integer" },
            "finished_at": { "type": ["integer", "null"] }, "status": { "type": "string", "enum": ["running", "done", "failed"] },
            "error_code": { "type": ["string", "null"] }, "error_message": { "type": ["string", "null"] }, "changes": { "type": "array", "items": change } } },
        "UsageOverview": { "type": "object", "properties": {
            "tenant_name": { "type": "string" }, "entitlement": { "$ref": "#/components/schemas/Entitlement" }, "source": { "type": "string" },
            "total_assets": { "type": "integer" }, "assets": { "$ref": "#/components/schemas/Usage" }, "capacity": { "$ref": "#/components/schemas/Usage" },
            "loadmasters": { "$ref": "#/components/schemas/Usage" }, "mapped_applications": { "type": "integer" }, "inventory_loadmasters": { "type": "integer" },
            "last_refreshed_at": { "type": ["integer", "null"] }, "latest_sync": { "oneOf": [ { "$ref": "#/components/schemas/EntitlementSync" }, { "type": "null" } ] } } },
        "ApplicationPage": { "type": "object", "properties": {
            "applications": { "type": "array", "items": { "type": "object", "properties": {
                "id": { "type": "string" }, "name": { "type": "string" }, "virtual_services": { "type": "integer" }, "quota": { "type": "integer" },
                "usage": { "$ref": "#/components/schemas/Usage" } } } },
            "total": { "type": "integer" }, "page": { "type": "integer" }, "per_page": { "type": "integer" } } },
        "Changed": { "type": "object", "properties": { "message": { "type": "string" } } },
        "VirtualServiceList": { "type": "array", "items": { "type": "object", "properties": {
            "id": { "type": "string" }, "name": { "type": "string" }, "address": { "type": "string" }, "device_name": { "type": "string" }, "application": { "type": ["string", "null"] } } } },
        "Channels": { "type": "object", "properties": { "email_recipients": { "type": "array", "items": { "type": "string" } }, "webhook_url": { "type": ["string", "null"] }, "webhook_secret_set": { "type": "boolean" } } },
        "ChannelsSaved": { "type": "object", "properties": { "channels": { "$ref": "#/components/schemas/Channels" }, "webhook_secret": { "type": "string" } } },
        "WebhookDeliveryList": { "type": "array", "items": { "type": "object", "properties": {
            "id": { "type": "string" }, "event": { "type": "string" }, "created_at": { "type": "integer" }, "status": { "type": "string", "enum": ["pending", "delivered", "failed"] },
            "attempts": { "type": "integer" }, "next_attempt_at": { "type": ["integer", "null"] }, "last_error": { "type": ["string", "null"] }, "delivered_at": { "type": ["integer", "null"] } } } },
        "EmailDeliveryList": { "type": "array", "items": { "type": "object", "properties": {
            "id": { "type": "string" }, "to": { "type": "string" }, "subject": { "type": "string" }, "created_at": { "type": "integer" }, "status": { "type": "string", "enum": ["pending", "delivered", "failed"] },
            "attempts": { "type": "integer" }, "next_attempt_at": { "type": ["integer", "null"] }, "last_error": { "type": ["string", "null"] }, "delivered_at": { "type": ["integer", "null"] } } } }
    });
    for (k, v) in paths.as_object().into_iter().flatten() {
        doc["paths"][k] = v.clone();
    }
    for (k, v) in schemas.as_object().into_iter().flatten() {
        doc["components"]["schemas"][k] = v.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::spec;
    use crate::api::routes;

    #[test]
    fn the_document_describes_every_route_and_no_other() {
        let doc = spec();
        let paths = doc["paths"].as_object().unwrap();
        let routes = routes();
        for (method, path) in &routes {
            assert!(
                paths.get(path).and_then(|p| p.get(*method)).is_some(),
                "{method} {path} is not documented"
            );
        }
        let documented: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
        assert_eq!(
            documented,
            routes.len(),
            "the document describes routes the API does not have"
        );
    }
}
