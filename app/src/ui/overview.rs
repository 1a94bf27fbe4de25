//! The overview (Resumen, `/`): KPI cards, tasks per day and by type (inline SVG), and the
//! latest activity, refreshed live on every task event.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::auth::whoami;
use crate::api::overview::overview;
use crate::i18n::{tr, tr_msg, trf};
use crate::ui::Layout;
use crate::ui::live::{is_task_event, refresh_on};
use crate::ui::page::loaded;
use contract::domain::{OfficerStatus, Role, TaskStatus};
use contract::overview::{ActivityItem, OVERVIEW_DAYS, Overview};
use contract::stats::{DayCount, TypeCount};
use contract::{ApiError, ErrorCode};

/// "creó", "inició"… a one-line Spanish description of a status change.
pub fn activity_text(item: &ActivityItem) -> String {
    let what = match (item.from, item.to) {
        (None, _) => tr("creada").to_owned(),
        // Not a status change: an assignment or an unassignment, in its own words.
        (Some(from), to) if from == to => item.note.clone().unwrap_or_else(|| tr("actualizada").to_owned()),
        (Some(TaskStatus::Paused), TaskStatus::InProgress) => tr("reanudada").to_owned(),
        (_, TaskStatus::InProgress) => tr("iniciada").to_owned(),
        (_, TaskStatus::Paused) => tr("pausada").to_owned(),
        (_, TaskStatus::Completed) => tr("finalizada").to_owned(),
        (_, TaskStatus::Cancelled) => tr("cancelada").to_owned(),
        (_, to) => trf("pasó a {}", &[&tr(to.label_es()).to_ascii_lowercase()]),
    };
    match &item.by {
        Some(by) => trf("{} por {}", &[&what, by]),
        None => what,
    }
}

#[component]
pub fn OverviewPage() -> impl IntoView {
    let user = Resource::new(|| (), |_| whoami());
    // Created here, not inside the suspended frame: the server runs that frame's body more than
    // once, and a resource created in it is fetched and serialized into the page each time.
    let live = refresh_on(is_task_event);
    let data = Resource::new(move || live.get(), |_| overview());
    view! {
        <Title text=tr("Resumen") />
        <Suspense fallback=|| view! { <p class="loading">{tr("Cargando…")}</p> }>
            {move || Suspend::new(async move {
                match loaded(user).await {
                    Ok(Some(user)) => {
                        if user.role == Role::Officer {
                            view! { <Layout user><OverviewData data /></Layout> }.into_any()
                        } else {
                            // Supervisors and admins: the live map fills the screen, the figures,
                            // open emergencies and the feed beside it.
                            view! {
                                <Layout user>
                                    <div class="home">
                                        <div class="home-map-panel"><HomeMapFrame /></div>
                                        <div class="home-panels">
                                            <OverviewData data />
                                        </div>
                                    </div>
                                </Layout>
                            }
                            .into_any()
                        }
                    }
                    Ok(None) => signed_out(ApiError::new(ErrorCode::Unauthenticated, tr("Debe iniciar sesión."))),
                    Err(error) => view! { <crate::ui::page::PageError title=tr("Resumen") error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The page of a visitor whose session is gone.
pub fn signed_out(e: ApiError) -> AnyView {
    view! {
        <main class="centered">
            <p role="alert" class="error">{tr_msg(&e.message)}</p>
            <a href="/login">{tr("Ingresar")}</a>
        </main>
    }
    .into_any()
}

/// The home's live map, loaded once (it then follows the live events itself).
#[component]
fn HomeMapFrame() -> impl IntoView {
    let data = Resource::new(|| (), |_| crate::ui::map::home_map_data());
    view! {
        <Suspense fallback=|| view! { <p class="loading">{tr("Cargando mapa…")}</p> }>
            {move || Suspend::new(async move {
                match loaded(data).await {
                    Ok((settings, officers)) => view! { <crate::ui::map::HomeMap settings officers /> }.into_any(),
                    Err(e) => view! { <p role="alert" class="error">{tr_msg(&e.message)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The figures, refetched on every task event (the frame around them stays).
#[component]
fn OverviewData(data: Resource<Result<Overview, ApiError>>) -> impl IntoView {
    view! {
        <Transition fallback=|| view! { <p class="loading">{tr("Cargando…")}</p> }>
            {move || Suspend::new(async move {
                match loaded(data).await {
                    Ok(overview) => view! { <OverviewView overview /> }.into_any(),
                    Err(e) => view! { <p role="alert" class="error">{tr_msg(&e.message)}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Kpi(id: &'static str, label: &'static str, value: String, #[prop(optional)] tone: &'static str) -> impl IntoView {
    view! {
        <div class=format!("kpi {tone}") data-kpi=id>
            <span class="kpi-label">{label}</span>
            <span class="kpi-value">{value}</span>
        </div>
    }
}

#[component]
fn OverviewView(overview: Overview) -> impl IntoView {
    let open = |status: TaskStatus| {
        overview.open_by_status.iter().find(|s| s.status == status).map_or(0, |s| s.count).to_string()
    };
    let officers = overview.officers_by_status.clone().map(|counts| {
        let of = |status: OfficerStatus| counts.iter().find(|c| c.status == status).map_or(0, |c| c.count).to_string();
        view! {
            <section aria-labelledby="kpi-efectivos" class="kpi-group">
                <h2 id="kpi-efectivos">{tr("Efectivos ahora")}</h2>
                <div class="kpis">
                    <Kpi id="officers_available" label=tr("Disponibles") value=of(OfficerStatus::Available) tone="ok" />
                    <Kpi id="officers_on_task" label=tr("En tarea") value=of(OfficerStatus::OnTask) />
                    <Kpi id="officers_unavailable" label=tr("No disponibles") value=of(OfficerStatus::Unavailable) />
                    <Kpi id="officers_off_duty" label=tr("Fuera de servicio") value=of(OfficerStatus::OffDuty) />
                </div>
            </section>
        }
    });
    let stats = overview.stats;
    let median = stats.median_seconds.map_or_else(|| "—".to_owned(), contract::format::duration);
    let emergency_tone = if overview.open_emergencies > 0 { "alert" } else { "" };
    let rate = stats.completion_rate.map_or_else(|| "—".to_owned(), |r| format!("{:.0} %", r * 100.0));
    // The home's panel of open emergencies (supervisors and admins: those who see officers).
    let emergencies = overview.officers_by_status.is_some().then(|| {
        let list = overview.open_emergency_list.clone();
        view! {
            <section aria-labelledby="emergencias-abiertas" class="home-emergencies">
                <h2 id="emergencias-abiertas">{tr("Emergencias abiertas")}</h2>
                {if list.is_empty() {
                    view! { <p class="empty">{tr("Ninguna emergencia abierta.")}</p> }.into_any()
                } else {
                    view! {
                        <ul class="emergency-list">
                            {list
                                .into_iter()
                                .map(|t| {
                                    view! {
                                        <li>
                                            <a class="mono" href=format!("/tareas/{}", t.task_id)>{t.code}</a>
                                            " "
                                            <span>{t.title}</span>
                                            " "
                                            <span class=format!("badge status-{}", t.status.as_str())>{tr(t.status.label_es())}</span>
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ul>
                    }
                    .into_any()
                }}
            </section>
        }
    });
    view! {
        {emergencies}
        <div class="page-head">
            <h1>{tr("Resumen")}</h1>
            <p class="muted">{trf("Últimos {} días · zona horaria {}", &[&OVERVIEW_DAYS.to_string(), &stats.timezone])}</p>
        </div>
        <section aria-labelledby="kpi-tareas" class="kpi-group">
            <h2 id="kpi-tareas">{tr("Tareas ahora")}</h2>
            <div class="kpis">
                <Kpi id="scheduled" label=tr("Programadas") value=open(TaskStatus::Scheduled) />
                <Kpi id="in_progress" label=tr("En curso") value=open(TaskStatus::InProgress) />
                <Kpi id="paused" label=tr("Pausadas") value=open(TaskStatus::Paused) />
                <Kpi
                    id="open_emergencies"
                    label=tr("Emergencias abiertas")
                    value=overview.open_emergencies.to_string()
                    tone=emergency_tone
                />
                <Kpi id="completed_today" label=tr("Finalizadas hoy") value=overview.completed_today.to_string() tone="ok" />
                <Kpi id="median" label=tr("Duración mediana") value=median />
                <Kpi id="completion_rate" label=tr("Tasa de finalización") value=rate />
            </div>
        </section>
        <SlaKpis sla=overview.sla.clone() />
        {officers}
        <div class="charts">
            <DayChart days=stats.per_day />
            <TypeChart types=stats.by_type />
        </div>
        <section aria-labelledby="actividad" class="feed">
            <h2 id="actividad">{tr("Actividad reciente")}</h2>
            {if overview.activity.is_empty() {
                view! { <p class="empty">{tr("Sin actividad.")}</p> }.into_any()
            } else {
                view! {
                    <ol class="feed-list" aria-live="polite">
                        {overview
                            .activity
                            .into_iter()
                            .map(|item| {
                                let text = activity_text(&item);
                                view! {
                                    <li data-activity=item.id>
                                        <time datetime=item.at.to_rfc3339()>{item.at_local.clone()}</time>
                                        <a class="mono" href=format!("/tareas/{}", item.task_id)>{item.code.clone()}</a>
                                        <span class="feed-title">{item.title.clone()}</span>
                                        <span class=format!("badge status-{}", item.to.as_str())>{tr(item.to.label_es())}</span>
                                        <span class="feed-what">{text}</span>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ol>
                }
                    .into_any()
            }}
        </section>
    }
}

const CHART_W: f64 = 640.0;
const CHART_H: f64 = 220.0;
const PAD_L: f64 = 36.0;
const PAD_B: f64 = 28.0;
const PAD_T: f64 = 12.0;

/// A "nice" maximum for an axis: 1, 2, 5 × 10ⁿ at or above `max`.
fn nice_max(max: u64) -> u64 {
    let mut step = 1;
    loop {
        for m in [1, 2, 5] {
            if m * step >= max.max(1) {
                return m * step;
            }
        }
        step *= 10;
    }
}

#[component]
fn DayChart(days: Vec<DayCount>) -> impl IntoView {
    let top = nice_max(days.iter().map(|d| d.tasks.max(d.completed)).max().unwrap_or(0));
    let n = days.len().max(1) as f64;
    let slot = (CHART_W - PAD_L) / n;
    let bar = slot * 0.38;
    let y = move |v: u64| PAD_T + (CHART_H - PAD_T - PAD_B) * (1.0 - v as f64 / top as f64);
    let base = CHART_H - PAD_B;
    let summary = trf(
        "Tareas por día: {} tareas y {} finalizadas en {} días.",
        &[
            &days.iter().map(|d| d.tasks).sum::<u64>().to_string(),
            &days.iter().map(|d| d.completed).sum::<u64>().to_string(),
            &days.len().to_string(),
        ],
    );
    let bars = days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let x = PAD_L + slot * i as f64 + slot * 0.1;
            let label = crate::ui::dates::day_month(&d.date);
            view! {
                <g>
                    <rect class="bar-tasks" x=x y=y(d.tasks) width=bar height=base - y(d.tasks)>
                        <title>{trf("{}: {} tareas", &[&label, &d.tasks.to_string()])}</title>
                    </rect>
                    <rect class="bar-done" x=x + bar y=y(d.completed) width=bar height=base - y(d.completed)>
                        <title>{trf("{}: {} finalizadas", &[&label, &d.completed.to_string()])}</title>
                    </rect>
                    {(i % 2 == 0 || days.len() <= 8)
                        .then(|| {
                            view! {
                                <text class="axis" x=x + bar y=CHART_H - 8.0 text-anchor="middle">
                                    {label.clone()}
                                </text>
                            }
                        })}
                </g>
            }
        })
        .collect_view();
    let rows = days
        .iter()
        .map(|d| view! { <tr><td>{crate::ui::dates::date(&d.date)}</td><td>{d.tasks}</td><td>{d.completed}</td></tr> })
        .collect_view();
    view! {
        <figure class="chart">
            <figcaption>{tr("Tareas por día")}</figcaption>
            <svg viewBox=format!("0 0 {CHART_W} {CHART_H}") role="img" aria-label=summary>
                <line class="grid" x1=PAD_L x2=CHART_W y1=y(top) y2=y(top) />
                <line class="grid" x1=PAD_L x2=CHART_W y1=y(top / 2) y2=y(top / 2) />
                <line class="axis-line" x1=PAD_L x2=CHART_W y1=base y2=base />
                <text class="axis" x=PAD_L - 6.0 y=y(top) + 4.0 text-anchor="end">{top}</text>
                <text class="axis" x=PAD_L - 6.0 y=y(top / 2) + 4.0 text-anchor="end">{top / 2}</text>
                <text class="axis" x=PAD_L - 6.0 y=base + 4.0 text-anchor="end">"0"</text>
                {bars}
            </svg>
            <p class="legend">
                <span class="swatch bar-tasks"></span>
                {tr(" Tareas del día ")}
                <span class="swatch bar-done"></span>
                {tr(" Finalizadas")}
            </p>
            <details>
                <summary>{tr("Ver datos")}</summary>
                <table class="data-table compact">
                    <thead>
                        <tr>
                            <th scope="col">{tr("Día")}</th>
                            <th scope="col">{tr("Tareas")}</th>
                            <th scope="col">{tr("Finalizadas")}</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </details>
        </figure>
    }
}

#[component]
fn TypeChart(types: Vec<TypeCount>) -> impl IntoView {
    let top = nice_max(types.iter().map(|t| t.count).max().unwrap_or(0));
    let row_h = 26.0;
    let label_w = 120.0;
    let height = row_h * types.len() as f64 + 8.0;
    let summary =
        types.iter().map(|t| format!("{}: {}", tr(t.task_type.label_es()), t.count)).collect::<Vec<_>>().join(", ");
    let bars = types
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let y = 4.0 + row_h * i as f64;
            let w = (CHART_W - label_w - 50.0) * t.count as f64 / top as f64;
            view! {
                <g>
                    <text class="axis" x=label_w - 8.0 y=y + row_h * 0.62 text-anchor="end">{tr(t.task_type.label_es())}</text>
                    <rect class=format!("bar-type type-{}", t.task_type.as_str()) x=label_w y=y + 3.0 width=w height=row_h - 8.0 />
                    <text class="value" x=label_w + w + 6.0 y=y + row_h * 0.62>{t.count}</text>
                </g>
            }
        })
        .collect_view();
    view! {
        <figure class="chart">
            <figcaption>{tr("Tareas por tipo")}</figcaption>
            <svg viewBox=format!("0 0 {CHART_W} {height}") role="img" aria-label=trf("Tareas por tipo: {}.", &[&summary])>
                {bars}
            </svg>
        </figure>
    }
}

/// Deadlines: overdue and at-risk tasks (links to the list filtered so), and per type the
/// share of the period's finished tasks that met their finish deadline.
#[component]
fn SlaKpis(sla: contract::overview::SlaSummary) -> impl IntoView {
    let tone = if sla.overdue > 0 { "alert" } else { "ok" };
    view! {
        <section aria-labelledby="kpi-plazos" class="kpi-group">
            <h2 id="kpi-plazos">{tr("Plazos")}</h2>
            <div class="kpis">
                <a href="/tareas?sla=overdue&sort=due" class="kpi-link">
                    <Kpi id="sla_overdue" label=tr("Vencidas") value=sla.overdue.to_string() tone=tone />
                </a>
                <a href="/tareas?sla=at_risk&sort=due" class="kpi-link">
                    <Kpi id="sla_at_risk" label=tr("En riesgo (15 min)") value=sla.at_risk.to_string() />
                </a>
                {sla
                    .by_type
                    .into_iter()
                    .map(|c| {
                        let pct = (c.met * 100).checked_div(c.total).unwrap_or(0);
                        let label = trf("Cumplimiento: {}", &[tr(c.task_type.label_es())]);
                        view! {
                            <div class="kpi" data-kpi=format!("sla_{}", c.task_type.as_str())>
                                <span class="kpi-label">{label}</span>
                                <span class="kpi-value">{format!("{pct} %")}</span>
                                <span class="kpi-note">{format!("{}/{}", c.met, c.total)}</span>
                            </div>
                        }
                    })
                    .collect_view()}
            </div>
        </section>
    }
}
