//! The MELA report: "Report date from ... to ..." with View and Download (the summary zip
//! when "Download summary" is checked, every stored sample as CSV when not), then for the
//! range the number of active metered instances over time and its maximum, the top five
//! LoadMasters by peak SSL TPS and by peak throughput (a graph each), the aggregate
//! throughput and the events table. The graphs are drawn on the server and every control is
//! a plain GET form: the page is whole without JavaScript.

use crate::components::card::{Card, PageHead};
use crate::components::chart::ChartFigure;
use crate::components::loaded::loaded;
use crate::components::reporting_grace::ReportingGraceNote;
use crate::components::table::table_or;
use crate::functions::metered::{
    get_metered_report, get_reporting_status, ApplyReporting, RetryReportUpload, UploadReportNow,
};
use crate::functions::session::get_viewer;
use bandpool_domain::auth::Permission;
use bandpool_domain::format::format_datetime;
use bandpool_domain::format::{format_mbps, group_thousands};
use bandpool_domain::metered::bytes_to_mbps;
use bandpool_domain::metered_report::{ReportChart, TopLoadMaster, REPORT_EVENTS_SHOWN};
use bandpool_domain::metered_reporting::ReportingStatus;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// A graph with its one-line caption (the figures the graph shows, in words, for readers
/// who do not see it).
fn graph(chart: &ReportChart, caption: String) -> impl IntoView {
    let g = &chart.geometry;
    view! {
        <div class="line-chart">
            <ChartFigure class="chart lines" width=g.width height=g.height svg=chart.svg.clone() areas=().into_any()/>
            <p class="muted">{caption}</p>
        </div>
    }
}

/// The top LoadMasters of one measure, each under its own heading with its own graph.
fn tops(
    list: &[TopLoadMaster],
    charts: &[ReportChart],
    peak: fn(i64) -> String,
    measure: &'static str,
) -> AnyView {
    if list.is_empty() {
        return view! { <p class="muted">"No LoadMaster reported usage in this range."</p> }
            .into_any();
    }
    let tops = list
        .iter()
        .zip(charts)
        .enumerate()
        .map(|(i, (top, chart))| {
            let heading = format!("{}. {} — peak {}", i + 1, top.label(), peak(top.peak));
            let caption = format!(
                "{}'s daily peak {measure}, {} days with samples.",
                top.label(),
                top.daily.len()
            );
            view! {
                <div class="top-loadmaster" data-top=top.license_id.clone()>
                    <h3>{heading}</h3>
                    {graph(chart, caption)}
                </div>
            }
        })
        .collect_view();
    view! { <div class="top-loadmasters">{tops}</div> }.into_any()
}

#[component]
pub fn MeteredReportPage() -> impl IntoView {
    let query = use_query_map();
    let (from, to) = query.with_untracked(|q| {
        let get = |k: &str| q.get(k).unwrap_or_default().trim().to_string();
        (get("from"), get("to"))
    });
    let report = Resource::new(|| (), move |_| get_metered_report(from.clone(), to.clone()));
    view! {
        <PageHead title="MELA report"/>
        <ReportingGraceNote/>
        {loaded(report, "Loading the report…", move |view| {
            let r = view.report.clone();
            let c = view.charts.clone();
            let shown = r.events.len();
            let rows = r
                .events
                .iter()
                .map(|e| view! {
                    <tr data-kind=e.kind.key()>
                        <td>{e.event_date()}</td>
                        <td>{e.event_type()}</td>
                        <td>{e.instances}</td>
                    </tr>
                })
                .collect_view();
            let contract = r.contract_id.clone().map(|id| format!("Contract {id}")).unwrap_or_else(|| "No metered contract".into());
            let who = format!("{} · {}", r.tenant_name, contract);
            let (from, to) = (r.from.clone(), r.to.clone());
            let max_instances = format!("Maximum active instances: {}", r.max_instances);
            let range = format!("From {} to {} (UTC)", r.from, r.to);
            let instances = graph(&c.instances, format!("The most metered instances active at once each day, {} to {}.", r.from, r.to)).into_any();
            let top_ssl = tops(&r.top_ssl_tps, &c.top_ssl_tps, |v| format!("{} SSL TPS", group_thousands(v)), "SSL TPS");
            let top_throughput = tops(&r.top_throughput, &c.top_throughput, |v| format_mbps(bytes_to_mbps(v)), "throughput in Mb/s");
            let aggregate = graph(&c.aggregate_throughput, "The sum of every reporting LoadMaster's peak throughput per day, in Mb/s.".to_string()).into_any();
            let more = (r.events_total > shown as u64).then(|| format!(
                "The newest {} of {} events; the summary download's asl.csv holds them all.",
                REPORT_EVENTS_SHOWN, group_thousands(r.events_total as i64)
            ));
            view! {
                <Card heading="View / Download MELA Report" section="report-range">
                    <p class="muted">{who}</p>
                    <form class="inline-form" method="get" action="/metered/report">
                        <label>"Report date from "<input type="date" name="from" value=from required/></label>
                        <label>" to "<input type="date" name="to" value=to required/></label>
                        <button type="submit">"View"</button>
                        <button type="submit" formaction="/api/v1/metered/report/download">"Download"</button>
                        <label class="checkbox"><input type="checkbox" name="summary" value="on" checked/>"Download summary"</label>
                        <button type="submit" formaction="/api/v1/metered/report/pdf">"Download PDF"</button>
                    </form>
                    <p class="muted">
                        "Download summary: a zip of asl.csv (events and active instances), devices.csv (the active metered LoadMasters), ssl_tps.csv and throughput.csv (each LoadMaster's daily peaks) and vs_bytes.csv (Virtual Service bytes per day). Unchecked: every stored usage sample of the range as one CSV (samples are kept for the retention period; the daily peaks for billing)."
                    </p>
                </Card>
                <Card heading="Active metered instances" section="report-instances">
                    <p class="figures">
                        <span data-figure="max-instances">{max_instances}</span>
                        <span data-figure="range">{range}</span>
                    </p>
                    {instances}
                </Card>
                <Card heading="Top five LoadMasters by peak SSL TPS" section="report-top-ssl">
                    {top_ssl}
                </Card>
                <Card heading="Top five LoadMasters by peak throughput" section="report-top-throughput">
                    {top_throughput}
                </Card>
                <Card heading="Aggregate throughput" section="report-aggregate">
                    {aggregate}
                </Card>
                <Card heading="Events" section="report-events">
                    {more.map(|more| view! { <p class="muted">{more}</p> })}
                    {table_or(
                        view! { <p class="muted">"No activations, deactivations or syncs in this range."</p> },
                        "data report-events",
                        view! { <th scope="col">"Event Date"</th><th scope="col">"Event Type"</th><th scope="col">"Instances"</th> },
                        vec![rows],
                    )}
                </Card>
            }
            .into_any()
        })}
        <AutomaticReporting/>
    }
}

/// The Automatic Reporting card: the settings with Apply, the last upload and any failure
/// with Retry upload, and Upload now. Reviewers see it without the controls.
#[component]
fn AutomaticReporting() -> impl IntoView {
    let status = Resource::new(|| (), |_| get_reporting_status());
    let viewer = Resource::new(|| (), |_| get_viewer());
    let apply = ServerAction::<ApplyReporting>::new();
    let upload = ServerAction::<UploadReportNow>::new();
    let retry = ServerAction::<RetryReportUpload>::new();
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let status: ReportingStatus = status.await.ok().flatten()?;
                let may = matches!(viewer.await, Ok(Some(v)) if v.may(Permission::ManageConnectors));
                let last = status.last_upload_line();
                let failing = status.failing.clone().map(|f| {
                    format!(
                        "Upload of {} failed{}: {}.{}",
                        f.period,
                        f.last_attempt_at.map(|t| format!(" at {}", format_datetime(t))).unwrap_or_default(),
                        f.last_error.clone().unwrap_or_default(),
                        f.next_attempt_at.map(|t| format!(" Next try {}.", format_datetime(t))).unwrap_or_default(),
                    )
                });
                let service = if status.service_configured {
                    "Reports go to the vendor's reporting service over HTTPS, signed with this deployment's key: every day for the day before, and at the end of each month for the month."
                } else {
                    "This deployment has no vendor reporting service configured: nothing is uploaded, and no reporting grace counts down."
                };
                Some(view! {
                    <Card heading="Automatic Reporting" section="automatic-reporting">
                        <p class="muted">{service}</p>
                        <p data-figure="last-upload">{last}</p>
                        {failing.map(|f| view! { <p class="note warning" data-figure="upload-failure">{f}</p> })}
                        {if may {
                            view! {
                                <ActionForm action=apply>
                                    <div class="inline-form">
                                        <label class="checkbox"><input type="checkbox" name="upload" value="on" checked=status.upload/>"Upload usage report to the vendor"</label>
                                        <label class="checkbox"><input type="checkbox" name="email" value="on" checked=status.email/>"Send monthly usage report via email"</label>
                                        <label>"Send bcc to "<input type="email" name="bcc" value=status.bcc.clone() autocomplete="email"/></label>
                                        <button type="submit">"Apply"</button>
                                    </div>
                                </ActionForm>
                                {status.service_configured.then(|| view! {
                                    <div class="inline-form">
                                        <ActionForm action=upload><button type="submit">"Upload now"</button></ActionForm>
                                        {status.failing.is_some().then(|| view! {
                                            <ActionForm action=retry><button type="submit">"Retry upload"</button></ActionForm>
                                        })}
                                    </div>
                                })}
                            }
                            .into_any()
                        } else {
                            view! {
                                <p class="muted">{format!(
                                    "Upload usage report to the vendor: {}. Send monthly usage report via email: {}.",
                                    if status.upload { "on" } else { "off" },
                                    if status.email { "on" } else { "off" }
                                )}</p>
                            }
                            .into_any()
                        }}
                    </Card>
                })
            })}
        </Suspense>
    }
}
