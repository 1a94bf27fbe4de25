//! Emergency (`/emergencia`): report a point (typed, or opened from a map click with
//! `?lat=&lon=`), optionally pick the officer, and see who was dispatched. A plain form: it
//! works without JavaScript (the post returns here with `?tarea=<id>`); with JavaScript the
//! outcome appears in place.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::auth::whoami;
use crate::api::emergency::ReportEmergency;
use crate::api::officers::list_officers;
use crate::api::tasks::task_detail;
use crate::i18n::{tr, tr_msg};
use crate::ui::Layout;
use crate::ui::overview::signed_out;
use crate::ui::page::loaded;
use contract::domain::Role;
use contract::emergency::EmergencyOutcome;
use contract::officers::Officer;
use contract::tasks::TaskDetail;
use contract::{ApiError, ErrorCode};

fn error_message(code: &str, field: &str) -> String {
    match (code, field) {
        ("validation", "lat") => tr("Ingrese una latitud válida, entre -90 y 90.").into(),
        ("validation", "lon") => tr("Ingrese una longitud válida, entre -180 y 180.").into(),
        ("validation", "description") => tr("La descripción es demasiado larga.").into(),
        ("validation", _) => tr("Revise los datos del formulario.").into(),
        ("forbidden", _) => tr("No tiene permiso para elegir el efectivo.").into(),
        _ => tr("No se pudo registrar la emergencia. Intente nuevamente.").into(),
    }
}

#[component]
pub fn EmergencyPage() -> impl IntoView {
    let query = use_query_map();
    // The officers a supervisor may pick from, loaded with the user (no JavaScript needed).
    let user = Resource::new(
        || (),
        |_| async move {
            let Some(user) = whoami().await? else { return Ok(None) };
            let officers = if user.role == Role::Officer {
                Vec::new()
            } else {
                list_officers(None, None, None, None, Some(200)).await?.items
            };
            Ok::<_, ApiError>(Some((user, officers)))
        },
    );
    view! {
        <Title text=tr("Emergencia") />
        <Suspense fallback=|| view! { <p class="loading">{tr("Cargando…")}</p> }>
            {move || Suspend::new(async move {
                match loaded(user).await {
                    Ok(Some((user, officers))) => {
                        let staff = user.role != Role::Officer;
                        view! {
                            <Layout user>
                                <EmergencyForm staff officers query />
                            </Layout>
                        }
                            .into_any()
                    }
                    Ok(None) => signed_out(ApiError::new(ErrorCode::Unauthenticated, tr("Debe iniciar sesión."))),
                    Err(error) => view! { <crate::ui::page::PageError title=tr("Emergencia") error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn EmergencyForm(staff: bool, officers: Vec<Officer>, query: Memo<leptos_router::params::ParamsMap>) -> impl IntoView {
    let report = ServerAction::<ReportEmergency>::new();
    let q = move |name: &str| query.with_untracked(|q| q.get(name)).unwrap_or_default();
    let (lat, lon) = (q("lat"), q("lon"));
    // After a plain form post: the task just created (`?tarea=`).
    let created = Resource::new(
        move || query.with(|q| q.get("tarea").and_then(|t| t.parse::<i64>().ok())),
        |id| async move {
            match id {
                Some(id) => task_detail(id).await.map(Some),
                None => Ok::<_, ApiError>(None),
            }
        },
    );
    let error = move || match report.value().get() {
        Some(Err(e)) => Some(e.fields.first().map_or(tr_msg(&e.message), |f| tr_msg(&f.message))),
        Some(Ok(_)) => None,
        None => query.with(|q| q.get("error").map(|c| error_message(&c, &q.get("campo").unwrap_or_default()))),
    };
    view! {
        <h1>{tr("Emergencia")}</h1>
        <p class="muted">
            {tr("Se crea una tarea de emergencia de prioridad crítica en el punto indicado y se despacha al efectivo disponible más cercano (o al elegido).")}
        </p>
        <ActionForm action=report attr:class="emergency-form">
            <div class="field-row">
                <div class="field">
                    <label for="em-lat">{tr("Latitud")}</label>
                    <input id="em-lat" name="lat" inputmode="decimal" required value=lat placeholder="-34.6037" />
                </div>
                <div class="field">
                    <label for="em-lon">{tr("Longitud")}</label>
                    <input id="em-lon" name="lon" inputmode="decimal" required value=lon placeholder="-58.3816" />
                </div>
            </div>
            <div class="field">
                <label for="em-desc">{tr("Descripción")}</label>
                <textarea id="em-desc" name="description" rows="3" maxlength="2000"></textarea>
            </div>
            {staff
                .then(|| {
                    view! {
                        <div class="field">
                            <label for="em-officer">{tr("Efectivo a despachar")}</label>
                            <select id="em-officer" name="officer_id">
                                <option value="">{tr("El disponible más cercano")}</option>
                                {officers
                                    .into_iter()
                                    .map(|o| {
                                        view! {
                                            <option value=o.id.to_string()>
                                                {format!(
                                                    "{} · {} {} ({})",
                                                    o.code,
                                                    o.first_name,
                                                    o.last_name,
                                                    tr(o.status.label_es()),
                                                )}
                                            </option>
                                        }
                                    })
                                    .collect_view()}
                            </select>
                        </div>
                    }
                })}
            {move || error().map(|m| view! { <p class="error" role="alert">{m}</p> })}
            <button type="submit" class="danger" disabled=move || report.pending().get()>
                {tr("Reportar emergencia")}
            </button>
        </ActionForm>
        {move || match report.value().get() {
            Some(Ok(outcome)) => Some(view! { <Outcome outcome /> }.into_any()),
            _ => None,
        }}
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match loaded(created).await {
                    Ok(Some(task)) => Some(view! { <Dispatched task /> }.into_any()),
                    Ok(None) => None,
                    Err(e) => Some(view! { <p class="error" role="alert">{tr_msg(&e.message)}</p> }.into_any()),
                }
            })}
        </Suspense>
    }
}

/// With JavaScript: the task, who was dispatched and the ranked candidates with distances.
#[component]
fn Outcome(outcome: EmergencyOutcome) -> impl IntoView {
    let assigned = outcome.assigned_officer_ids.clone();
    view! {
        <Dispatched task=outcome.task />
        {outcome.not_dispatched.map(|why| view! { <p class="warning" role="alert">{tr_msg(&why)}</p> })}
        {(!outcome.candidates.is_empty())
            .then(|| {
                view! {
                    <table class="data-table compact">
                        <caption>{tr("Efectivos disponibles más cercanos")}</caption>
                        <thead>
                            <tr>
                                <th scope="col">{tr("Efectivo")}</th>
                                <th scope="col">{tr("Distancia")}</th>
                                <th scope="col">{tr("Despachado")}</th>
                            </tr>
                        </thead>
                        <tbody>
                            {outcome
                                .candidates
                                .into_iter()
                                .map(|c| {
                                    let sent = assigned.contains(&c.officer_id);
                                    view! {
                                        <tr>
                                            <td>{format!("{} · {}", c.code, c.name)}</td>
                                            <td>{format!("{:.0} m", c.distance_m)}</td>
                                            <td>{if sent { tr("Sí") } else { "—" }}</td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                }
            })}
    }
}

/// The emergency task and its dispatched officers.
#[component]
fn Dispatched(task: TaskDetail) -> impl IntoView {
    view! {
        <section class="outcome" aria-labelledby="em-outcome" role="status">
            <h2 id="em-outcome">{tr("Emergencia registrada")}</h2>
            <p>
                <a class="mono" href=format!("/tareas/{}", task.id)>{task.code.clone()}</a>
                " · "
                {task.title.clone()}
                {task.lat.zip(task.lon).map(|(lat, lon)| format!(" ({lat:.5}, {lon:.5})"))}
            </p>
            {if task.assignments.is_empty() {
                view! {
                    <p class="error">{tr("No hay efectivos disponibles cerca: asigne uno desde la tarea.")}</p>
                }
                    .into_any()
            } else {
                view! {
                    <p>{tr("Despachado:")}</p>
                    <ul class="dispatched">
                        {task
                            .assignments
                            .into_iter()
                            .map(|a| view! { <li>{format!("{} · {}", a.code, a.name)}</li> })
                            .collect_view()}
                    </ul>
                }
                    .into_any()
            }}
        </section>
    }
}
