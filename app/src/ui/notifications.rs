//! The notifications bell: the latest changes to the viewer's tasks, with an unread count,
//! refreshed live. A `<details>` disclosure with a plain "marcar como leídas" form; drawn in
//! the browser only (it is a live feature).

use leptos::prelude::*;

use crate::api::overview::{MarkNotificationsRead, notifications};
use crate::api::tasks::sla_alerts;
use crate::i18n::{tr, trf};
use crate::ui::live::{is_task_event, refresh_on};
use crate::ui::overview::activity_text;
use crate::ui::page::loaded;

/// Rendered once the page is live in the browser: the list changes with every event, and a
/// refetch racing the hydration of the server's copy breaks hydration.
#[component]
pub fn NotificationBell() -> impl IntoView {
    let mounted = RwSignal::new(false);
    Effect::new(move |_| mounted.set(true));
    move || mounted.get().then(|| view! { <Bell /> })
}

/// The bell glyph as inline SVG (drawn with `currentColor`): an emoji needs a font that not
/// every system has. Decorative: the summary around it carries the accessible name.
#[component]
fn BellIcon() -> impl IntoView {
    view! {
        <svg
            class="bell-icon"
            xmlns="http://www.w3.org/2000/svg"
            viewBox="0 0 24 24"
            width="20"
            height="20"
            fill="none"
            stroke="currentColor"
            stroke-width="2"
            stroke-linecap="round"
            stroke-linejoin="round"
            aria-hidden="true"
            focusable="false"
        >
            <path d="M18 8a6 6 0 0 0-12 0c0 7-3 9-3 9h18s-3-2-3-9" />
            <path d="M13.73 21a2 2 0 0 1-3.46 0" />
        </svg>
    }
}

#[component]
fn Bell() -> impl IntoView {
    let live = refresh_on(is_task_event);
    let mark = ServerAction::<MarkNotificationsRead>::new();
    // Reference-counted, not owned by the reactive tree: pages re-create the frame when their
    // own data reloads, and awaiting an owner-bound resource that was disposed meanwhile panics.
    // Its source outlives the component too, so it reads the component's signals with
    // `try_get`: after the frame is re-created they are gone, and reading them must not panic.
    // (The action's version signal is taken now: `mark.version()` itself panics once the
    // action is disposed.)
    let marked = mark.version();
    let data = ArcResource::new(
        move || (live.try_get().unwrap_or_default(), marked.try_get().unwrap_or_default()),
        |_| notifications(),
    );
    // Set when the list loads (inside the boundary below): read outside a boundary, the
    // resource would count as pending in the page's own <Suspense> and blank the page on
    // every reload.
    let unread = RwSignal::new(0u64);
    let label = move || match unread.get() {
        0 => tr("Notificaciones: ninguna sin leer").to_owned(),
        1 => tr("Notificaciones: 1 sin leer").to_owned(),
        k => trf("Notificaciones: {} sin leer", &[&k.to_string()]),
    };
    // Everything that holds the action (the form) is built here, with the component; only the
    // list waits for the data. A form built after an await could meet an action disposed
    // meanwhile, when the page re-created its frame (a panic in the browser).
    view! {
        <details class="bell">
            <summary aria-label=label title=label>
                <BellIcon />
                {move || {
                    let k = unread.get();
                    (k > 0).then(|| view! { <span class="bell-count" aria-hidden="true">{k}</span> })
                }}
            </summary>
            <div class="bell-panel">
                <h2 class="bell-title">{tr("Notificaciones")}</h2>
                <Transition fallback=|| ()>
                    {move || {
                        let data = data.clone();
                        Suspend::new(async move {
                            let n = loaded(data).await.ok()?;
                            unread.try_set(n.unread);
                            Some(if n.items.is_empty() {
                                view! { <p class="empty">{tr("Sin novedades.")}</p> }.into_any()
                            } else {
                                view! {
                                    <ul class="bell-list">
                                        {n
                                            .items
                                            .into_iter()
                                            .map(|item| {
                                                view! {
                                                    <li>
                                                        <a href=format!("/tareas/{}", item.task_id)>
                                                            <span class="mono">{item.code.clone()}</span>
                                                            " "
                                                            {activity_text(&item)}
                                                        </a>
                                                        <time>{item.at_local.clone()}</time>
                                                    </li>
                                                }
                                            })
                                            .collect_view()}
                                    </ul>
                                }
                                    .into_any()
                            })
                        })
                    }}
                </Transition>
                <ActionForm action=mark>
                    <button type="submit" class="secondary" disabled=move || unread.get() == 0>
                        {tr("Marcar como leídas")}
                    </button>
                </ActionForm>
            </div>
        </details>
    }
}

/// The deadline banner: urgent and critical tasks past a deadline that the viewer sees, with
/// links to them and to the list of every overdue task. Drawn in the browser (it is live:
/// refetched on task events, escalations included).
#[component]
pub fn SlaBanner() -> impl IntoView {
    let mounted = RwSignal::new(false);
    Effect::new(move |_| mounted.set(true));
    move || mounted.get().then(|| view! { <SlaAlerts /> })
}

#[component]
fn SlaAlerts() -> impl IntoView {
    let live = refresh_on(is_task_event);
    let data = ArcResource::new(move || live.try_get().unwrap_or_default(), |_| sla_alerts());
    view! {
        <Transition fallback=|| ()>
            {move || {
                let data = data.clone();
                Suspend::new(async move {
                    let alerts = loaded(data).await.ok()?;
                    (!alerts.is_empty()).then(|| {
                        let text = match alerts.len() {
                            1 => tr("1 tarea urgente o crítica vencida:").to_owned(),
                            n => trf("{} tareas urgentes o críticas vencidas:", &[&n.to_string()]),
                        };
                        view! {
                            // A standing notice on every page, not an interruption: a polite
                            // live region (an alert would be read out on every navigation).
                            <div class="sla-banner" role="status">
                                <strong>{text}</strong>
                                {alerts
                                    .into_iter()
                                    .take(5)
                                    .map(|a| view! { " " <a href=format!("/tareas/{}", a.task_id)>{a.code}</a> })
                                    .collect_view()}
                                " · "
                                <a href="/tareas?sla=overdue&sort=due">{tr("Ver todas las vencidas")}</a>
                            </div>
                        }
                    })
                })
            }}
        </Transition>
    }
}
