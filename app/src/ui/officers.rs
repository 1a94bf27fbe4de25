//! Officers (`/efectivos`, supervisors and admins): the list with status and last position,
//! and one officer (`/efectivos/:id`) with their open tasks and a status change. The status
//! form is a plain HTML form: with JavaScript its answer shows at once; without it the server
//! redirects back with the outcome kept as a one-shot flash (`api::flash`).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::flash::take_flash;
use crate::api::officers::{SetOfficerStatusForm, get_officer, list_officers};
use crate::api::tasks::query_tasks;
use crate::i18n::{tr, tr_msg, trf};
use crate::ui::Layout;
use crate::ui::page::{PageError, loaded, query_string, signed_in};
use contract::domain::{OfficerStatus, TaskStatus};
use contract::flash::FormOutcome;
use contract::officers::{Officer, Position};
use contract::tasks::TaskFilter;
use contract::{ApiError, ErrorCode};

fn position_view(p: Option<Position>) -> AnyView {
    match p {
        Some(p) => view! {
            <span>
                <span class="mono">{format!("{:.5}, {:.5}", p.lat, p.lon)}</span>
                " · " {format!("{} ({})", crate::ui::dates::local_day_month_time(&p.recorded_at), crate::ui::dates::zone_label())} " · "
                <a href=format!("/mapa?lat={:.6}&lon={:.6}", p.lat, p.lon)>"mapa"</a>
            </span>
        }
        .into_any(),
        None => view! { <span class="empty">{tr("Sin posición")}</span> }.into_any(),
    }
}

#[component]
pub fn OfficersPage() -> impl IntoView {
    let query = use_query_map();
    let data = Resource::new(
        move || (query.read().get("status"), query.read().get("q"), query.read().get("cursor")),
        |(status, q, cursor)| async move {
            let user = signed_in().await?;
            let status = status
                .filter(|s| !s.is_empty())
                .map(|s| s.parse::<OfficerStatus>())
                .transpose()
                .map_err(|_| ApiError::new(ErrorCode::Validation, tr("Estado desconocido.")))?;
            let page = list_officers(status, None, q.filter(|q| !q.is_empty()), cursor, Some(100)).await?;
            Ok::<_, ApiError>((user, page))
        },
    );
    view! {
        <Title text=tr("Efectivos") />
        <Suspense fallback=|| view! { <p class="loading">{tr("Cargando…")}</p> }>
            {move || Suspend::new(async move {
                let q = query.get_untracked();
                let status = q.get("status").unwrap_or_default();
                let text = q.get("q").unwrap_or_default();
                match loaded(data).await {
                    Ok((user, page)) => {
                        let next = page.next_cursor.map(|c| {
                            format!("/efectivos{}", query_string(&[("status", status.clone()), ("q", text.clone()), ("cursor", c)]))
                        });
                        view! {
                            <Layout user>
                                <h1>{tr("Efectivos")}</h1>
                                <Form method="GET" action="/efectivos" attr:class="filters" attr:aria-label=tr("Filtros")>
                                    <div class="field"><label for="o-q">{tr("Buscar")}</label><input id="o-q" name="q" type="search" value=text.clone() placeholder=tr("Código, nombre, jerarquía o unidad") /></div>
                                    <div class="field">
                                        <label for="o-status">{tr("Estado")}</label>
                                        <select id="o-status" name="status">
                                            <option value="">{tr("Todos")}</option>
                                            {OfficerStatus::ALL.iter().map(|s| view! { <option value=s.as_str() selected=status == s.as_str()>{tr(s.label_es())}</option> }).collect_view()}
                                        </select>
                                    </div>
                                    <div class="field buttons"><button type="submit">{tr("Filtrar")}</button><a href="/efectivos">{tr("Limpiar")}</a></div>
                                </Form>
                                {if page.items.is_empty() {
                                    view! { <p class="empty">{tr("No hay efectivos para mostrar.")}</p> }.into_any()
                                } else {
                                    view! {
                                        <table class="data-table">
                                            <caption>{tr("Efectivos")}</caption>
                                            <thead><tr>
                                                <th scope="col">{tr("Código")}</th>
                                                <th scope="col">{tr("Nombre")}</th>
                                                <th scope="col">{tr("Jerarquía")}</th>
                                                <th scope="col">{tr("Unidad")}</th>
                                                <th scope="col">{tr("Estado")}</th>
                                                <th scope="col">{tr("Turno")}</th>
                                                <th scope="col">{tr("Última posición")}</th>
                                            </tr></thead>
                                            <tbody>
                                                {page.items.into_iter().map(|o| view! {
                                                    <tr>
                                                        <td class="mono"><a href=format!("/efectivos/{}", o.id)>{o.code}</a></td>
                                                        <td>{format!("{} {}", o.first_name, o.last_name)}</td>
                                                        <td>{o.rank}</td>
                                                        <td>{o.unit}</td>
                                                        <td><span class=format!("badge officer-{}", o.status.as_str())>{tr(o.status.label_es())}</span></td>
                                                        <td>{duty_text(o.duty)}</td>
                                                        <td>{position_view(o.last_position)}</td>
                                                    </tr>
                                                }).collect_view()}
                                            </tbody>
                                        </table>
                                    }
                                    .into_any()
                                }}
                                {next.map(|h| view! { <nav class="pager" aria-label=tr("Páginas")><a href=h rel="next">{tr("Siguiente »")}</a></nav> })}
                            </Layout>
                        }
                        .into_any()
                    }
                    Err(error) => view! { <PageError title=tr("Efectivos") error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn OfficerDetailPage() -> impl IntoView {
    let params = use_params_map();
    let set_status = ServerAction::<SetOfficerStatusForm>::new();
    // Another officer (same page component): the previous answer does not belong to them.
    Effect::new(move |previous: Option<Option<String>>| {
        let id = params.read().get("id");
        if previous.is_some_and(|p| p != id) {
            set_status.value().set(None);
        }
        id
    });
    let data = Resource::new(
        move || (params.read().get("id"), set_status.version().get()),
        |(id, _)| async move {
            let user = signed_in().await?;
            let id = id
                .and_then(|id| id.parse::<i64>().ok())
                .ok_or_else(|| ApiError::new(ErrorCode::NotFound, tr("El efectivo no existe.")))?;
            let officer = get_officer(id).await?;
            let filter = TaskFilter {
                statuses: vec![TaskStatus::Scheduled, TaskStatus::InProgress, TaskStatus::Paused],
                officer_id: Some(id),
                limit: Some(50),
                ..TaskFilter::default()
            };
            let tasks = query_tasks(filter).await?.items;
            let flash = take_flash(format!("/efectivos/{id}")).await?;
            Ok::<_, ApiError>((user, officer, tasks, flash))
        },
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading">{tr("Cargando…")}</p> }>
            {move || Suspend::new(async move {
                match loaded(data).await {
                    Ok((user, officer, tasks, flash)) => {
                        let can_edit = user.role != contract::domain::Role::Officer;
                        // The answer given with JavaScript, else what a plain post left.
                        let outcome = Signal::derive(move || {
                            match set_status.value().get() {
                                Some(Ok(officer)) => Some(FormOutcome::OfficerStatus(officer)),
                                Some(Err(error)) => Some(FormOutcome::Failed(error)),
                                None => flash.clone(),
                            }
                        });
                        view! { <OfficerView user officer tasks can_edit set_status outcome /> }.into_any()
                    }
                    Err(error) => view! { <PageError title=tr("Efectivo") error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn OfficerView(
    user: contract::auth::CurrentUser,
    officer: Officer,
    tasks: Vec<contract::tasks::TaskSummary>,
    can_edit: bool,
    set_status: ServerAction<SetOfficerStatusForm>,
    outcome: Signal<Option<FormOutcome>>,
) -> impl IntoView {
    let title = format!("{} {} ({})", officer.first_name, officer.last_name, officer.code);
    let current = officer.status;
    let duty = officer.duty;
    let result = move || match outcome.get()? {
        FormOutcome::OfficerStatus(o) => Some(
            view! { <p class="success" role="status">{trf("Estado guardado: {}.", &[tr(o.status.label_es())])}</p> }
                .into_any(),
        ),
        FormOutcome::Failed(e) => Some(view! { <p class="error" role="alert">{tr_msg(&e.message)}</p> }.into_any()),
        _ => None,
    };
    view! {
        <Title text=title.clone() />
        <Layout user>
            <p><a href="/efectivos">{tr("← Efectivos")}</a></p>
            <h1>{title}</h1>
            <p>
                <span class=format!("badge officer-{}", current.as_str())>{tr(current.label_es())}</span>
                " "
                {duty_text(duty)}
            </p>
            {result}
            <section aria-labelledby="datos">
                <h2 id="datos">{tr("Datos")}</h2>
                <dl class="facts">
                    <dt>{tr("Jerarquía")}</dt><dd>{officer.rank}</dd>
                    <dt>{tr("Unidad")}</dt><dd>{officer.unit}</dd>
                    <dt>{tr("Especialidad")}</dt><dd>{officer.specialty.unwrap_or_else(|| "—".into())}</dd>
                    <dt>{tr("Última posición")}</dt><dd>{position_view(officer.last_position)}</dd>
                </dl>
            </section>
            {can_edit.then(|| view! {
                <section aria-labelledby="estado">
                    <h2 id="estado">{tr("Cambiar estado")}</h2>
                    <ActionForm action=set_status attr:class="inline-form">
                        <input type="hidden" name="officer_id" value=officer.id.to_string() />
                        <label for="o-new-status">{tr("Nuevo estado")}</label>
                        <select id="o-new-status" name="status">
                            {OfficerStatus::ALL.iter().map(|s| view! { <option value=s.as_str() selected=*s == current>{tr(s.label_es())}</option> }).collect_view()}
                        </select>
                        <button type="submit">{tr("Guardar estado")}</button>
                    </ActionForm>
                </section>
            })}
            <section aria-labelledby="tareas-actuales">
                <h2 id="tareas-actuales">{tr("Tareas actuales")}</h2>
                {if tasks.is_empty() {
                    view! { <p class="empty">{tr("Sin tareas abiertas.")}</p> }.into_any()
                } else {
                    view! {
                        <ul>
                            {tasks.into_iter().map(|t| view! {
                                <li>
                                    <a class="mono" href=format!("/tareas/{}", t.id)>{t.code}</a>
                                    " · " {t.title} " · " {tr(t.status.label_es())}
                                    {t.scheduled_start.map(|s| format!(" · {s}"))}
                                </li>
                            }).collect_view()}
                        </ul>
                    }
                    .into_any()
                }}
            </section>
        </Layout>
    }
}

/// An officer's duty now as the lists show it: a badge, or a dash without shifts on record.
pub fn duty_text(duty: contract::domain::Duty) -> AnyView {
    if duty == contract::domain::Duty::NoRoster {
        view! { <span class="muted">"—"</span> }.into_any()
    } else {
        view! { <span class=format!("badge duty-{}", duty.as_str())>{tr(duty.label_es())}</span> }.into_any()
    }
}
