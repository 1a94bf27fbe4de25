//! One task: its data, the transitions this viewer may perform (plain forms: they work
//! without JavaScript), its officers and its history.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::auth::whoami;
use crate::api::tasks::{TaskDetail, TransitionTask, task_detail};
use crate::api::{ApiError, ErrorCode};
use crate::domain::TaskStatus;
use crate::ui::Layout;
use crate::ui::live::{refresh_on, task_event_id};
use crate::ui::overview::signed_out;

/// The button label for moving a task from `from` to `to`.
fn action_label(from: TaskStatus, to: TaskStatus) -> &'static str {
    match (from, to) {
        (TaskStatus::Paused, TaskStatus::InProgress) => "Reanudar",
        (_, TaskStatus::InProgress) => "Iniciar",
        (_, TaskStatus::Paused) => "Pausar",
        (_, TaskStatus::Completed) => "Finalizar",
        (_, TaskStatus::Cancelled) => "Cancelar tarea",
        _ => "Cambiar estado",
    }
}

fn error_message(code: &str) -> &'static str {
    match code {
        "conflict" => "La tarea cambió o la transición no es válida. Revise su estado actual.",
        "validation" => "Revise los datos: para cancelar hace falta un motivo.",
        "forbidden" => "No tiene permiso para realizar esta acción.",
        "not_found" => "La tarea no existe.",
        _ => "No se pudo completar la acción.",
    }
}

#[component]
pub fn TaskDetailPage() -> impl IntoView {
    let user = Resource::new(|| (), |_| whoami());
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Cargando…"</p> }>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(Some(user)) => view! { <Layout user><TaskDetailData /></Layout> }.into_any(),
                    Ok(None) => signed_out(ApiError::new(ErrorCode::Unauthenticated, "Debe iniciar sesión.")),
                    Err(e) => signed_out(e),
                }
            })}
        </Suspense>
    }
}

/// The task, reloaded after the viewer's own transitions and when it changes elsewhere; the
/// frame around it stays.
#[component]
fn TaskDetailData() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let transition = ServerAction::<TransitionTask>::new();
    // Refetch when this task changes elsewhere (another session, the bot, the REST API).
    let task_id = move || params.read().get("id").and_then(|id| id.parse::<i64>().ok());
    let live = refresh_on(move |e| task_event_id(e).is_some_and(|id| Some(id) == task_id()));
    let data = Resource::new(
        move || (task_id(), transition.version().get(), live.get()),
        |(id, _, _)| async move {
            let id = id.ok_or_else(|| ApiError::new(ErrorCode::NotFound, "La tarea no existe."))?;
            task_detail(id).await
        },
    );
    let error = move || match transition.value().get() {
        Some(Err(e)) => Some(e.message),
        Some(Ok(_)) => None,
        None => query.read().get("error").map(|c| error_message(&c).to_owned()),
    };
    view! {
        <Transition fallback=|| view! { <p class="loading">"Cargando…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(task) => view! { <TaskView task transition error /> }.into_any(),
                    Err(e) => view! {
                        <Title text="Tarea" />
                        <p role="alert" class="error">{e.message}</p>
                        <a href="/tareas">"Volver a las tareas"</a>
                    }
                    .into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn TaskView(
    task: TaskDetail,
    transition: ServerAction<TransitionTask>,
    error: impl Fn() -> Option<String> + Send + Sync + 'static,
) -> impl IntoView {
    let status = task.status;
    let id = task.id;
    let title = format!("{} · {}", task.code, task.title);
    let duration = task.duration_seconds.map(|s| format!("{} h {:02} min", s / 3600, (s % 3600) / 60));
    let dash = || "—".to_owned();
    view! {
        <Title text=title.clone() />
            <p>
                <a href="/tareas">"← Tareas"</a>
            </p>
            <h1>{title}</h1>
            <p>
                <span class=format!("badge status-{}", status.as_str())>{status.label_es()}</span>
                " "
                <span class=format!("badge priority-{}", task.priority.as_str())>{task.priority.label_es()}</span>
                " "
                <span>{task.task_type.label_es()}</span>
            </p>
            {move || error().map(|m| view! { <p class="error" role="alert">{m}</p> })}
            <section aria-labelledby="acciones">
                <h2 id="acciones">"Acciones"</h2>
                {if task.allowed_transitions.is_empty() {
                    view! { <p class="empty">"No hay acciones disponibles para usted en este estado."</p> }.into_any()
                } else {
                    view! {
                        <div class="actions">
                            {task
                                .allowed_transitions
                                .iter()
                                .map(|&to| {
                                    let cancel = to == TaskStatus::Cancelled;
                                    view! {
                                        <ActionForm action=transition attr:class="inline-form">
                                            <input type="hidden" name="id" value=id.to_string() />
                                            <input type="hidden" name="to" value=to.as_str() />
                                            {cancel
                                                .then(|| {
                                                    view! {
                                                        <label for="reason">"Motivo"</label>
                                                        <input id="reason" name="reason" required />
                                                    }
                                                })}
                                            <button type="submit" class=if cancel { "danger" } else { "" }>
                                                {action_label(status, to)}
                                            </button>
                                        </ActionForm>
                                    }
                                })
                                .collect_view()}
                        </div>
                    }
                    .into_any()
                }}
            </section>
            <section aria-labelledby="datos">
                <h2 id="datos">"Datos"</h2>
                <dl class="facts">
                    <dt>"Descripción"</dt>
                    <dd>{task.description.unwrap_or_else(dash)}</dd>
                    <dt>"Delegado"</dt>
                    <dd>{task.supervisor.unwrap_or_else(dash)}</dd>
                    <dt>"Inicio programado"</dt>
                    <dd>{task.scheduled_start_local.unwrap_or_else(dash)}</dd>
                    <dt>"Fin programado"</dt>
                    <dd>{task.scheduled_end_local.unwrap_or_else(dash)}</dd>
                    <dt>"Inicio real"</dt>
                    <dd>{task.actual_start_local.unwrap_or_else(dash)}</dd>
                    <dt>"Fin real"</dt>
                    <dd>{task.actual_end_local.unwrap_or_else(dash)}</dd>
                    <dt>"Duración"</dt>
                    <dd>{duration.unwrap_or_else(dash)}</dd>
                    <dt>"Ubicación"</dt>
                    <dd>
                        {task.location_text.unwrap_or_else(dash)}
                        {task.lat.zip(task.lon).map(|(lat, lon)| format!(" ({lat:.5}, {lon:.5})"))}
                    </dd>
                </dl>
            </section>
            <section aria-labelledby="efectivos">
                <h2 id="efectivos">"Efectivos asignados"</h2>
                {if task.assignments.is_empty() {
                    view! { <p class="empty">"Sin efectivos asignados."</p> }.into_any()
                } else {
                    view! {
                        <ul>
                            {task
                                .assignments
                                .into_iter()
                                .map(|a| {
                                    view! {
                                        <li>
                                            {a.name} " (" {a.code} ") — " {a.status.label_es()}
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ul>
                    }
                    .into_any()
                }}
            </section>
            <section aria-labelledby="historial">
                <h2 id="historial">"Historial"</h2>
                <ol class="timeline">
                    {task
                        .history
                        .into_iter()
                        .map(|h| {
                            view! {
                                <li>
                                    <time>{h.at_local}</time>
                                    " · "
                                    {h.from.map(|f| format!("{} → ", f.label_es()))}
                                    <strong>{h.to.label_es()}</strong>
                                    {h.by.map(|b| format!(" · {b}"))}
                                    {h.reason.map(|r| format!(" · {r}"))}
                                </li>
                            }
                        })
                        .collect_view()}
                </ol>
            </section>
    }
}
