//! Users (`/usuarios`, admins): list and search, create, and for the selected user
//! (`?id=`): role, activation, password reset, a Telegram link and API tokens. Generated
//! passwords, link codes and tokens are shown once, in the answer of the action that made them.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use crate::api::ApiError;
use crate::api::user_forms::{CreateUserForm, SetUserRole};
use crate::api::users::{CreateApiToken, CreateLinkCode, ResetPassword, SetUserActive, UserSummary, list_users};
use crate::domain::Role;
use crate::ui::Layout;
use crate::ui::page::{PageError, signed_in};

fn role_options(selected: Role) -> impl IntoView {
    Role::ALL
        .iter()
        .map(|r| view! { <option value=r.as_str() selected=*r == selected>{r.label_es()}</option> })
        .collect_view()
}

/// A secret shown once, with a reminder that it will not be shown again.
#[component]
fn OneTime(label: &'static str, value: String) -> impl IntoView {
    view! {
        <div class="one-time" role="status">
            <p>{label} " (se muestra una sola vez):"</p>
            <code class="secret">{value}</code>
        </div>
    }
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let query = use_query_map();
    let create = ServerAction::<CreateUserForm>::new();
    let set_role = ServerAction::<SetUserRole>::new();
    let set_active = ServerAction::<SetUserActive>::new();
    let data = Resource::new(
        // `id` is part of the key so that choosing a user re-renders the page.
        move || {
            let q = query.read();
            (q.get("q"), q.get("id"), create.version().get(), set_role.version().get(), set_active.version().get())
        },
        |(q, ..)| async move {
            let user = signed_in().await?;
            let page = list_users(q.filter(|q| !q.is_empty()), None, None, Some(200)).await?;
            Ok::<_, ApiError>((user, page.items))
        },
    );
    view! {
        <Title text="Usuarios" />
        <Suspense fallback=|| view! { <p class="loading">"Cargando…"</p> }>
            {move || Suspend::new(async move {
                let q = query.get_untracked();
                let text = q.get("q").unwrap_or_default();
                let selected = q.get("id").and_then(|id| id.parse::<i64>().ok());
                match data.await {
                    Ok((user, users)) => {
                        let chosen = selected.and_then(|id| users.iter().find(|u| u.id == id).cloned());
                        view! {
                            <Layout user>
                                <h1>"Usuarios"</h1>
                                <Form method="GET" action="/usuarios" attr:class="filters" attr:aria-label="Buscar usuarios">
                                    <div class="field"><label for="u-q">"Buscar"</label><input id="u-q" name="q" type="search" value=text placeholder="Nombre, correo o DNI" /></div>
                                    <div class="field buttons"><button type="submit">"Buscar"</button></div>
                                </Form>
                                <table class="data-table">
                                    <caption>"Usuarios"</caption>
                                    <thead><tr>
                                        <th scope="col">"Nombre"</th>
                                        <th scope="col">"Correo"</th>
                                        <th scope="col">"DNI"</th>
                                        <th scope="col">"Rol"</th>
                                        <th scope="col">"Estado"</th>
                                        <th scope="col">"Telegram"</th>
                                        <th scope="col">"Acción"</th>
                                    </tr></thead>
                                    <tbody>
                                        {users.into_iter().map(|u| view! {
                                            <tr>
                                                <td>{format!("{} {}", u.first_name, u.last_name)}</td>
                                                <td>{u.email}</td>
                                                <td class="mono">{u.dni}</td>
                                                <td>{u.role.label_es()}</td>
                                                <td>{if !u.is_active { "Inactivo" } else if u.locked { "Bloqueado" } else { "Activo" }}</td>
                                                <td>{if u.telegram_linked { "Vinculado" } else { "—" }}</td>
                                                <td><a href=format!("/usuarios?id={}", u.id)>"Gestionar"</a></td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                {chosen.map(|u| view! { <ManageUser user=u set_role set_active /> })}
                                <NewUser create />
                            </Layout>
                        }
                        .into_any()
                    }
                    Err(error) => view! { <PageError title="Usuarios" error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn NewUser(create: ServerAction<CreateUserForm>) -> impl IntoView {
    let result = move || {
        match create.value().get() {
        Some(Ok(created)) => Some(
            view! {
                <p role="status">{format!("Usuario creado: {}.", created.user.email)}</p>
                {created.generated_password.map(|p| view! { <OneTime label="Contraseña generada" value=p /> })}
            }
            .into_any(),
        ),
        Some(Err(e)) => Some(view! {
            <p class="error" role="alert">{e.message}</p>
            <ul class="field-errors">{e.fields.into_iter().map(|f| view! { <li>{f.message}</li> }).collect_view()}</ul>
        }.into_any()),
        None => None,
    }
    };
    view! {
        <section aria-labelledby="nuevo-usuario" class="panel">
            <h2 id="nuevo-usuario">"Nuevo usuario"</h2>
            <ActionForm action=create attr:class="form-grid">
                <div class="field"><label for="nu-first">"Nombre"</label><input id="nu-first" name="first_name" required /></div>
                <div class="field"><label for="nu-last">"Apellido"</label><input id="nu-last" name="last_name" required /></div>
                <div class="field"><label for="nu-dni">"DNI"</label><input id="nu-dni" name="dni" required inputmode="numeric" /></div>
                <div class="field"><label for="nu-email">"Correo electrónico"</label><input id="nu-email" name="email" type="email" required /></div>
                <div class="field"><label for="nu-phone">"Teléfono"</label><input id="nu-phone" name="phone" type="tel" /></div>
                <div class="field"><label for="nu-role">"Rol"</label><select id="nu-role" name="role">{role_options(Role::Officer)}</select></div>
                <div class="field"><label for="nu-pass">"Contraseña (vacía: se genera)"</label><input id="nu-pass" name="password" type="password" autocomplete="new-password" /></div>
                <div class="field buttons"><button type="submit">"Crear usuario"</button></div>
            </ActionForm>
            {result}
        </section>
    }
}

#[component]
fn ManageUser(
    user: UserSummary,
    set_role: ServerAction<SetUserRole>,
    set_active: ServerAction<SetUserActive>,
) -> impl IntoView {
    let reset = ServerAction::<ResetPassword>::new();
    let link = ServerAction::<CreateLinkCode>::new();
    let token = ServerAction::<CreateApiToken>::new();
    let id = user.id.to_string();
    let (id1, id2, id3, id4) = (id.clone(), id.clone(), id.clone(), id.clone());
    let name = format!("{} {}", user.first_name, user.last_name);
    let errors = move || {
        [
            set_role.value().get().and_then(Result::err),
            set_active.value().get().and_then(Result::err),
            reset.value().get().and_then(Result::err),
            link.value().get().and_then(Result::err),
            token.value().get().and_then(Result::err),
        ]
        .into_iter()
        .flatten()
        .next()
        .map(|e| view! { <p class="error" role="alert">{e.message}</p> })
    };
    view! {
        <section aria-labelledby="gestionar" class="panel">
            <h2 id="gestionar">"Gestionar: " {name}</h2>
            {errors}
            <div class="manage-grid">
                <ActionForm action=set_role attr:class="inline-form">
                    <input type="hidden" name="id" value=id1 />
                    <label for="mu-role">"Rol"</label>
                    <select id="mu-role" name="role">{role_options(user.role)}</select>
                    <button type="submit">"Cambiar rol"</button>
                </ActionForm>
                <ActionForm action=set_active attr:class="inline-form">
                    <input type="hidden" name="id" value=id2 />
                    <input type="hidden" name="active" value=(!user.is_active).to_string() />
                    <button type="submit" class=if user.is_active { "danger" } else { "" }>
                        {if user.is_active { "Desactivar" } else { "Reactivar" }}
                    </button>
                </ActionForm>
                <ActionForm action=reset attr:class="inline-form">
                    <input type="hidden" name="id" value=id3 />
                    <button type="submit" class="secondary">"Restablecer contraseña"</button>
                </ActionForm>
                {move || reset.value().get().and_then(Result::ok).flatten().map(|p| view! { <OneTime label="Nueva contraseña" value=p /> })}
                <ActionForm action=link attr:class="inline-form">
                    <input type="hidden" name="user_id" value=id4 />
                    <button type="submit" class="secondary">"Generar vínculo de Telegram"</button>
                </ActionForm>
                {move || link.value().get().and_then(Result::ok).map(|l| {
                    let link_view = match l.deep_link {
                        Some(url) => view! { <OneTime label="Enlace para vincular Telegram" value=url /> }.into_any(),
                        None => view! {
                            <div class="one-time" role="status">
                                <p>"El nombre del bot no está configurado (TELEGRAM_BOT_USERNAME), así que no hay enlace directo. Pida al usuario que envíe al bot:"</p>
                                <code class="secret">{format!("/start {}", l.code)}</code>
                            </div>
                        }.into_any(),
                    };
                    view! { {link_view} <p class="muted">{format!("Vence: {} UTC", l.expires_at.format("%d/%m/%Y %H:%M"))}</p> }
                })}
                <ActionForm action=token attr:class="inline-form">
                    <input type="hidden" name="user_id" value=id />
                    <label for="mu-token-name">"Nombre del token"</label>
                    <input id="mu-token-name" name="name" required />
                    <label for="mu-token-scope">"Alcance"</label>
                    <select id="mu-token-scope" name="read_only">
                        <option value="true">"Solo lectura"</option>
                        <option value="false">"Lectura y escritura"</option>
                    </select>
                    <button type="submit" class="secondary">"Crear token de API"</button>
                </ActionForm>
                {move || token.value().get().and_then(Result::ok).map(|t| view! { <OneTime label="Token de API" value=t.token /> })}
            </div>
        </section>
    }
}
