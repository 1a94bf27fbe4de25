//! Shifts and leave (`/turnos`). Supervisors and admins: a unit's week — who is on, who is
//! off, who is away, and the hours nobody covers — with the forms to plan shifts (one-off or a
//! recurring pattern), register leave and decide requests, and the week as CSV. Officers: their
//! own shifts and leave, and a leave request.
//!
//! Every form is a plain HTML form posting to its server function, with or without JavaScript:
//! the server keeps the outcome as a one-shot flash and sends the browser back to the same
//! week (a planning page reloads; its forms cost no WASM).

use chrono::{Datelike, Duration, NaiveDate};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::flash::take_flash;
use crate::api::roster::{PATTERNS, list_leaves, load_roster_week, my_shifts, roster_path};
use crate::i18n::{tr, tr_later, tr_msg, trf};
use crate::ui::Layout;
use crate::ui::dates::{local_date_time, zone_label};
use crate::ui::page::{PageError, loaded, signed_in};
use contract::ApiError;
use contract::domain::{LeaveKind, LeaveStatus, Role};
use contract::flash::FormOutcome;
use contract::roster::{Leave, RosterWeek, Shift};

const WEEKDAYS: [&str; 7] = [
    tr_later("Lun"),
    tr_later("Mar"),
    tr_later("Mié"),
    tr_later("Jue"),
    tr_later("Vie"),
    tr_later("Sáb"),
    tr_later("Dom"),
];

#[derive(Clone, serde::Serialize, serde::Deserialize)]
enum Data {
    Staff(RosterWeek, Vec<Leave>),
    Officer(Vec<Shift>, Vec<Leave>),
}

#[component]
pub fn RosterPage() -> impl IntoView {
    let query = use_query_map();
    let data = Resource::new(
        move || query.with(|q| (q.get("semana"), q.get("unidad"))),
        |(week, unit)| async move {
            let user = signed_in().await?;
            let flash = take_flash("/turnos".to_owned()).await?;
            let data = if user.role == Role::Officer {
                Data::Officer(my_shifts(14).await?, list_leaves(None).await?)
            } else {
                Data::Staff(load_roster_week(unit, week).await?, list_leaves(Some(LeaveStatus::Requested)).await?)
            };
            Ok::<_, ApiError>((user, flash, data))
        },
    );
    view! {
        <Title text=tr("Turnos y licencias") />
        <Suspense fallback=|| view! { <p class="loading">{tr("Cargando…")}</p> }>
            {move || Suspend::new(async move {
                match loaded(data).await {
                    Ok((user, flash, data)) => {
                        let outcome = match flash {
                            Some(FormOutcome::Saved(text)) => Some(Ok(text)),
                            Some(FormOutcome::Failed(e)) => Some(Err(e)),
                            _ => None,
                        };
                        let message = match outcome {
                            None => None,
                            Some(Ok(text)) => Some(view! { <p class="success" role="status">{tr_msg(&text)}</p> }.into_any()),
                            Some(Err(e)) => Some(view! { <p class="error" role="alert">{field_message(&e)}</p> }.into_any()),
                        };
                        let body = match data {
                            Data::Staff(week, pending) => view! {
                                <StaffRoster week pending />
                            }
                                .into_any(),
                            Data::Officer(shifts, leaves) => view! { <OwnRoster shifts leaves /> }.into_any(),
                        };
                        view! {
                            <Layout user>
                                <h1>{tr("Turnos y licencias")}</h1>
                                {message}
                                {body}
                            </Layout>
                        }
                            .into_any()
                    }
                    Err(error) => view! { <PageError title=tr("Turnos y licencias") error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// An error with its fields' messages (the forms' fields are few: one line says it all).
pub(crate) fn field_message(e: &ApiError) -> String {
    if e.fields.is_empty() {
        tr_msg(&e.message)
    } else {
        e.fields.iter().map(|f| tr_msg(&f.message)).collect::<Vec<_>>().join(" ")
    }
}

fn day_label(d: NaiveDate) -> String {
    format!("{} {:02}/{:02}", tr(WEEKDAYS[d.weekday().num_days_from_monday() as usize]), d.day(), d.month())
}

fn leave_kind_options() -> impl IntoView {
    LeaveKind::ALL.iter().map(|k| view! { <option value=k.as_str()>{tr(k.label_es())}</option> }).collect_view()
}

#[component]
fn StaffRoster(week: RosterWeek, pending: Vec<Leave>) -> impl IntoView {
    let week_value = week.week_start.format("%Y-%m-%d").to_string();
    let unit_value = week.unit.clone().unwrap_or_default();
    let nav = |d: NaiveDate| roster_path(Some(&d.format("%Y-%m-%d").to_string()), week.unit.as_deref());
    let previous = nav(week.week_start - Duration::days(7));
    let next = nav(week.week_start + Duration::days(7));
    let csv = {
        let mut pairs = vec![("week", week_value.clone())];
        if let Some(unit) = &week.unit {
            pairs.push(("unit", unit.clone()));
        }
        format!("/api/v1/roster.csv?{}", serde_urlencoded::to_string(pairs).unwrap_or_default())
    };
    let last_day = week.days.last().copied().unwrap_or(week.week_start);
    let caption = trf(
        "Semana del {} al {} ({})",
        &[&week.week_start.format("%d/%m").to_string(), &last_day.format("%d/%m/%Y").to_string(), &zone_label()],
    );
    let officer_options = week
        .rows
        .iter()
        .map(|r| view! { <option value=r.officer_id.to_string()>{format!("{} · {}", r.code, r.name)}</option> })
        .collect_view();
    let officer_options_leave = week
        .rows
        .iter()
        .map(|r| view! { <option value=r.officer_id.to_string()>{format!("{} · {}", r.code, r.name)}</option> })
        .collect_view();
    let hidden = {
        let (w, u) = (week_value.clone(), unit_value.clone());
        move || {
            view! {
                <input type="hidden" name="semana" value=w.clone() />
                <input type="hidden" name="unidad" value=u.clone() />
            }
        }
    };
    let (h1, h2) = (hidden.clone(), hidden);
    let days = week.days.clone();
    let gaps = week.gaps.clone();
    view! {
        <form method="get" action="/turnos" class="roster-filter">
            <div>
                <label for="roster-unit">{tr("Unidad")}</label>
                <select id="roster-unit" name="unidad">
                    <option value="">{tr("Todas")}</option>
                    {week
                        .units
                        .iter()
                        .map(|u| view! { <option value=u.clone() selected=week.unit.as_deref() == Some(u.as_str())>{u.clone()}</option> })
                        .collect_view()}
                </select>
            </div>
            <div>
                <label for="roster-week">{tr("Semana de")}</label>
                <input id="roster-week" name="semana" type="date" value=week_value.clone() />
            </div>
            <button type="submit">{tr("Ver semana")}</button>
            <nav class="roster-nav" aria-label=tr("Semanas")>
                <a href=previous rel="prev">{tr("‹ Semana anterior")}</a>
                <a href=next rel="next">{tr("Semana siguiente ›")}</a>
                <a href=csv download="">{tr("Descargar CSV")}</a>
            </nav>
        </form>
        // The calendar is written as one escaped string (like the task list's rows): a week of
        // cells as views was a fifth of this page's WASM. Its remove buttons are plain forms.
        <div class="table-scroll" inner_html=week_html(&week.rows, &days, &gaps, &caption, &week_value, &unit_value)></div>

        <section aria-labelledby="pending-leave" class="roster-section">
            <h2 id="pending-leave">{tr("Licencias por decidir")}</h2>
            {if pending.is_empty() {
                view! { <p class="empty">{tr("No hay solicitudes pendientes.")}</p> }.into_any()
            } else {
                view! { <LeaveTable leaves=pending staff=true week=week_value.clone() unit=unit_value.clone() /> }.into_any()
            }}
        </section>

        <div class="roster-forms">
            <section aria-labelledby="plan-shifts" class="roster-section">
                <h2 id="plan-shifts">{tr("Cargar turnos")}</h2>
                <form method="post" action="/api/fn/plan_shifts" class="stack">
                    <label for="shift-officer">{tr("Efectivo")}</label>
                    <select id="shift-officer" name="officer_id" required>{officer_options}</select>
                    <label for="shift-start">{trf("Inicio ({})", &[&zone_label()])}</label>
                    <input id="shift-start" name="start" type="datetime-local" required />
                    <label for="shift-hours">{tr("Horas de turno")}</label>
                    <input id="shift-hours" name="hours" type="number" min="1" max="24" value="12" required />
                    <label for="shift-pattern">{tr("Esquema")}</label>
                    <select id="shift-pattern" name="pattern">
                        {PATTERNS
                            .iter()
                            .map(|(value, _)| view! { <option value=*value>{tr(pattern_label(value))}</option> })
                            .collect_view()}
                    </select>
                    <label for="shift-until">{tr("Repetir hasta (día)")}</label>
                    <input id="shift-until" name="until" type="date" />
                    <label for="shift-note">{tr("Nota (opcional)")}</label>
                    <input id="shift-note" name="note" maxlength="200" />
                    {h1()}
                    <button type="submit">{tr("Cargar turnos")}</button>
                </form>
            </section>
            <section aria-labelledby="register-leave" class="roster-section">
                <h2 id="register-leave">{tr("Registrar licencia")}</h2>
                <form method="post" action="/api/fn/register_leave" class="stack">
                    <label for="leave-officer">{tr("Efectivo")}</label>
                    <select id="leave-officer" name="officer_id" required>{officer_options_leave}</select>
                    <LeaveFields />
                    {h2()}
                    <button type="submit">{tr("Registrar licencia")}</button>
                </form>
            </section>
        </div>
    }
}

/// The week's table as HTML, every text escaped. Each shift has a plain form that removes it
/// (`remove_shift`: the server answers a plain post with the outcome and the same week).
fn week_html(
    rows: &[contract::roster::RosterRow],
    days: &[NaiveDate],
    gaps: &[Vec<contract::roster::TimeSpan>],
    caption: &str,
    week: &str,
    unit: &str,
) -> String {
    use crate::ui::tasks::push_text;
    let mut h = String::with_capacity(4096 + rows.len() * 1500);
    let attr = |h: &mut String, text: &str| {
        h.push_str(&html_escape::encode_double_quoted_attribute(text));
    };
    h.push_str("<table class=\"data-table roster\" id=\"roster-week-table\"><caption>");
    push_text(&mut h, caption);
    h.push_str("</caption><thead><tr><th scope=\"col\">");
    push_text(&mut h, tr("Efectivo"));
    h.push_str("</th>");
    for d in days {
        h.push_str("<th scope=\"col\">");
        push_text(&mut h, &day_label(*d));
        h.push_str("</th>");
    }
    h.push_str("</tr></thead><tbody>");
    for row in rows {
        h.push_str(&format!("<tr data-officer=\"{}\"><th scope=\"row\"><span class=\"roster-who\">", row.officer_id));
        push_text(&mut h, &format!("{} · {}", row.code, row.name));
        h.push_str(&format!("</span><span class=\"badge duty-{}\">", row.duty.as_str()));
        push_text(&mut h, tr(row.duty.label_es()));
        h.push_str("</span></th>");
        for day in &row.days {
            h.push_str("<td><ul class=\"shifts\">");
            for s in &day.shifts {
                let span = format!("{}–{}", s.from, s.to);
                let label = trf("Quitar el turno {} de {}", &[&span, &row.code]);
                h.push_str("<li><span class=\"shift\">");
                push_text(&mut h, &span);
                h.push_str("</span><form method=\"post\" action=\"/api/fn/remove_shift\" class=\"inline-form\">");
                h.push_str(&format!(
                    "<input type=\"hidden\" name=\"shift_id\" value=\"{}\">",
                    s.shift_id.unwrap_or_default()
                ));
                h.push_str("<input type=\"hidden\" name=\"semana\" value=\"");
                attr(&mut h, week);
                h.push_str("\"><input type=\"hidden\" name=\"unidad\" value=\"");
                attr(&mut h, unit);
                h.push_str("\"><button type=\"submit\" class=\"link small\" aria-label=\"");
                attr(&mut h, &label);
                h.push_str("\" title=\"");
                attr(&mut h, &label);
                h.push_str("\">×</button></form></li>");
            }
            h.push_str("</ul>");
            if let Some(l) = day.leave {
                h.push_str(&format!("<span class=\"badge leave-{}\">", l.status.as_str()));
                push_text(&mut h, &format!("{} ({})", tr(l.kind.label_es()), tr(l.status.label_es()).to_lowercase()));
                h.push_str("</span>");
            }
            h.push_str("</td>");
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody><tfoot><tr class=\"coverage\"><th scope=\"row\">");
    push_text(&mut h, tr("Sin cobertura"));
    h.push_str("</th>");
    for spans in gaps {
        if spans.is_empty() {
            h.push_str("<td class=\"covered\">");
            push_text(&mut h, tr("Cubierto"));
        } else {
            h.push_str("<td class=\"gap\">");
            let text = spans.iter().map(|s| format!("{}–{}", s.from, s.to)).collect::<Vec<_>>().join(", ");
            push_text(&mut h, &text);
        }
        h.push_str("</td>");
    }
    h.push_str("</tr></tfoot></table>");
    h
}

/// The label of a pattern of [`PATTERNS`].
fn pattern_label(value: &str) -> &'static str {
    match value {
        "12x36" => tr_later("12×36 (12 h de turno, 36 h de descanso)"),
        "24x48" => tr_later("24×48 (24 h de turno, 48 h de descanso)"),
        "12x12" => tr_later("Todos los días (12 h de turno)"),
        "8x16" => tr_later("Todos los días (8 h de turno)"),
        _ => tr_later("Un solo turno"),
    }
}

#[component]
fn LeaveFields() -> impl IntoView {
    view! {
        <label for="leave-kind">{tr("Tipo")}</label>
        <select id="leave-kind" name="kind">{leave_kind_options()}</select>
        <label for="leave-first">{tr("Primer día")}</label>
        <input id="leave-first" name="first_day" type="date" required />
        <label for="leave-last">{tr("Último día")}</label>
        <input id="leave-last" name="last_day" type="date" required />
        <label for="leave-reason">{tr("Motivo (opcional)")}</label>
        <input id="leave-reason" name="reason" maxlength="500" />
    }
}

#[component]
fn LeaveTable(leaves: Vec<Leave>, staff: bool, week: String, unit: String) -> impl IntoView {
    view! {
        <table class="data-table compact" id="leave-table">
            <caption>{if staff { tr("Solicitudes de licencia") } else { tr("Mis licencias") }}</caption>
            <thead>
                <tr>
                    <th scope="col">{tr("Efectivo")}</th>
                    <th scope="col">{tr("Tipo")}</th>
                    <th scope="col">{tr("Desde")}</th>
                    <th scope="col">{tr("Hasta")}</th>
                    <th scope="col">{tr("Estado")}</th>
                    <th scope="col">{tr("Motivo")}</th>
                    <th scope="col">{tr("Acción")}</th>
                </tr>
            </thead>
            <tbody>
                {leaves
                    .into_iter()
                    .map(|l| {
                        let who = format!("{} · {}", l.officer_code, l.officer_name);
                        let open = matches!(l.status, LeaveStatus::Requested | LeaveStatus::Approved);
                        let buttons: Vec<(&str, &str)> = match (staff, l.status) {
                            (true, LeaveStatus::Requested) => {
                                vec![("aprobar", tr_later("Aprobar")), ("rechazar", tr_later("Rechazar"))]
                            }
                            (false, _) if open => vec![("anular", tr_later("Anular"))],
                            _ => Vec::new(),
                        };
                        let (w, u) = (week.clone(), unit.clone());
                        view! {
                            <tr data-leave=l.id>
                                <td>{who.clone()}</td>
                                <td>{tr(l.kind.label_es())}</td>
                                <td>{l.first_day.format("%d/%m/%Y").to_string()}</td>
                                <td>{l.last_day.format("%d/%m/%Y").to_string()}</td>
                                <td><span class=format!("badge leave-{}", l.status.as_str())>{tr(l.status.label_es())}</span></td>
                                <td>{l.reason.clone().unwrap_or_default()}</td>
                                <td>
                                    {buttons
                                        .into_iter()
                                        .map(|(value, label)| {
                                            let aria = trf("{} la licencia de {}", &[tr(label), &who]);
                                            let (w, u) = (w.clone(), u.clone());
                                            view! {
                                                <form method="post" action="/api/fn/decide_leave" class="inline-form">
                                                    <input type="hidden" name="leave_id" value=l.id.to_string() />
                                                    <input type="hidden" name="decision" value=value />
                                                    <input type="hidden" name="semana" value=w />
                                                    <input type="hidden" name="unidad" value=u />
                                                    <button type="submit" class=if value == "aprobar" { "small" } else { "secondary small" } aria-label=aria>
                                                        {tr(label)}
                                                    </button>
                                                </form>
                                            }
                                        })
                                        .collect_view()}
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn OwnRoster(shifts: Vec<Shift>, leaves: Vec<Leave>) -> impl IntoView {
    view! {
        <section aria-labelledby="my-shifts" class="roster-section">
            <h2 id="my-shifts">{trf("Mis turnos de los próximos 14 días ({})", &[&zone_label()])}</h2>
            {if shifts.is_empty() {
                view! { <p class="empty">{tr("No tiene turnos cargados.")}</p> }.into_any()
            } else {
                view! {
                    <ul class="my-shifts">
                        {shifts
                            .into_iter()
                            .map(|s| view! { <li>{format!("{} → {}", local_date_time(&s.starts_at), local_date_time(&s.ends_at))}</li> })
                            .collect_view()}
                    </ul>
                }
                .into_any()
            }}
        </section>
        <section aria-labelledby="my-leave" class="roster-section">
            <h2 id="my-leave">{tr("Mis licencias")}</h2>
            {if leaves.is_empty() {
                view! { <p class="empty">{tr("No tiene licencias.")}</p> }.into_any()
            } else {
                view! { <LeaveTable leaves staff=false week=String::new() unit=String::new() /> }.into_any()
            }}
        </section>
        <section aria-labelledby="request-leave" class="roster-section">
            <h2 id="request-leave">{tr("Solicitar licencia")}</h2>
            <form method="post" action="/api/fn/register_leave" class="stack narrow">
                <LeaveFields />
                <button type="submit">{tr("Solicitar licencia")}</button>
            </form>
        </section>
    }
}
