//! (e) Activation under contention: many clients racing one pool through the connector API,
//! against one client asking for as many licenses one after another, on a pool of the same
//! size. The appliances are the simulator's (names, serials, addresses).

use crate::portal::{Engine, Portal, Served};
use crate::report::{Row, Unit};
use crate::{Result, Scale};
use bandpool_domain::connector::{Activation, ActivationRequest};
use bandpool_simulator::naming;
use futures::stream::{self, StreamExt, TryStreamExt};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// The license type every benchmark appliance asks for, and its bandwidth.
pub const LICENSE_TYPE: &str = "vlm-200";
pub const LICENSE_MBPS: i64 = 200;

/// The serial number of benchmark appliance `number`.
pub fn serial_no(number: usize) -> String {
    naming::serial_no(40_000_000, number)
}

/// Ask for a license for appliance `number` (from 1) of the fleet called `prefix`.
pub async fn activate(
    client: &reqwest::Client,
    portal: &Portal,
    prefix: &str,
    number: usize,
) -> Result<Activation> {
    let request = ActivationRequest {
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        serial_no: serial_no(number),
        device_name: naming::device_name(prefix, number),
        ip_address: naming::ip_address("10.77", number).ok_or("too many appliances for 10.77")?,
        sku: "VLM-SPLA".into(),
        license_type_id: LICENSE_TYPE.into(),
        appliance: None,
        ask: Default::default(),
    };
    post_activation(client, portal, &request).await
}

/// Send an activation through the connector API; anything but a new license is an error.
pub async fn post_activation(
    client: &reqwest::Client,
    portal: &Portal,
    request: &ActivationRequest,
) -> Result<Activation> {
    let answer = client
        .post(portal.at("/api/v1/connector/activations"))
        .json(request)
        .send()
        .await?;
    let status = answer.status();
    if status.as_u16() != 201 {
        return Err(format!(
            "activation of {} answered {status}: {}",
            request.device_name,
            answer.text().await?
        )
        .into());
    }
    Ok(answer.json().await?)
}

/// A fresh tenant (room for `loadmasters`) with a registered connector: its client.
pub async fn fresh_pool(
    served: &Served<'_>,
    name: &str,
    loadmasters: usize,
) -> Result<reqwest::Client> {
    let tenant = served
        .create_tenant(name, loadmasters, LICENSE_MBPS)
        .await?;
    let token = served
        .create_connector(&tenant, &format!("{name} connector"))
        .await?;
    served.portal.connector_client(&token).await
}

/// License appliances 1..=count with `clients` racing: activations per second.
pub async fn license_fleet(
    client: &reqwest::Client,
    portal: &Portal,
    prefix: &str,
    count: usize,
    clients: usize,
) -> Result<(f64, Vec<(usize, Activation)>)> {
    let next = AtomicUsize::new(1);
    let started = Instant::now();
    let granted: Vec<Vec<(usize, Activation)>> = stream::iter(0..clients)
        .map(|_| async {
            let mut mine = Vec::new();
            loop {
                let number = next.fetch_add(1, Ordering::Relaxed);
                if number > count {
                    return Ok::<_, crate::Error>(mine);
                }
                mine.push((number, activate(client, portal, prefix, number).await?));
            }
        })
        .buffer_unordered(clients)
        .try_collect()
        .await?;
    let rate = count as f64 / started.elapsed().as_secs_f64();
    Ok((rate, granted.into_iter().flatten().collect()))
}

pub fn rows(engine: &Engine, scale: &Scale) -> Vec<Row> {
    vec![Row::new(
        "e",
        format!(
            "activations, {} clients racing one pool ({} licenses)",
            scale.racing_clients, scale.activations
        ),
        engine.label(),
        Unit::Rate("activations/s"),
    )
    .baseline("one client, one at a time")]
}

pub async fn measure(served: &Served<'_>, scale: &Scale, rows: &mut [Row]) -> Result<()> {
    let portal = served.portal;
    for run in 0..scale.runs {
        let racing = fresh_pool(served, &format!("Racing {run}"), scale.activations).await?;
        let (rate, granted) = license_fleet(
            &racing,
            portal,
            &format!("race{run}"),
            scale.activations,
            scale.racing_clients,
        )
        .await?;
        if granted.len() != scale.activations {
            return Err(format!(
                "{} of {} activations granted",
                granted.len(),
                scale.activations
            )
            .into());
        }
        rows[0].runs.push(rate);
        let alone = fresh_pool(served, &format!("Alone {run}"), scale.activations).await?;
        let (rate, _) =
            license_fleet(&alone, portal, &format!("alone{run}"), scale.activations, 1).await?;
        rows[0].baseline.push(rate);
    }
    Ok(())
}
