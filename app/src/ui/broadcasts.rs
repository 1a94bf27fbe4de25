//! The Telegram broadcast composer (`/difusion`): pick a group, start from a protocol template
//! or a blank message, send; the history below shows each broadcast's delivery as the bot
//! records it. A plain form: without JavaScript the server redirects back here.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::broadcasts::{
    AddTelegramGroup, CreateBroadcast, broadcast_templates, list_broadcasts, list_telegram_groups,
    telegram_bot_configured,
};
use crate::i18n::{tr, tr_msg, trf};
use crate::ui::Layout;
use crate::ui::live::refresh_on;
use crate::ui::page::{PageError, loaded, signed_in};
use contract::ApiError;
use contract::domain::{BroadcastKind, DeliveryStatus, Role};

fn error_message(code: &str) -> &'static str {
    match code {
        "validation" => tr(
            "Revise los datos: elija un grupo y escriba el mensaje (hasta 4000 caracteres); el identificador de chat de un grupo es un número.",
        ),
        "forbidden" => tr("No tiene permiso para enviar difusiones."),
        "not_found" => tr("El grupo no existe."),
        _ => tr("No se pudo registrar la difusión."),
    }
}

#[component]
pub fn BroadcastsPage() -> impl IntoView {
    let query = use_query_map();
    let send = ServerAction::<CreateBroadcast>::new();
    let add_group = ServerAction::<AddTelegramGroup>::new();
    // Delivery results arrive as events from the bot process.
    let live = refresh_on(|e| e.kind().starts_with("broadcast."));
    let data = Resource::new(
        move || (query.read().get("cursor"), (send.version().get(), add_group.version().get()), live.get()),
        |(cursor, ..)| async move {
            let user = signed_in().await?;
            let groups = list_telegram_groups().await?;
            let templates = broadcast_templates().await?;
            let history = list_broadcasts(None, cursor, Some(25)).await?;
            let bot = telegram_bot_configured().await?;
            Ok::<_, ApiError>((user, groups, templates, history, bot))
        },
    );
    let error = move || match send.value().get() {
        Some(Err(e)) => Some(tr_msg(&e.message)),
        Some(Ok(_)) => None,
        None => query.read().get("error").map(|c| error_message(&c).to_owned()),
    };
    let group_error = move || match add_group.value().get() {
        Some(Err(e)) if !e.fields.is_empty() => {
            Some(e.fields.iter().map(|f| tr_msg(&f.message)).collect::<Vec<_>>().join(" "))
        }
        Some(Err(e)) => Some(tr_msg(&e.message)),
        _ => None,
    };
    let sent = move || matches!(send.value().get(), Some(Ok(_))) || query.read().get("enviado").is_some();
    view! {
        <Title text=tr("Difusión") />
        // Kept on screen while a live event refetches it (see the task page).
        <Transition fallback=|| view! { <p class="loading">{tr("Cargando…")}</p> }>
            {move || Suspend::new(async move {
                match loaded(data).await {
                    Ok((user, groups, templates, history, bot)) => {
                        let chosen = query.read_untracked().get("plantilla");
                        let template = templates.iter().find(|t| Some(&t.key) == chosen.as_ref()).cloned();
                        let kind = template.as_ref().map_or(BroadcastKind::Normal, |t| t.kind);
                        let text = template.as_ref().map(|t| t.text.clone()).unwrap_or_default();
                        let is_admin = user.role == Role::Admin;
                        view! {
                            <Layout user>
                                <h1>{tr("Difusión por Telegram")}</h1>
                                <p class="muted">
                                    {tr("El mensaje queda registrado como pendiente y el bot lo entrega al grupo; el historial muestra el resultado.")}
                                </p>
                                <nav class="templates" aria-label=tr("Plantillas de protocolo")>
                                    <span>{tr("Plantillas: ")}</span>
                                    {templates
                                        .iter()
                                        .map(|t| view! {
                                            <a class="chip" href=format!("/difusion?plantilla={}", t.key) rel="external">{t.name.clone()}</a>
                                        })
                                        .collect_view()}
                                </nav>
                                {if groups.is_empty() {
                                    view! {
                                        <p class="empty">
                                            {tr("No hay grupos de Telegram configurados: un administrador debe registrarlos.")}
                                        </p>
                                    }
                                        .into_any()
                                } else {
                                    view! {
                                        <ActionForm action=send attr:class="stack broadcast-form">
                                            <label for="bc-group">{tr("Grupo")}</label>
                                            <select id="bc-group" name="group_id" required>
                                                {groups
                                                    .iter()
                                                    .map(|g| view! { <option value=g.id.to_string()>{g.name.clone()}</option> })
                                                    .collect_view()}
                                            </select>
                                            <label for="bc-kind">{tr("Tipo")}</label>
                                            <select id="bc-kind" name="kind">
                                                {BroadcastKind::ALL
                                                    .iter()
                                                    .map(|k| view! {
                                                        <option value=k.as_str() selected=*k == kind>{tr(k.label_es())}</option>
                                                    })
                                                    .collect_view()}
                                            </select>
                                            <label for="bc-text">{tr("Mensaje")}</label>
                                            <textarea id="bc-text" name="text" rows="6" maxlength="4000" required>{text}</textarea>
                                            {move || error().map(|m| view! { <p class="error" role="alert">{m}</p> })}
                                            {move || sent().then(|| view! {
                                                <p class="success" role="status">
                                                    {if bot {
                                                        tr("Difusión registrada: el bot la entregará; el historial muestra el resultado.")
                                                    } else {
                                                        tr("Difusión registrada como pendiente: el bot de Telegram no está configurado (TELEGRAM_BOT_TOKEN), así que no se entregará hasta que se configure y se inicie.")
                                                    }}
                                                </p>
                                            })}
                                            <button type="submit" disabled=move || send.pending().get()>{tr("Enviar difusión")}</button>
                                        </ActionForm>
                                    }
                                        .into_any()
                                }}
                                {is_admin.then(|| view! {
                                    <details class="group-admin">
                                        <summary>{tr("Registrar un grupo de Telegram")}</summary>
                                        <ActionForm action=add_group attr:class="stack">
                                            <label for="grp-name">{tr("Nombre del grupo")}</label>
                                            <input id="grp-name" name="name" required maxlength="100" />
                                            <label for="grp-chat">{tr("Identificador de chat")}</label>
                                            <input id="grp-chat" name="chat_id" required inputmode="numeric" />
                                            {move || group_error().map(|m| view! { <p class="error" role="alert">{m}</p> })}
                                            <button type="submit" class="secondary">{tr("Registrar grupo")}</button>
                                        </ActionForm>
                                    </details>
                                })}
                                <h2>{tr("Historial")}</h2>
                                {if history.items.is_empty() {
                                    view! { <p class="empty">{tr("Todavía no hay difusiones.")}</p> }.into_any()
                                } else {
                                    view! {
                                        <table class="data">
                                            <thead>
                                                <tr>
                                                    <th scope="col">{trf("Fecha ({})", &[&crate::ui::dates::zone_label()])}</th>
                                                    <th scope="col">{tr("Grupo")}</th>
                                                    <th scope="col">{tr("Tipo")}</th>
                                                    <th scope="col">{tr("Mensaje")}</th>
                                                    <th scope="col">{tr("Remitente")}</th>
                                                    <th scope="col">{tr("Entrega")}</th>
                                                </tr>
                                            </thead>
                                            <tbody>
                                                {history
                                                    .items
                                                    .into_iter()
                                                    .map(|b| {
                                                        let delivery = match (b.delivery_status, b.delivery_error) {
                                                            (DeliveryStatus::Failed, Some(e)) => trf("Fallido: {}", &[&e]),
                                                            (status, _) => tr(status.label_es()).to_owned(),
                                                        };
                                                        view! {
                                                            <tr>
                                                                <td>{crate::ui::dates::local_date_time(&b.created_at)}</td>
                                                                <td>{b.group_name}</td>
                                                                <td>{tr(b.kind.label_es())}</td>
                                                                <td class="wrap">{b.text}</td>
                                                                <td>{b.sender.unwrap_or_else(|| "—".into())}</td>
                                                                <td class=format!("delivery {}", b.delivery_status.as_str())>{delivery}</td>
                                                            </tr>
                                                        }
                                                    })
                                                    .collect_view()}
                                            </tbody>
                                        </table>
                                    }
                                        .into_any()
                                }}
                                {history.next_cursor.map(|c| view! {
                                    <nav class="pager" aria-label=tr("Páginas")>
                                        <a href=format!("/difusion?cursor={c}") rel="next">{tr("Difusiones anteriores »")}</a>
                                    </nav>
                                })}
                            </Layout>
                        }
                            .into_any()
                    }
                    Err(error) => view! { <PageError title=tr("Difusión") error /> }.into_any(),
                }
            })}
        </Transition>
    }
}
