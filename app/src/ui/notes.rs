//! The personal logbook (`/notas`): write a note, read your own, newest first. Plain forms:
//! without JavaScript the server redirects back here.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::notes::{CreateNote, DeleteNote, list_notes};
use crate::i18n::{tr, tr_msg};
use crate::ui::Layout;
use crate::ui::page::{PageError, loaded, signed_in};

#[component]
pub fn NotesPage() -> impl IntoView {
    let query = use_query_map();
    let create = ServerAction::<CreateNote>::new();
    let delete = ServerAction::<DeleteNote>::new();
    let data = Resource::new(
        move || (query.read().get("cursor"), create.version().get(), delete.version().get()),
        |(cursor, ..)| async move {
            let user = signed_in().await?;
            Ok::<_, contract::ApiError>((user, list_notes(cursor, Some(50)).await?))
        },
    );
    let error = move || match (create.value().get(), delete.value().get()) {
        (Some(Err(e)), _) | (_, Some(Err(e))) => Some(tr_msg(&e.message)),
        _ => query.read().get("error").map(|code| match code.as_str() {
            "validation" => tr("Escriba la nota (hasta 4000 caracteres).").to_owned(),
            "not_found" => tr("La nota no existe.").to_owned(),
            _ => tr("No se pudo guardar la nota.").to_owned(),
        }),
    };
    view! {
        <Title text=tr("Notas") />
        <Suspense fallback=|| view! { <p class="loading">{tr("Cargando…")}</p> }>
            {move || Suspend::new(async move {
                match loaded(data).await {
                    Ok((user, page)) => view! {
                        <Layout user>
                            <h1>{tr("Notas")}</h1>
                            <p class="muted">{tr("Su bitácora personal: solo usted puede leer estas notas.")}</p>
                            <ActionForm action=create attr:class="stack note-form">
                                <label for="note-body">{tr("Nueva nota")}</label>
                                <textarea id="note-body" name="body" rows="4" maxlength="4000" required></textarea>
                                {move || error().map(|m| view! { <p class="error" role="alert">{m}</p> })}
                                <button type="submit" disabled=move || create.pending().get()>{tr("Guardar nota")}</button>
                            </ActionForm>
                            {if page.items.is_empty() {
                                view! { <p class="empty">{tr("Todavía no escribió notas.")}</p> }.into_any()
                            } else {
                                view! {
                                    <ol class="notes" aria-label=tr("Notas guardadas")>
                                        {page
                                            .items
                                            .into_iter()
                                            .map(|n| {
                                                view! {
                                                    <li class="note">
                                                        <time datetime=n.created_at.to_rfc3339()>{n.created_at_local}</time>
                                                        <p class="note-body">{n.body}</p>
                                                        <ActionForm action=delete attr:class="inline-form">
                                                            <input type="hidden" name="id" value=n.id.to_string() />
                                                            <button type="submit" class="secondary small">{tr("Borrar")}</button>
                                                        </ActionForm>
                                                    </li>
                                                }
                                            })
                                            .collect_view()}
                                    </ol>
                                }
                                .into_any()
                            }}
                            {page.next_cursor.map(|c| view! {
                                <nav class="pager" aria-label=tr("Páginas")>
                                    <a href=format!("/notas?cursor={c}") rel="next">{tr("Notas anteriores »")}</a>
                                </nav>
                            })}
                        </Layout>
                    }
                    .into_any(),
                    Err(error) => view! { <PageError title=tr("Notas") error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
