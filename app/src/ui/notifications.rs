//! The notifications bell: the latest changes to the viewer's tasks, with an unread count,
//! refreshed live. A `<details>` disclosure, so it opens without JavaScript too; "marcar como
//! leídas" is a plain form.

use leptos::prelude::*;

use crate::api::overview::{MarkNotificationsRead, notifications};
use crate::ui::live::{is_task_event, refresh_on};
use crate::ui::overview::activity_text;

#[component]
pub fn NotificationBell() -> impl IntoView {
    let live = refresh_on(is_task_event);
    let mark = ServerAction::<MarkNotificationsRead>::new();
    let data = Resource::new(move || (live.get(), mark.version().get()), |_| notifications());
    view! {
        <Transition fallback=|| view! { <span class="bell" aria-hidden="true">"🔔"</span> }>
            // `get()` rather than awaiting in a `Suspend`: pages re-create the frame when their
            // own data reloads, and a pending await on a disposed resource would panic.
            {move || {
                let n = data.get()?.ok()?;
                let unread = n.unread;
                let label = match unread {
                    0 => "Notificaciones: ninguna sin leer".to_owned(),
                    1 => "Notificaciones: 1 sin leer".to_owned(),
                    k => format!("Notificaciones: {k} sin leer"),
                };
                Some(view! {
                    <details class="bell">
                        <summary aria-label=label.clone() title=label>
                            <span aria-hidden="true">"🔔"</span>
                            {(unread > 0).then(|| view! { <span class="bell-count" aria-hidden="true">{unread}</span> })}
                        </summary>
                        <div class="bell-panel">
                            <h2 class="bell-title">"Notificaciones"</h2>
                            {if n.items.is_empty() {
                                view! { <p class="empty">"Sin novedades."</p> }.into_any()
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
                            }}
                            <ActionForm action=mark>
                                <button type="submit" class="secondary" disabled=move || unread == 0>
                                    "Marcar como leídas"
                                </button>
                            </ActionForm>
                        </div>
                    </details>
                })
            }}
        </Transition>
    }
}
