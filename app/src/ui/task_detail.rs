//! One task: its data, the transitions this viewer may perform (plain forms: they work
//! without JavaScript), its location, the assignment editor (officers with their status,
//! distance and overlapping tasks) and the status history.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::assignment::{AssignOfficerForm, assignment_candidates};
use crate::api::auth::whoami;
use crate::api::tasks::{AcknowledgeTask, TransitionTask, UnassignOfficer, task_detail};
use crate::i18n::{tr, tr_msg, trf};
use crate::ui::Layout;
use crate::ui::live::{task_event_id, use_live};
use crate::ui::map::TaskMiniMap;
use crate::ui::page::loaded;
use contract::assignment::AssignmentCandidate;
use contract::auth::CurrentUser;
use contract::domain::{Role, TaskStatus};
use contract::events::Event;
use contract::format::distance;
use contract::geo::TaskOnMap;
use contract::tasks::TaskDetail;
use contract::{ApiError, ErrorCode};

/// The button label for moving a task from `from` to `to`.
fn action_label(from: TaskStatus, to: TaskStatus) -> &'static str {
    match (from, to) {
        (TaskStatus::Paused, TaskStatus::InProgress) => tr("Reanudar"),
        (_, TaskStatus::InProgress) => tr("Iniciar"),
        (_, TaskStatus::Paused) => tr("Pausar"),
        (_, TaskStatus::Completed) => tr("Finalizar"),
        (_, TaskStatus::Cancelled) => tr("Cancelar tarea"),
        _ => tr("Cambiar estado"),
    }
}

fn error_message(code: &str) -> &'static str {
    match code {
        "conflict" => tr("La tarea cambió o la transición no es válida. Revise su estado actual."),
        "validation" => tr("Revise los datos: para cancelar hace falta un motivo."),
        "forbidden" => tr("No tiene permiso para realizar esta acción."),
        "not_found" => tr("La tarea no existe."),
        _ => tr("No se pudo completar la acción."),
    }
}

/// Whether the page already shows what `event` announces.
fn already_shown(task: &TaskDetail, event: &Event) -> bool {
    let assigned = |officer: i64| task.assignments.iter().any(|a| a.officer_id == officer);
    match event {
        Event::TaskStatusChanged { to, .. } => task.status == *to,
        Event::TaskAssigned { officer_ids, .. } => officer_ids.iter().all(|&o| assigned(o)),
        Event::TaskUnassigned { officer_id, .. } => !assigned(*officer_id),
        _ => false,
    }
}

/// One load of the task page's data, counted in its signal for as long as it lives: a load
/// given up halfway counts itself out too.
struct Loading(RwSignal<u32>);

impl Loading {
    fn start(loading: RwSignal<u32>) -> Self {
        loading.try_update(|n| *n += 1);
        Self(loading)
    }
}

impl Drop for Loading {
    fn drop(&mut self) {
        self.0.try_update(|n| *n = n.saturating_sub(1));
    }
}

#[component]
pub fn TaskDetailPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let transition = ServerAction::<TransitionTask>::new();
    let assign = ServerAction::<AssignOfficerForm>::new();
    let unassign = ServerAction::<UnassignOfficer>::new();
    let acknowledge = ServerAction::<AcknowledgeTask>::new();
    // Disposed with the actions: a load that resolves after the page was left (or replaced)
    // renders nothing instead of building forms on disposed actions (a panic in the browser).
    let alive = RwSignal::new(());
    // Refetched after this page's own actions, and when this task changes elsewhere (another
    // session, the bot, the REST API): see the effect below.
    let task_id = move || params.read().get("id").and_then(|id| id.parse::<i64>().ok());
    let live = RwSignal::new(0u64);
    // Loads of the data under way: a live event that arrives during one is judged against
    // what that load brings (see the effects below).
    let loading = RwSignal::new(0u32);
    let data = Resource::new(
        move || {
            let versions = (
                transition.version().get(),
                assign.version().get(),
                unassign.version().get(),
                acknowledge.version().get(),
            );
            (params.read().get("id"), versions, live.get())
        },
        move |(id, ..)| async move {
            let _loading = Loading::start(loading);
            let user =
                whoami().await?.ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated, tr("Debe iniciar sesión.")))?;
            let id = id
                .and_then(|id| id.parse::<i64>().ok())
                .ok_or_else(|| ApiError::new(ErrorCode::NotFound, tr("La tarea no existe.")))?;
            let task = task_detail(id).await?;
            let candidates =
                if task.can_manage && !task.status.is_final() { Some(assignment_candidates(id).await?) } else { None };
            Ok::<_, ApiError>((user, task, candidates))
        },
    );
    // A live event for this task refetches it unless it is news the page already has: the echo
    // of its own action (which refetches when it completes), or a change already shown. An
    // event that arrives while a load is under way (the echo of an action that has just
    // completed, say) waits for that load and is judged against what it brought. One fetch per
    // change, not two.
    let hub = use_live();
    let seen = hub.last.with_untracked(|m| m.as_ref().map_or(0, |m| m.seq));
    let shown =
        move |event: &Event| data.with_untracked(|d| matches!(d, Some(Ok((_, task, _))) if already_shown(task, event)));
    let held = StoredValue::new(Vec::<Event>::new());
    Effect::new(move |_| {
        let Some(message) = hub.last.get() else { return };
        if message.seq <= seen {
            return;
        }
        let refetch = match &message.event {
            None => true,
            Some(event) => {
                let own_action_pending = transition.pending().get_untracked()
                    || assign.pending().get_untracked()
                    || unassign.pending().get_untracked();
                let about_this_task = task_event_id(event).is_some_and(|id| Some(id) == task_id());
                if !about_this_task || own_action_pending {
                    false
                } else if loading.get_untracked() > 0 {
                    held.update_value(|held| held.push(event.clone()));
                    false
                } else {
                    !shown(event)
                }
            }
        };
        if refetch {
            live.update(|v| *v += 1);
        }
    });
    Effect::new(move |_| {
        data.track();
        if loading.get_untracked() > 0 {
            return;
        }
        let held = held.try_update_value(std::mem::take).unwrap_or_default();
        if held.iter().any(|event| !shown(event)) {
            live.update(|v| *v += 1);
        }
    });
    // The latest failed action (in place, with JavaScript) or the redirect's `?error=`.
    let error = move || {
        let failed = [
            transition.value().get().and_then(Result::err),
            assign.value().get().and_then(Result::err),
            unassign.value().get().and_then(Result::err),
        ];
        match failed.into_iter().flatten().next() {
            Some(e) => Some(tr_msg(&e.message)),
            None => query.read().get("error").map(|c| error_message(&c).to_owned()),
        }
    };
    // A transition, not a suspense: a refetch (a live event, an action completing) keeps the
    // page on screen until the new data arrives, instead of blanking it to "Cargando…" under
    // the reader's pointer (a click landing in that gap was lost).
    view! {
        <Transition fallback=|| view! { <p class="loading">{tr("Cargando…")}</p> }>
            {move || Suspend::new(async move {
                let loaded = loaded(data).await;
                if alive.try_get_untracked().is_none() {
                    return ().into_any();
                }
                match loaded {
                    Ok((user, task, candidates)) => {
                        view! { <TaskView user task candidates transition assign unassign acknowledge error /> }.into_any()
                    }
                    Err(e) => view! {
                        <main class="centered">
                            <Title text=tr("Tarea") />
                            <p role="alert" class="error">{tr_msg(&e.message)}</p>
                            <a href="/tareas">{tr("Volver a las tareas")}</a>
                        </main>
                    }
                    .into_any(),
                }
            })}
        </Transition>
    }
}

/// The first step of an irreversible transition: a button that opens its confirmation.
#[component]
fn AskFirst(id: i64, to: TaskStatus, label: &'static str) -> impl IntoView {
    view! {
        <Form method="GET" action=format!("/tareas/{id}") attr:class="inline-form">
            <input type="hidden" name="confirmar" value=to.as_str() />
            <button type="submit" class=if to == TaskStatus::Cancelled { "danger" } else { "" }>
                {label}
            </button>
        </Form>
    }
}

/// The confirmation of finishing or cancelling (a reason is required to cancel).
#[component]
fn Confirm(id: i64, to: TaskStatus, code: String, transition: ServerAction<TransitionTask>) -> impl IntoView {
    let cancel = to == TaskStatus::Cancelled;
    let (question, yes) = if cancel {
        (trf("¿Cancelar la tarea {}? No se puede deshacer.", &[&code]), tr("Sí, cancelar la tarea"))
    } else {
        (trf("¿Finalizar la tarea {}? No se puede deshacer.", &[&code]), tr("Sí, finalizar"))
    };
    let label = question.clone();
    view! {
        <div class="confirm" role="group" aria-label=label>
            <p>
                <strong>{question}</strong>
            </p>
            <ActionForm action=transition attr:class="inline-form">
                <input type="hidden" name="id" value=id.to_string() />
                <input type="hidden" name="to" value=to.as_str() />
                {cancel
                    .then(|| {
                        view! {
                            <label for="reason">{tr("Motivo")}</label>
                            <input id="reason" name="reason" required maxlength="1000" />
                        }
                    })}
                <button type="submit" class=if cancel { "danger" } else { "" }>{yes}</button>
            </ActionForm>
            <a href=format!("/tareas/{id}")>{tr("No, volver")}</a>
        </div>
    }
}

#[component]
fn TaskView(
    user: CurrentUser,
    task: TaskDetail,
    candidates: Option<Vec<AssignmentCandidate>>,
    transition: ServerAction<TransitionTask>,
    assign: ServerAction<AssignOfficerForm>,
    unassign: ServerAction<UnassignOfficer>,
    acknowledge: ServerAction<AcknowledgeTask>,
    error: impl Fn() -> Option<String> + Send + Sync + 'static,
) -> impl IntoView {
    let query = use_query_map();
    let status = task.status;
    let id = task.id;
    // Officers see their task's place; where colleagues are is for supervisors and admins.
    let see_officers = user.role != Role::Officer;
    let title = format!("{} · {}", task.code, task.title);
    let duration = task.duration_seconds.map(|s| format!("{} h {:02} min", s / 3600, (s % 3600) / 60));
    let dash = || "—".to_owned();
    view! {
        <Title text=title.clone() />
        <Layout user>
            <p>
                <a href="/tareas">{tr("← Tareas")}</a>
            </p>
            <div class="page-head">
                <h1>{title}</h1>
                {(task.can_manage && !status.is_final())
                    .then(|| view! { <a class="button" href=format!("/tareas/{id}/editar")>{tr("Editar")}</a> })}
            </div>
            <p>
                <span class=format!("badge status-{}", status.as_str())>{tr(status.label_es())}</span>
                " "
                <span class=format!("badge priority-{}", task.priority.as_str())>{tr(task.priority.label_es())}</span>
                " "
                <span>{tr(task.task_type.label_es())}</span>
            </p>
            {move || error().map(|m| view! { <p class="error" role="alert">{m}</p> })}
            <section aria-labelledby="acciones">
                <h2 id="acciones">{tr("Acciones")}</h2>
                {if task.allowed_transitions.is_empty() {
                    view! { <p class="empty">{tr("No hay acciones disponibles para usted en este estado.")}</p> }.into_any()
                } else {
                    let transitions = task.allowed_transitions.clone();
                    let code = task.code.clone();
                    // Finishing and cancelling cannot be undone: their button asks first
                    // (`?confirmar=`, a page of its own, so it works without JavaScript too).
                    let asked = move || query.read().get("confirmar");
                    view! {
                        <div class="actions">
                            {move || {
                                let asked = asked();
                                transitions
                                    .iter()
                                    .map(|&to| {
                                        let confirm = matches!(to, TaskStatus::Completed | TaskStatus::Cancelled);
                                        if confirm && asked.as_deref() != Some(to.as_str()) {
                                            view! { <AskFirst id to label=action_label(status, to) /> }.into_any()
                                        } else if confirm {
                                            view! { <Confirm id to code=code.clone() transition /> }.into_any()
                                        } else {
                                            view! {
                                                <ActionForm action=transition attr:class="inline-form">
                                                    <input type="hidden" name="id" value=id.to_string() />
                                                    <input type="hidden" name="to" value=to.as_str() />
                                                    <button type="submit">{action_label(status, to)}</button>
                                                </ActionForm>
                                            }
                                                .into_any()
                                        }
                                    })
                                    .collect_view()
                            }}
                        </div>
                    }
                    .into_any()
                }}
                {task.can_acknowledge.then(|| view! {
                    <ActionForm action=acknowledge attr:class="inline-form">
                        <input type="hidden" name="task_id" value=id.to_string() />
                        <button type="submit" class="secondary">{tr("Confirmar recepción")}</button>
                    </ActionForm>
                })}
            </section>
            {(!task.deadlines.is_empty()).then(|| view! { <Deadlines deadlines=task.deadlines.clone() /> })}
            <section aria-labelledby="datos">
                <h2 id="datos">{tr("Datos")}</h2>
                <dl class="facts">
                    <dt>{tr("Descripción")}</dt>
                    <dd>{task.description.unwrap_or_else(dash)}</dd>
                    <dt>{tr("Delegado")}</dt>
                    <dd>{task.supervisor.unwrap_or_else(dash)}</dd>
                    <dt>{tr("Inicio programado")}</dt>
                    <dd>{task.scheduled_start_local.unwrap_or_else(dash)}</dd>
                    <dt>{tr("Fin programado")}</dt>
                    <dd>{task.scheduled_end_local.unwrap_or_else(dash)}</dd>
                    <dt>{tr("Inicio real")}</dt>
                    <dd>{task.actual_start_local.unwrap_or_else(dash)}</dd>
                    <dt>{tr("Fin real")}</dt>
                    <dd>{task.actual_end_local.unwrap_or_else(dash)}</dd>
                    <dt>{tr("Duración")}</dt>
                    <dd>{duration.unwrap_or_else(dash)}</dd>
                    <dt>{tr("Lugar")}</dt>
                    <dd>{task.location_text.clone().unwrap_or_else(dash)}</dd>
                </dl>
            </section>
            <section aria-labelledby="ubicacion">
                <h2 id="ubicacion">{tr("Ubicación")}</h2>
                {match task.lat.zip(task.lon) {
                    Some((lat, lon)) => {
                        let on_map = TaskOnMap {
                            task_id: id,
                            code: task.code.clone(),
                            title: task.title.clone(),
                            task_type: task.task_type,
                            priority: task.priority,
                            status,
                            lat,
                            lon,
                            location_text: task.location_text.clone(),
                            distance_m: None,
                            overdue: task.deadlines.iter().any(|d| d.late && d.met_at.is_none()),
                        };
                        let officer_ids: Vec<i64> = task.assignments.iter().map(|a| a.officer_id).collect();
                        view! {
                            <p>
                                <span class="mono">{format!("{lat:.5}, {lon:.5}")}</span>
                                " · "
                                <a href=format!("/mapa?lat={lat:.6}&lon={lon:.6}")>{tr("Ver en el mapa")}</a>
                            </p>
                            <TaskMiniMap task=on_map officer_ids see_officers />
                        }
                        .into_any()
                    }
                    None => view! { <p class="empty">{tr("La tarea no tiene coordenadas.")}</p> }.into_any(),
                }}
            </section>
            <section aria-labelledby="efectivos">
                <h2 id="efectivos">{tr("Efectivos asignados")}</h2>
                {if task.assignments.is_empty() {
                    view! { <p class="empty">{tr("Sin efectivos asignados.")}</p> }.into_any()
                } else {
                    let manage = task.can_manage && !status.is_final();
                    view! {
                        <ul class="assigned">
                            {task
                                .assignments
                                .into_iter()
                                .map(|a| {
                                    let officer_id = a.officer_id.to_string();
                                    view! {
                                        <li>
                                            {a.name} " (" {a.code} ") — " {tr(a.status.label_es())}
                                            {a.overlap_override.then_some(tr(" · asignado con superposición"))}
                                            {manage
                                                .then(|| {
                                                    view! {
                                                        <ActionForm action=unassign attr:class="inline-form">
                                                            <input type="hidden" name="task_id" value=id.to_string() />
                                                            <input type="hidden" name="officer_id" value=officer_id />
                                                            <button type="submit" class="secondary small">{tr("Quitar")}</button>
                                                        </ActionForm>
                                                    }
                                                })}
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ul>
                    }
                    .into_any()
                }}
                {candidates.map(|c| view! { <AssignmentEditor task_id=id candidates=c assign /> })}
            </section>
            <section aria-labelledby="historial">
                <h2 id="historial">{tr("Historial")}</h2>
                <ol class="timeline">
                    {task
                        .history
                        .into_iter()
                        .map(|h| {
                            // A row without a status change is an assignment or an
                            // unassignment: its note says it in words.
                            let same = h.from == Some(h.to);
                            let what = if same {
                                h.reason.clone().unwrap_or_else(|| tr("actualizada").to_owned())
                            } else {
                                tr(h.to.label_es()).to_owned()
                            };
                            view! {
                                <li>
                                    <time>{h.at_local}</time>
                                    " · "
                                    {h.from.filter(|_| !same).map(|f| format!("{} → ", tr(f.label_es())))}
                                    <strong>{what}</strong>
                                    {h.by.map(|b| format!(" · {b}"))}
                                    {h.reason.filter(|_| !same).map(|r| format!(" · {r}"))}
                                </li>
                            }
                        })
                        .collect_view()}
                </ol>
            </section>
        </Layout>
    }
}

/// Officers who could take the task: status, distance and overlapping tasks, with a button
/// to assign each (or to assign despite an overlap, which the history records).
#[component]
fn AssignmentEditor(
    task_id: i64,
    candidates: Vec<AssignmentCandidate>,
    assign: ServerAction<AssignOfficerForm>,
) -> impl IntoView {
    let free: Vec<AssignmentCandidate> = candidates.into_iter().filter(|c| !c.assigned).collect();
    view! {
        <details class="assignment-editor" open=true>
            <summary>{tr("Asignar efectivos")}</summary>
            {if free.is_empty() {
                view! { <p class="empty">{tr("No hay más efectivos para asignar.")}</p> }.into_any()
            } else {
                view! {
                    <table class="data-table">
                        <caption>{tr("Efectivos disponibles para asignar, los más cercanos primero")}</caption>
                        <thead>
                            <tr>
                                <th scope="col">{tr("Efectivo")}</th>
                                <th scope="col">{tr("Estado")}</th>
                                <th scope="col">{tr("Distancia")}</th>
                                <th scope="col">{tr("Tareas superpuestas")}</th>
                                <th scope="col">{tr("Turno")}</th>
                                <th scope="col">{tr("Acción")}</th>
                            </tr>
                        </thead>
                        <tbody>
                            {free
                                .into_iter()
                                .map(|c| {
                                    let overlap = !c.overlapping_tasks.is_empty() || c.leave.is_some();
                                    let label = format!("{} ({})", c.name, c.code);
                                    view! {
                                        <tr>
                                            <td>{label.clone()}</td>
                                            <td>
                                                <span class=format!("badge officer-{}", c.status.as_str())>{tr(c.status.label_es())}</span>
                                            </td>
                                            <td>{c.distance_m.map(distance).unwrap_or_else(|| "—".into())}</td>
                                            <td>
                                                {if c.overlapping_tasks.is_empty() {
                                                    tr("Ninguna").to_owned()
                                                } else {
                                                    c.overlapping_tasks.join(", ")
                                                }}
                                            </td>
                                            <td>
                                                {match &c.leave {
                                                    Some(leave) => view! { <span class="badge duty-on_leave">{trf("De licencia: {}", &[leave])}</span> }.into_any(),
                                                    None => crate::ui::officers::duty_text(c.duty),
                                                }}
                                            </td>
                                            <td>
                                                <ActionForm action=assign attr:class="inline-form">
                                                    <input type="hidden" name="task_id" value=task_id.to_string() />
                                                    <input type="hidden" name="officer_id" value=c.officer_id.to_string() />
                                                    {overlap.then(|| view! { <input type="hidden" name="allow_overlap" value="true" /> })}
                                                    <button type="submit" class=if overlap { "secondary small" } else { "small" } aria-label=trf("Asignar a {}", &[&label])>
                                                        {if overlap { tr("Asignar igualmente") } else { tr("Asignar") }}
                                                    </button>
                                                </ActionForm>
                                            </td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                }
                .into_any()
            }}
        </details>
    }
}

/// The task's deadlines: due (local time), met when, late or not.
#[component]
fn Deadlines(deadlines: Vec<contract::tasks::Deadline>) -> impl IntoView {
    view! {
        <section aria-labelledby="plazos">
            <h2 id="plazos">{tr("Plazos")}</h2>
            <table class="data-table compact" id="task-deadlines">
                <caption>{tr("Plazos de la tarea")}</caption>
                <thead>
                    <tr>
                        <th scope="col">{tr("Objetivo")}</th>
                        <th scope="col">{tr("Vence")}</th>
                        <th scope="col">{tr("Cumplido")}</th>
                    </tr>
                </thead>
                <tbody>
                    {deadlines
                        .into_iter()
                        .map(|d| {
                            let state = match (d.met_at, d.late) {
                                (Some(at), false) => view! { <span class="badge sla-met">{trf("A tiempo ({})", &[&crate::ui::dates::local_date_time(&at)])}</span> }.into_any(),
                                (Some(at), true) => view! { <span class="badge sla-overdue">{trf("Tarde ({})", &[&crate::ui::dates::local_date_time(&at)])}</span> }.into_any(),
                                (None, true) => view! { <span class="badge sla-overdue">{tr("Vencido")}</span> }.into_any(),
                                (None, false) => view! { <span>{tr("Pendiente")}</span> }.into_any(),
                            };
                            view! {
                                <tr class=format!("deadline-{}", d.kind.as_str())>
                                    <td>{tr(d.kind.label_es())}</td>
                                    <td>{d.due_local}</td>
                                    <td>{state}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </section>
    }
}
