//! Users (`/usuarios`, admins): list and search, create, and for the selected user
//! (`?id=`): role, activation, password reset, a Telegram link and API tokens.
//!
//! Every form is a plain HTML form (`api::user_forms`). With JavaScript the answer of the
//! server function shows at once; without it the server keeps the outcome in the session and
//! redirects back here, and the loader takes it (`api::flash`). Either way generated
//! passwords, link codes and tokens are shown once, and never travel in a URL.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use crate::api::flash::take_flash;
use crate::api::user_forms::{
    CreateApiTokenForm, CreateLinkCodeForm, CreateUserForm, ResetPasswordForm, SetUserActiveForm, SetUserRole,
};
use crate::api::users::list_users;
use crate::i18n::{tr, tr_msg, trf};
use crate::ui::page::{PageError, loaded, signed_in};
use crate::ui::{Layout, ResetTwoFactorForm};
use contract::ApiError;
use contract::domain::Role;
use contract::flash::FormOutcome;
use contract::user_forms::USERS_PAGE;
use contract::users::{LinkCode, UserSummary};

fn role_options(selected: Role) -> impl IntoView {
    Role::ALL
        .iter()
        .map(|r| view! { <option value=r.as_str() selected=*r == selected>{tr(r.label_es())}</option> })
        .collect_view()
}

/// A secret shown once, with a reminder that it will not be shown again.
#[component]
fn OneTime(label: &'static str, value: String) -> impl IntoView {
    view! {
        <div class="one-time" role="status">
            <p>{label} {tr(" (se muestra una sola vez):")}</p>
            <code class="secret">{value}</code>
        </div>
    }
}

/// Copies the answer of every form sent with JavaScript into `outcome` (the latest wins).
fn follow<S>(action: ServerAction<S>, outcome: RwSignal<Option<FormOutcome>>, to: fn(S::Output) -> FormOutcome)
where
    S: ServerFn<Error = ApiError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    Effect::new(move |_| {
        if let Some(result) = action.value().get() {
            outcome.set(Some(result.map(to).unwrap_or_else(FormOutcome::Failed)));
        }
    });
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let query = use_query_map();
    let create = ServerAction::<CreateUserForm>::new();
    let set_role = ServerAction::<SetUserRole>::new();
    let set_active = ServerAction::<SetUserActiveForm>::new();
    let reset = ServerAction::<ResetPasswordForm>::new();
    let link = ServerAction::<CreateLinkCodeForm>::new();
    let token = ServerAction::<CreateApiTokenForm>::new();

    // The outcome of the latest form sent with JavaScript (in the browser only); without
    // JavaScript the loader's flash takes its place.
    let answered = RwSignal::new(None::<FormOutcome>);
    Effect::new(move |_| {
        if let Some(result) = create.value().get() {
            answered.set(Some(match result {
                Ok(created) => FormOutcome::UserCreated(created),
                Err(error) => FormOutcome::UserNotCreated { error, values: Vec::new() },
            }));
        }
    });
    follow(set_role, answered, FormOutcome::RoleChanged);
    follow(set_active, answered, FormOutcome::ActiveChanged);
    follow(reset, answered, FormOutcome::PasswordReset);
    follow(link, answered, FormOutcome::LinkCode);
    follow(token, answered, FormOutcome::ApiToken);
    // Choosing another user leaves the previous answer behind.
    Effect::new(move |previous: Option<Option<String>>| {
        let id = query.read().get("id");
        if previous.is_some_and(|p| p != id) {
            answered.set(None);
        }
        id
    });

    let data = Resource::new(
        // `id` is part of the key so that choosing a user re-renders the page.
        move || {
            let q = query.read();
            (q.get("q"), q.get("id"), create.version().get(), set_role.version().get(), set_active.version().get())
        },
        |(q, ..)| async move {
            let user = signed_in().await?;
            let page = list_users(q.filter(|q| !q.is_empty()), None, None, Some(200)).await?;
            let flash = take_flash(USERS_PAGE.to_owned()).await?;
            Ok::<_, ApiError>((user, page.items, flash))
        },
    );
    view! {
        <Title text=tr("Usuarios") />
        <Suspense fallback=|| view! { <p class="loading">{tr("Cargando…")}</p> }>
            {move || Suspend::new(async move {
                let q = query.get_untracked();
                let text = q.get("q").unwrap_or_default();
                let selected = q.get("id").and_then(|id| id.parse::<i64>().ok());
                match loaded(data).await {
                    Ok((user, users, flash)) => {
                        let chosen = selected.and_then(|id| users.iter().find(|u| u.id == id).cloned());
                        // The answer given with JavaScript, else what a plain post left.
                        let outcome = Signal::derive(move || answered.get().or_else(|| flash.clone()));
                        view! {
                            <Layout user>
                                <h1>{tr("Usuarios")}</h1>
                                <Form method="GET" action="/usuarios" attr:class="filters" attr:aria-label=tr("Buscar usuarios")>
                                    <div class="field"><label for="u-q">{tr("Buscar")}</label><input id="u-q" name="q" type="search" value=text placeholder=tr("Nombre, correo o DNI") /></div>
                                    <div class="field buttons"><button type="submit">{tr("Buscar")}</button></div>
                                </Form>
                                <table class="data-table">
                                    <caption>{tr("Usuarios")}</caption>
                                    <thead><tr>
                                        <th scope="col">{tr("Nombre")}</th>
                                        <th scope="col">{tr("Correo")}</th>
                                        <th scope="col">{tr("DNI")}</th>
                                        <th scope="col">{tr("Rol")}</th>
                                        <th scope="col">{tr("Estado")}</th>
                                        <th scope="col">{tr("Telegram")}</th>
                                        <th scope="col">{tr("Acción")}</th>
                                    </tr></thead>
                                    <tbody>
                                        {users.into_iter().map(|u| view! {
                                            <tr>
                                                <td>{format!("{} {}", u.first_name, u.last_name)}</td>
                                                <td>{u.email}</td>
                                                <td class="mono">{u.dni}</td>
                                                <td>{tr(u.role.label_es())}</td>
                                                <td>{if !u.is_active { tr("Inactivo") } else if u.locked { tr("Bloqueado") } else { tr("Activo") }}</td>
                                                <td>{if u.telegram_linked { tr("Vinculado") } else { "—" }}</td>
                                                <td><a href=format!("/usuarios?id={}", u.id)>{tr("Gestionar")}</a></td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                {chosen.map(|u| view! { <ManageUser user=u set_role set_active reset link token outcome /> })}
                                <NewUser create outcome />
                            </Layout>
                        }
                        .into_any()
                    }
                    Err(error) => view! { <PageError title=tr("Usuarios") error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn NewUser(create: ServerAction<CreateUserForm>, outcome: Signal<Option<FormOutcome>>) -> impl IntoView {
    // A form refused without JavaScript comes back with what was typed (never the password).
    let typed = move |name: &str| outcome.with_untracked(|o| o.as_ref().and_then(|o| o.typed(name)));
    let role = typed("role").and_then(|r| r.parse::<Role>().ok()).unwrap_or(Role::Officer);
    let result = move || {
        match outcome.get() {
        Some(FormOutcome::UserCreated(created)) => Some(
            view! {
                <p class="success" role="status">{trf("Usuario creado: {}.", &[&created.user.email])}</p>
                {created.officer_code.map(|code| view! { <p class="success" role="status">{trf("Efectivo {} creado y vinculado: ya figura en Efectivos, en el mapa y en las asignaciones.", &[&code])}</p> })}
                {created.generated_password.map(|p| view! { <OneTime label=tr("Contraseña generada") value=p /> })}
            }
            .into_any(),
        ),
        Some(FormOutcome::UserNotCreated { error, .. }) => Some(
            view! {
                <p class="error" role="alert">{tr_msg(&error.message)}</p>
                <ul class="field-errors">{error.fields.into_iter().map(|f| view! { <li>{tr_msg(&f.message)}</li> }).collect_view()}</ul>
            }
            .into_any(),
        ),
        _ => None,
    }
    };
    view! {
        <section aria-labelledby="nuevo-usuario" class="panel">
            <h2 id="nuevo-usuario">{tr("Nuevo usuario")}</h2>
            <ActionForm action=create attr:class="form-grid">
                <div class="field"><label for="nu-first">{tr("Nombre")}</label><input id="nu-first" name="first_name" required value=typed("first_name") /></div>
                <div class="field"><label for="nu-last">{tr("Apellido")}</label><input id="nu-last" name="last_name" required value=typed("last_name") /></div>
                <div class="field"><label for="nu-dni">{tr("DNI")}</label><input id="nu-dni" name="dni" required inputmode="numeric" value=typed("dni") /></div>
                <div class="field"><label for="nu-email">{tr("Correo electrónico")}</label><input id="nu-email" name="email" type="email" required value=typed("email") /></div>
                <div class="field"><label for="nu-phone">{tr("Teléfono")}</label><input id="nu-phone" name="phone" type="tel" value=typed("phone") /></div>
                <div class="field"><label for="nu-role">{tr("Rol")}</label><select id="nu-role" name="role">{role_options(role)}</select></div>
                <div class="field"><label for="nu-pass">{tr("Contraseña (vacía: se genera)")}</label><input id="nu-pass" name="password" type="password" autocomplete="new-password" /></div>
                <fieldset class="officer-profile">
                    <legend>{tr("Perfil de efectivo (solo para el rol Efectivo)")}</legend>
                    <div class="field"><label for="nu-ocode">{tr("Código de efectivo (vacío: el siguiente EF-NNN)")}</label><input id="nu-ocode" name="officer_code" maxlength="32" value=typed("officer_code") /></div>
                    <div class="field"><label for="nu-orank">{tr("Jerarquía")}</label><input id="nu-orank" name="officer_rank" maxlength="60" value=typed("officer_rank") /></div>
                    <div class="field"><label for="nu-ounit">{tr("Unidad")}</label><input id="nu-ounit" name="officer_unit" maxlength="100" value=typed("officer_unit") /></div>
                </fieldset>
                <div class="field buttons"><button type="submit">{tr("Crear usuario")}</button></div>
            </ActionForm>
            {result}
        </section>
    }
}

/// The outcome of a Telegram link code: the deep link, or the command when the bot's name
/// is not configured.
fn link_view(l: LinkCode) -> impl IntoView {
    let link_view = match l.deep_link {
        Some(url) => view! { <OneTime label=tr("Enlace para vincular Telegram") value=url /> }.into_any(),
        None => view! {
            <div class="one-time" role="status">
                <p>{tr("El nombre del bot no está configurado (TELEGRAM_BOT_USERNAME), así que no hay enlace directo. Pida al usuario que envíe al bot (se muestra una sola vez):")}</p>
                <code class="secret">{format!("/start {}", l.code)}</code>
            </div>
        }
        .into_any(),
    };
    view! { {link_view} <p class="muted">{trf("Vence: {} ({})", &[&crate::ui::dates::local_date_time(&l.expires_at), &crate::ui::dates::zone_label()])}</p> }
}

#[component]
fn ManageUser(
    user: UserSummary,
    set_role: ServerAction<SetUserRole>,
    set_active: ServerAction<SetUserActiveForm>,
    reset: ServerAction<ResetPasswordForm>,
    link: ServerAction<CreateLinkCodeForm>,
    token: ServerAction<CreateApiTokenForm>,
    outcome: Signal<Option<FormOutcome>>,
) -> impl IntoView {
    let id = user.id.to_string();
    let (id1, id2, id3, id4) = (id.clone(), id.clone(), id.clone(), id.clone());
    let name = format!("{} {}", user.first_name, user.last_name);
    // What the latest action did, or why it was refused.
    let result = move || {
        match outcome.get()? {
        FormOutcome::RoleChanged(u) => Some(
            view! { <p class="success" role="status">{trf("Rol cambiado: {} es ahora {}.", &[&u.email, tr(u.role.label_es())])}</p> }
                .into_any(),
        ),
        FormOutcome::ActiveChanged(u) => Some(
            view! {
                <p class="success" role="status">
                    {if u.is_active { trf("{} fue reactivado.", &[&u.email]) } else { trf("{} fue desactivado.", &[&u.email]) }}
                </p>
            }
            .into_any(),
        ),
        FormOutcome::PasswordReset(Some(p)) => Some(view! { <OneTime label=tr("Nueva contraseña") value=p /> }.into_any()),
        FormOutcome::PasswordReset(None) => {
            Some(view! { <p class="success" role="status">{tr("Contraseña restablecida.")}</p> }.into_any())
        }
        FormOutcome::LinkCode(l) => Some(link_view(l).into_any()),
        FormOutcome::ApiToken(t) => Some(
            view! {
                <OneTime label=tr("Token de API") value=t.token />
                <p class="muted">{trf("Token «{}» creado.", &[&t.info.name])}</p>
            }
            .into_any(),
        ),
        FormOutcome::TwoFactorReset => Some(
            view! { <p class="success" role="status">{tr("Verificación en dos pasos restablecida.")}</p> }.into_any(),
        ),
        FormOutcome::Failed(e) => Some(view! { <p class="error" role="alert">{tr_msg(&e.message)}</p> }.into_any()),
        _ => None,
    }
    };
    view! {
        <section aria-labelledby="gestionar" class="panel">
            <h2 id="gestionar">{tr("Gestionar: ")} {name}</h2>
            <div class="form-outcome">{result}</div>
            <div class="manage-grid">
                <ActionForm action=set_role attr:class="inline-form">
                    <input type="hidden" name="id" value=id1 />
                    <label for="mu-role">{tr("Rol")}</label>
                    <select id="mu-role" name="role">{role_options(user.role)}</select>
                    <button type="submit">{tr("Cambiar rol")}</button>
                </ActionForm>
                <ActionForm action=set_active attr:class="inline-form">
                    <input type="hidden" name="id" value=id2 />
                    <input type="hidden" name="active" value=(!user.is_active).to_string() />
                    <button type="submit" class=if user.is_active { "danger" } else { "" }>
                        {if user.is_active { tr("Desactivar") } else { tr("Reactivar") }}
                    </button>
                </ActionForm>
                <ActionForm action=reset attr:class="inline-form">
                    <input type="hidden" name="id" value=id3 />
                    <button type="submit" class="secondary">{tr("Restablecer contraseña")}</button>
                </ActionForm>
                <ResetTwoFactorForm user_id=user.id />
                <ActionForm action=link attr:class="inline-form">
                    <input type="hidden" name="user_id" value=id4 />
                    <button type="submit" class="secondary">{tr("Generar vínculo de Telegram")}</button>
                </ActionForm>
                <ActionForm action=token attr:class="inline-form">
                    <input type="hidden" name="user_id" value=id />
                    <label for="mu-token-name">{tr("Nombre del token")}</label>
                    <input id="mu-token-name" name="name" required />
                    <label for="mu-token-scope">{tr("Alcance")}</label>
                    <select id="mu-token-scope" name="read_only">
                        <option value="true">{tr("Solo lectura")}</option>
                        <option value="false">{tr("Lectura y escritura")}</option>
                    </select>
                    <button type="submit" class="secondary">{tr("Crear token de API")}</button>
                </ActionForm>
            </div>
        </section>
    }
}
