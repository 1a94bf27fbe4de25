//! Create (`/tareas/nueva`) and edit (`/tareas/:id/editar`) a task. One plain HTML form posting
//! to `save_task_form`: without JavaScript the server redirects to the task, or back here with
//! what was typed and the errors as a one-shot flash (never in the URL); with JavaScript the
//! same server function answers in place and the errors appear under their fields.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};

use crate::api::flash::take_flash;
use crate::api::task_forms::SaveTaskForm;
use crate::api::tasks::task_detail;
use crate::i18n::{tr, tr_msg, trf};
use crate::ui::Layout;
use crate::ui::page::{PageError, loaded, signed_in};
use contract::ApiError;
use contract::auth::CurrentUser;
use contract::domain::{Role, TaskPriority, TaskType};
use contract::flash::FormOutcome;
use contract::tasks::TaskDetail;

/// `dd/mm/yyyy HH:MM` (how the server prints local times) → `yyyy-mm-ddTHH:MM` (the value of
/// a `datetime-local` input).
fn to_input_time(local: Option<&str>) -> String {
    local.map(crate::ui::dates::to_input_time).unwrap_or_default()
}

/// The form's starting values, by field name.
fn initial_values(task: Option<&TaskDetail>) -> Vec<(&'static str, String)> {
    let Some(t) = task else {
        return vec![("priority", TaskPriority::Medium.as_str().to_owned())];
    };
    let num = |v: Option<f64>| v.map(|v| format!("{v:.6}")).unwrap_or_default();
    vec![
        ("code", t.code.clone()),
        ("title", t.title.clone()),
        ("description", t.description.clone().unwrap_or_default()),
        ("task_type", t.task_type.as_str().to_owned()),
        ("priority", t.priority.as_str().to_owned()),
        ("scheduled_start", to_input_time(t.scheduled_start_local.as_deref())),
        ("scheduled_end", to_input_time(t.scheduled_end_local.as_deref())),
        ("lat", num(t.lat)),
        ("lon", num(t.lon)),
        ("location_text", t.location_text.clone().unwrap_or_default()),
        ("notes", t.notes.clone().unwrap_or_default()),
    ]
}

const NEW_PAGE: &str = "/tareas/nueva";
/// The longest title the service takes (it says so when a longer one arrives).
const TITLE_MAX: usize = 200;

#[component]
pub fn NewTaskPage() -> impl IntoView {
    let data = Resource::new(
        || (),
        |_| async move { Ok::<_, ApiError>((signed_in().await?, take_flash(NEW_PAGE.to_owned()).await?)) },
    );
    view! {
        <Title text=tr("Nueva tarea") />
        <Suspense fallback=|| view! { <p class="loading">{tr("Cargando…")}</p> }>
            {move || Suspend::new(async move {
                match loaded(data).await {
                    Ok((user, refused)) => view! { <TaskFormView user task=None refused /> }.into_any(),
                    Err(error) => view! { <PageError title=tr("Nueva tarea") error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn EditTaskPage() -> impl IntoView {
    let params = use_params_map();
    let data = Resource::new(
        move || params.read().get("id"),
        |id| async move {
            let user = signed_in().await?;
            let id = id
                .and_then(|id| id.parse::<i64>().ok())
                .ok_or_else(|| ApiError::new(crate::api::ErrorCode::NotFound, tr("La tarea no existe.")))?;
            let refused = take_flash(format!("/tareas/{id}/editar")).await?;
            Ok::<_, ApiError>((user, task_detail(id).await?, refused))
        },
    );
    view! {
        <Title text=tr("Editar tarea") />
        <Suspense fallback=|| view! { <p class="loading">{tr("Cargando…")}</p> }>
            {move || Suspend::new(async move {
                match loaded(data).await {
                    Ok((user, task, refused)) => view! { <TaskFormView user task=Some(task) refused /> }.into_any(),
                    Err(error) => view! { <PageError title=tr("Editar tarea") error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn TaskFormView(user: CurrentUser, task: Option<TaskDetail>, refused: Option<FormOutcome>) -> impl IntoView {
    // A form refused without JavaScript comes back with what was typed and why (the flash).
    let (refused_values, refused_error) = match refused {
        Some(FormOutcome::TaskNotSaved { error, values }) => (values, Some(error)),
        _ => (Vec::new(), None),
    };
    let save = ServerAction::<SaveTaskForm>::new();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(task)) = save.value().get() {
            navigate(&format!("/tareas/{}", task.id), Default::default());
        }
    });
    let editing = task.is_some();
    let allowed = user.role != Role::Officer && task.as_ref().is_none_or(|t| t.can_manage);
    let heading = match &task {
        Some(t) => trf("Editar {}", &[&t.code]),
        None => tr("Nueva tarea").to_owned(),
    };
    let back = task.as_ref().map_or("/tareas".to_owned(), |t| format!("/tareas/{}", t.id));
    let id = task.as_ref().map(|t| t.id.to_string()).unwrap_or_default();
    // What was typed before a no-JavaScript round trip wins over the stored values.
    let initial = initial_values(task.as_ref());
    let value = |field: &str| -> String {
        refused_values
            .iter()
            .chain(initial.iter().map(|(k, v)| (k.to_string(), v.clone())).collect::<Vec<_>>().iter())
            .find(|(k, _)| k == field)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    // The error of one field: from the last in-place answer, else from the refused post.
    let refused_error = StoredValue::new(refused_error);
    let field_error = move |field: &'static str| {
        move || match save.value().get() {
            Some(Err(e)) => e.fields.iter().find(|f| f.field == field).map(|f| tr_msg(&f.message)),
            Some(Ok(_)) => None,
            None => refused_error.with_value(|e| {
                e.as_ref().and_then(|e| e.fields.iter().find(|f| f.field == field).map(|f| tr_msg(&f.message)))
            }),
        }
    };
    let general_error = move || match save.value().get() {
        Some(Err(e)) => Some(tr_msg(&e.message)),
        Some(Ok(_)) => None,
        None => refused_error.with_value(|e| e.as_ref().map(|e| tr_msg(&e.message))),
    };
    let v_code = value("code");
    let v_title = value("title");
    let title_len = RwSignal::new(v_title.chars().count());
    let v_description = value("description");
    let v_scheduled_start = value("scheduled_start");
    let v_scheduled_end = value("scheduled_end");
    let v_lat = value("lat");
    let v_lon = value("lon");
    let v_location_text = value("location_text");
    let v_notes = value("notes");
    let selected_type = value("task_type");
    let selected_priority = value("priority");
    if !allowed {
        crate::ui::page::forbidden_status();
        return view! {
            <Layout user>
                <h1>{heading}</h1>
                <p class="error" role="alert">
                    {tr("No tiene permiso para crear o editar tareas.")}
                </p>
                <a href=back>{tr("Volver")}</a>
            </Layout>
        }
        .into_any();
    }
    view! {
        <Layout user>
            <p>
                <a href=back.clone()>{tr("← Volver")}</a>
            </p>
            <h1>{heading}</h1>
            <ActionForm action=save attr:class="task-form" attr:novalidate="">
                <input type="hidden" name="id" value=id />
                {move || general_error().map(|m| view! { <p class="error" role="alert">{m}</p> })}
                <div class="form-grid">
                    <Field label=tr("Título") name="title" error=field_error("title") wide=true>
                        <input
                            id="tf-title"
                            name="title"
                            required
                            maxlength=TITLE_MAX.to_string()
                            value=v_title
                            on:input=move |ev| title_len.set(event_target_value(&ev).chars().count())
                            aria-describedby="tf-title-error tf-title-count"
                        />
                        // The browser stops typing at the limit: say so, and count.
                        <small id="tf-title-count" class="muted" aria-live="polite">
                            {move || trf("{} de {} caracteres", &[&title_len.get().to_string(), &TITLE_MAX.to_string()])}
                        </small>
                    </Field>
                    {(!editing)
                        .then(|| {
                            view! {
                                <Field label=tr("Código (opcional)") name="code" error=field_error("code") wide=false>
                                    <input id="tf-code" name="code" value=v_code placeholder=tr("Se genera solo") aria-describedby="tf-code-error" />
                                </Field>
                            }
                        })}
                    <Field label=tr("Tipo") name="task_type" error=field_error("task_type") wide=false>
                        <select id="tf-task_type" name="task_type" required aria-describedby="tf-task_type-error">
                            <option value="">{tr("Elija un tipo")}</option>
                            {TaskType::ALL
                                .iter()
                                .map(|t| view! { <option value=t.as_str() selected=selected_type == t.as_str()>{tr(t.label_es())}</option> })
                                .collect_view()}
                        </select>
                    </Field>
                    <Field label=tr("Prioridad") name="priority" error=field_error("priority") wide=false>
                        <select id="tf-priority" name="priority" aria-describedby="tf-priority-error">
                            {TaskPriority::ALL
                                .iter()
                                .map(|p| view! { <option value=p.as_str() selected=selected_priority == p.as_str()>{tr(p.label_es())}</option> })
                                .collect_view()}
                        </select>
                    </Field>
                    <Field label=tr("Inicio programado") name="scheduled_start" error=field_error("scheduled_start") wide=false>
                        <input id="tf-scheduled_start" name="scheduled_start" type="datetime-local" value=v_scheduled_start aria-describedby="tf-scheduled_start-error" />
                    </Field>
                    <Field label=tr("Fin programado") name="scheduled_end" error=field_error("scheduled_end") wide=false>
                        <input id="tf-scheduled_end" name="scheduled_end" type="datetime-local" value=v_scheduled_end aria-describedby="tf-scheduled_end-error" />
                    </Field>
                    <Field label=tr("Latitud") name="lat" error=field_error("lat") wide=false>
                        <input id="tf-lat" name="lat" inputmode="decimal" value=v_lat placeholder="-34.6037" aria-describedby="tf-lat-error" />
                    </Field>
                    <Field label=tr("Longitud") name="lon" error=field_error("lon") wide=false>
                        <input id="tf-lon" name="lon" inputmode="decimal" value=v_lon placeholder="-58.3816" aria-describedby="tf-lon-error" />
                    </Field>
                    <Field label=tr("Lugar") name="location_text" error=field_error("location_text") wide=true>
                        <input id="tf-location_text" name="location_text" value=v_location_text aria-describedby="tf-location_text-error" />
                    </Field>
                    <Field label=tr("Descripción") name="description" error=field_error("description") wide=true>
                        <textarea id="tf-description" name="description" rows="4" aria-describedby="tf-description-error">{v_description}</textarea>
                    </Field>
                    <Field label=tr("Notas internas") name="notes" error=field_error("notes") wide=true>
                        <textarea id="tf-notes" name="notes" rows="3" aria-describedby="tf-notes-error">{v_notes}</textarea>
                    </Field>
                </div>
                <button type="submit" disabled=move || save.pending().get()>
                    {if editing { tr("Guardar cambios") } else { tr("Crear tarea") }}
                </button>
            </ActionForm>
        </Layout>
    }
    .into_any()
}

/// A labelled control with its error message below (announced to screen readers).
#[component]
fn Field<E>(label: &'static str, name: &'static str, error: E, wide: bool, children: Children) -> impl IntoView
where
    E: Fn() -> Option<String> + Send + Sync + 'static,
{
    view! {
        <div class=if wide { "field wide" } else { "field" }>
            <label for=format!("tf-{name}")>{label}</label>
            {children()}
            <p class="field-error" id=format!("tf-{name}-error") aria-live="polite">
                {error}
            </p>
        </div>
    }
}
