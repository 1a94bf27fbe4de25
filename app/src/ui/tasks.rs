//! The task list: the viewer's own tasks, or every task for supervisors and admins.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::auth::{CurrentUser, whoami};
use crate::api::tasks::{TaskScope, TaskSummary, list_tasks};
use crate::api::{ApiError, ErrorCode};
use crate::domain::Role;
use crate::ui::Layout;

async fn load(alcance: Option<String>) -> Result<(CurrentUser, TaskScope, Vec<TaskSummary>), ApiError> {
    let user = whoami().await?.ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated, "Debe iniciar sesión."))?;
    let scope = match alcance.as_deref() {
        Some("mias") => TaskScope::Mine,
        Some("todas") => TaskScope::All,
        _ if user.role == Role::Officer => TaskScope::Mine,
        _ => TaskScope::All,
    };
    let tasks = list_tasks(scope).await?;
    Ok((user, scope, tasks))
}

#[component]
pub fn TasksPage() -> impl IntoView {
    let query = use_query_map();
    let data = Resource::new(move || query.read().get("alcance"), load);
    view! {
        <Title text="Tareas" />
        <Suspense fallback=|| view! { <p class="loading">"Cargando…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok((user, scope, tasks)) => view! { <TasksView user scope tasks /> }.into_any(),
                    Err(e) => view! {
                        <main class="centered">
                            <p role="alert" class="error">{e.message}</p>
                            <a href="/login">"Ingresar"</a>
                        </main>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn TasksView(user: CurrentUser, scope: TaskScope, tasks: Vec<TaskSummary>) -> impl IntoView {
    let can_see_all = user.role != Role::Officer;
    let caption = match scope {
        TaskScope::Mine => "Mis tareas",
        TaskScope::All => "Todas las tareas",
    };
    let count = tasks.len();
    view! {
        <Layout user>
            <div class="page-head">
                <h1>"Tareas"</h1>
                {can_see_all
                    .then(|| {
                        view! {
                            <nav class="segmented" aria-label="Alcance">
                                <a href="/tareas?alcance=todas" aria-current=(scope == TaskScope::All).then_some("page")>
                                    "Todas"
                                </a>
                                <a href="/tareas?alcance=mias" aria-current=(scope == TaskScope::Mine).then_some("page")>
                                    "Mías"
                                </a>
                            </nav>
                        }
                    })}
            </div>
            {if tasks.is_empty() {
                view! {
                    <section aria-label=caption>
                        <h2>{caption}</h2>
                        <p class="empty">"No hay tareas para mostrar."</p>
                    </section>
                }
                    .into_any()
            } else {
                view! {
                    <table class="data-table">
                        <caption>{caption} " (" {count} ")"</caption>
                        <thead>
                            <tr>
                                <th scope="col">"Código"</th>
                                <th scope="col">"Título"</th>
                                <th scope="col">"Tipo"</th>
                                <th scope="col">"Prioridad"</th>
                                <th scope="col">"Estado"</th>
                                <th scope="col">"Inicio programado"</th>
                                <th scope="col">"Delegado"</th>
                                <th scope="col">"Efectivos"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {tasks
                                .into_iter()
                                .map(|t| {
                                    view! {
                                        <tr>
                                            <td class="mono">
                                                <a href=format!("/tareas/{}", t.id)>{t.code}</a>
                                            </td>
                                            <td>{t.title}</td>
                                            <td>{t.task_type.label_es()}</td>
                                            <td>
                                                <span class=format!("badge priority-{}", t.priority.as_str())>
                                                    {t.priority.label_es()}
                                                </span>
                                            </td>
                                            <td>
                                                <span class=format!("badge status-{}", t.status.as_str())>
                                                    {t.status.label_es()}
                                                </span>
                                            </td>
                                            <td>{t.scheduled_start.unwrap_or_else(|| "—".into())}</td>
                                            <td>{t.supervisor.unwrap_or_else(|| "—".into())}</td>
                                            <td>{t.officers.join(", ")}</td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                }
                    .into_any()
            }}
        </Layout>
    }
}
