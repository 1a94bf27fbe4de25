//! The login page. A plain HTML form: it works without JavaScript, and with JavaScript the
//! same server function answers without a page load.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::auth::{Login, sso_label};
use crate::i18n::{tr, tr_msg};
use crate::ui::lang::LanguageSwitch;
use crate::ui::page::loaded;

/// Spanish message for an error code carried in `?error=` after a no-JavaScript post.
fn message_for(code: &str) -> &'static str {
    match code {
        "locked" => tr("Cuenta bloqueada temporalmente por intentos fallidos. Intente más tarde."),
        "invalid_credentials" => tr("Credenciales inválidas."),
        "expired" => tr("La verificación expiró. Ingrese nuevamente."),
        "validation" => tr("El correo o la contraseña superan el largo permitido."),
        "rate_limited" => tr("Demasiados intentos de ingreso. Espere un minuto y vuelva a intentar."),
        _ => tr("No se pudo iniciar sesión. Intente nuevamente."),
    }
}

/// Spanish message for the outcome of a single sign-on carried in `?sso=`.
fn sso_message(code: &str) -> &'static str {
    match code {
        "expired" => tr("El ingreso con la cuenta institucional expiró. Intente nuevamente."),
        "unavailable" => {
            tr("El proveedor de identidad no está disponible. Ingrese con su contraseña o intente más tarde.")
        }
        "no_role" => tr("Su cuenta institucional no tiene un rol de GAD asignado."),
        "local" => tr("Esta cuenta de GAD ingresa con su contraseña, no con la cuenta institucional."),
        "inactive" => tr("Su cuenta de GAD está desactivada."),
        "other_subject" => tr("Este correo pertenece a otra cuenta institucional: consulte con un administrador."),
        "last_admin" => tr(
            "Su cuenta institucional ya no tiene el rol de administrador y GAD debe conservar al menos un administrador activo: pida que se designe otro antes de ingresar.",
        ),
        "no_email" => tr("El proveedor de identidad no informó un correo electrónico."),
        _ => tr("El proveedor de identidad no confirmó su ingreso."),
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let sso = Resource::new(|| (), |_| sso_label());
    let login = ServerAction::<Login>::new();
    let query = use_query_map();
    let error = move || match login.value().get() {
        // A validation error names the field that was too long.
        Some(Err(e)) => Some(tr_msg(e.fields.first().map_or(&e.message, |f| &f.message))),
        Some(Ok(())) => None,
        None => query
            .read()
            .get("error")
            .map(|code| message_for(&code).to_owned())
            .or_else(|| query.read().get("sso").map(|code| sso_message(&code).to_owned())),
    };
    view! {
        <Title text=tr("Ingresar") />
        <main class="login-page">
            <section class="login-card" aria-labelledby="login-title">
                <h1 id="login-title">"GAD"</h1>
                <p class="subtitle">{tr("Gestión de Agentes y Despliegue")}</p>
                <p class="login-lang">
                    <LanguageSwitch />
                </p>
                <ActionForm action=login attr:class="stack">
                    <label for="email">{tr("Correo electrónico")}</label>
                    <input id="email" name="email" type="email" autocomplete="username" required />
                    <label for="password">{tr("Contraseña")}</label>
                    <input
                        id="password"
                        name="password"
                        type="password"
                        autocomplete="current-password"
                        required
                    />
                    {move || error().map(|msg| view! { <p class="error" role="alert">{msg}</p> })}
                    <button type="submit" disabled=move || login.pending().get()>
                        {tr("Ingresar")}
                    </button>
                </ActionForm>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        loaded(sso).await.ok().flatten().map(|label| {
                            view! {
                                <p class="sso">
                                    <a class="button secondary" href="/auth/oidc/login" rel="external">{label}</a>
                                </p>
                            }
                        })
                    })}
                </Suspense>
            </section>
        </main>
    }
}
