//! Deadline targets (`/plazos`): the minutes a task has to be acknowledged, started and
//! finished, per type and priority. Supervisors read them; admins set a row with a plain form
//! (with or without JavaScript: the server keeps the outcome as a one-shot flash and sends the
//! browser back here).

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::flash::take_flash;
use crate::api::sla::load_sla_targets;
use crate::i18n::{tr, tr_msg};
use crate::ui::Layout;
use crate::ui::page::{PageError, loaded, signed_in};
use crate::ui::roster::field_message;
use contract::ApiError;
use contract::domain::{Role, TaskPriority, TaskType};
use contract::flash::FormOutcome;
use contract::sla::SlaTarget;

#[component]
pub fn SlaTargetsPage() -> impl IntoView {
    let data = Resource::new(
        || (),
        |_| async move {
            let user = signed_in().await?;
            let flash = take_flash("/plazos".to_owned()).await?;
            Ok::<_, ApiError>((user, flash, load_sla_targets().await?))
        },
    );
    view! {
        <Title text=tr("Plazos") />
        <Suspense fallback=|| view! { <p class="loading">{tr("Cargando…")}</p> }>
            {move || Suspend::new(async move {
                match loaded(data).await {
                    Ok((user, flash, targets)) => {
                        let message = match flash {
                            Some(FormOutcome::Saved(text)) => {
                                Some(view! { <p class="success" role="status">{tr_msg(&text)}</p> }.into_any())
                            }
                            Some(FormOutcome::Failed(e)) => Some(
                                view! { <p class="error" role="alert">{field_message(&e)}</p> }.into_any(),
                            ),
                            _ => None,
                        };
                        let admin = user.role == Role::Admin;
                        view! {
                            <Layout user>
                                <h1>{tr("Plazos de atención")}</h1>
                                <p class="muted">
                                    {tr("Minutos que tiene una tarea para que un efectivo asignado confirme la recepción, para iniciarse y para finalizar, según su tipo y prioridad. La fila propia de un tipo gana sobre «Todos los tipos». Los cambios valen para las tareas que se crean o cambian desde ahora.")}
                                </p>
                                {message}
                                <TargetsTable targets />
                                {admin.then(|| view! { <TargetForm /> })}
                            </Layout>
                        }
                        .into_any()
                    }
                    Err(error) => view! { <PageError title=tr("Plazos") error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn minutes(m: Option<i64>) -> String {
    m.map_or_else(|| "—".to_owned(), |m| m.to_string())
}

#[component]
fn TargetsTable(targets: Vec<SlaTarget>) -> impl IntoView {
    if targets.is_empty() {
        return view! { <p class="empty">{tr("No hay objetivos: ninguna tarea tiene plazos.")}</p> }.into_any();
    }
    view! {
        <div class="table-scroll">
            <table class="data-table" id="sla-targets">
                <caption>{tr("Objetivos vigentes, en minutos")}</caption>
                <thead>
                    <tr>
                        <th scope="col">{tr("Tipo")}</th>
                        <th scope="col">{tr("Prioridad")}</th>
                        <th scope="col" class="num">{tr("Confirmar recepción")}</th>
                        <th scope="col" class="num">{tr("Iniciar")}</th>
                        <th scope="col" class="num">{tr("Finalizar")}</th>
                    </tr>
                </thead>
                <tbody>
                    {targets
                        .into_iter()
                        .map(|t| {
                            view! {
                                <tr>
                                    <th scope="row">{t.task_type.map_or(tr("Todos los tipos"), |k| tr(k.label_es()))}</th>
                                    <td>{tr(t.priority.label_es())}</td>
                                    <td class="num">{minutes(t.ack_minutes)}</td>
                                    <td class="num">{minutes(t.start_minutes)}</td>
                                    <td class="num">{minutes(t.finish_minutes)}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

/// Sets one row (admins). A plain form: its server function answers a plain post with the
/// outcome kept for this page.
#[component]
fn TargetForm() -> impl IntoView {
    view! {
        <section aria-labelledby="sla-form-title" class="roster-section sla-form">
            <h2 id="sla-form-title">{tr("Fijar objetivos")}</h2>
            <form method="post" action="/api/fn/set_sla_target_form" class="stack">
                <label for="sla-type">{tr("Tipo")}</label>
                <select id="sla-type" name="task_type">
                    <option value="*">{tr("Todos los tipos")}</option>
                    {TaskType::ALL
                        .iter()
                        .map(|k| view! { <option value=k.as_str()>{tr(k.label_es())}</option> })
                        .collect_view()}
                </select>
                <label for="sla-priority">{tr("Prioridad")}</label>
                <select id="sla-priority" name="priority">
                    {TaskPriority::ALL
                        .iter()
                        .map(|p| view! { <option value=p.as_str()>{tr(p.label_es())}</option> })
                        .collect_view()}
                </select>
                <label for="sla-ack">{tr("Confirmar recepción (minutos)")}</label>
                <input id="sla-ack" name="ack_minutes" type="number" min="1" max="100000" inputmode="numeric" />
                <label for="sla-start">{tr("Iniciar (minutos)")}</label>
                <input id="sla-start" name="start_minutes" type="number" min="1" max="100000" inputmode="numeric" />
                <label for="sla-finish">{tr("Finalizar (minutos)")}</label>
                <input id="sla-finish" name="finish_minutes" type="number" min="1" max="100000" inputmode="numeric" />
                <p class="hint">
                    {tr("Un campo vacío no fija ese plazo. Los tres vacíos en la fila de un tipo la quitan: vuelve a regir «Todos los tipos».")}
                </p>
                <button type="submit">{tr("Guardar objetivos")}</button>
            </form>
        </section>
    }
}
