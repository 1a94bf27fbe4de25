//! Two-factor sign-in pages: the login's second step (`/login/2fa`) and the user's own
//! settings (`/cuenta/2fa`), plus the admin's reset button of the users page. Plain forms:
//! they work without JavaScript (the server redirects back; recovery codes come through the
//! session's one-shot flash), and with JavaScript the same server functions answer in place.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::auth::Logout;
use crate::api::flash::take_flash;
use crate::api::twofactor::{
    BeginTwoFactor, ConfirmTwoFactor, DisableTwoFactor, RegenerateRecoveryCodes, ResetTwoFactor, VerifyLoginCode,
    two_factor_status,
};
use crate::i18n::{tr, tr_msg, trf};
use crate::ui::Layout;
use crate::ui::lang::LanguageSwitch;
use crate::ui::page::{PageError, loaded};
use contract::ApiError;
use contract::flash::FormOutcome;
use contract::twofactor::{TWO_FACTOR_PAGE, TwoFactorInfo};

/// The message for an error code of the code page (`?error=` after a plain post).
fn code_message(code: &str) -> String {
    match code {
        "invalid_credentials" => tr("Código incorrecto o ya utilizado.").to_owned(),
        "locked" => tr("Cuenta bloqueada temporalmente por intentos fallidos. Intente más tarde.").to_owned(),
        "rate_limited" => tr("Demasiados intentos de ingreso. Espere un minuto y vuelva a intentar.").to_owned(),
        "unauthenticated" => tr("La verificación expiró. Ingrese nuevamente.").to_owned(),
        _ => tr("No se pudo verificar el código. Intente nuevamente.").to_owned(),
    }
}

fn code_of(error: &ApiError) -> String {
    serde_json::to_value(error.code).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// The second step of a two-factor login: the code of the authenticator app or a recovery code.
#[component]
pub fn LoginCodePage() -> impl IntoView {
    let verify = ServerAction::<VerifyLoginCode>::new();
    let query = use_query_map();
    let error = move || match verify.value().get() {
        Some(Err(e)) => Some(code_message(&code_of(&e))),
        Some(Ok(())) => None,
        None => query.read().get("error").map(|code| code_message(&code)),
    };
    view! {
        <Title text=tr("Verificación en dos pasos") />
        <main class="login-page">
            <section class="login-card" aria-labelledby="code-title">
                <h1 id="code-title">"GAD"</h1>
                <p class="subtitle">{tr("Verificación en dos pasos")}</p>
                <p class="login-lang">
                    <LanguageSwitch />
                </p>
                <ActionForm action=verify attr:class="stack">
                    <label for="code">{tr("Código de verificación")}</label>
                    <input
                        id="code"
                        name="code"
                        type="text"
                        autocomplete="one-time-code"
                        autocapitalize="none"
                        spellcheck="false"
                        maxlength="64"
                        required
                        aria-describedby="code-help"
                    />
                    <p id="code-help" class="muted">
                        {tr("Escriba el código de 6 dígitos de su aplicación de autenticación, o uno de sus códigos de recuperación.")}
                    </p>
                    {move || error().map(|msg| view! { <p class="error" role="alert">{msg}</p> })}
                    <button type="submit" disabled=move || verify.pending().get()>
                        {tr("Verificar")}
                    </button>
                </ActionForm>
                <p>
                    <a href="/login">{tr("Volver a ingresar")}</a>
                </p>
            </section>
        </main>
    }
}

/// The password-or-code fields that disabling and regenerating ask for.
#[component]
fn ProofFields(prefix: &'static str) -> impl IntoView {
    let password_id = format!("{prefix}-password");
    let code_id = format!("{prefix}-code");
    view! {
        <label for=password_id.clone()>{tr("Contraseña actual")}</label>
        <input id=password_id name="password" type="password" autocomplete="current-password" />
        <label for=code_id.clone()>{tr("o un código de la aplicación")}</label>
        <input id=code_id name="code" type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="64" />
    }
}

/// The user's own two-factor sign-in: enrol (QR code and key, confirmed with a code and the
/// password), recovery codes (shown once), regenerate, disable. A user whose role requires it
/// and who has not enrolled sees this page alone.
#[component]
pub fn TwoFactorPage() -> impl IntoView {
    let begin = ServerAction::<BeginTwoFactor>::new();
    let confirm = ServerAction::<ConfirmTwoFactor>::new();
    let regenerate = ServerAction::<RegenerateRecoveryCodes>::new();
    let disable = ServerAction::<DisableTwoFactor>::new();
    let logout = ServerAction::<Logout>::new();

    // The answer of the latest form sent with JavaScript; without it, the loader's flash.
    let answered = RwSignal::new(None::<FormOutcome>);
    Effect::new(move |_| {
        if let Some(result) = begin.value().get() {
            answered.set(result.err().map(FormOutcome::Failed));
        }
    });
    Effect::new(move |_| {
        if let Some(result) = confirm.value().get() {
            answered.set(Some(result.map(FormOutcome::RecoveryCodes).unwrap_or_else(FormOutcome::Failed)));
        }
    });
    Effect::new(move |_| {
        if let Some(result) = regenerate.value().get() {
            answered.set(Some(result.map(FormOutcome::RecoveryCodes).unwrap_or_else(FormOutcome::Failed)));
        }
    });
    Effect::new(move |_| {
        if let Some(result) = disable.value().get() {
            answered.set(Some(result.map(|()| FormOutcome::TwoFactorDisabled).unwrap_or_else(FormOutcome::Failed)));
        }
    });

    let data = Resource::new(
        move || (begin.version().get(), confirm.version().get(), regenerate.version().get(), disable.version().get()),
        |_| async move {
            let status = two_factor_status().await?;
            let flash = take_flash(TWO_FACTOR_PAGE.to_owned()).await?;
            Ok::<_, ApiError>((status, flash))
        },
    );
    view! {
        <Title text=tr("Verificación en dos pasos") />
        <Suspense fallback=|| view! { <p class="loading">{tr("Cargando…")}</p> }>
            {move || Suspend::new(async move {
                match loaded(data).await {
                    Ok((status, flash)) => {
                        let outcome = Signal::derive(move || answered.get().or_else(|| flash.clone()));
                        let must_enrol = status.required && !status.active;
                        let user = status.user.clone();
                        let body = view! {
                            <TwoFactorBody status outcome begin confirm regenerate disable />
                        };
                        if must_enrol {
                            view! {
                                <main class="login-page">
                                    <section class="login-card two-factor" aria-labelledby="tf-title">
                                        {body}
                                        <ActionForm action=logout>
                                            <button type="submit" class="secondary">{tr("Cerrar sesión")}</button>
                                        </ActionForm>
                                    </section>
                                </main>
                            }
                            .into_any()
                        } else {
                            view! {
                                <Layout user>
                                    <div class="two-factor">{body}</div>
                                </Layout>
                            }
                            .into_any()
                        }
                    }
                    Err(error) => view! { <PageError title=tr("Verificación en dos pasos") error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn TwoFactorBody(
    status: TwoFactorInfo,
    outcome: Signal<Option<FormOutcome>>,
    begin: ServerAction<BeginTwoFactor>,
    confirm: ServerAction<ConfirmTwoFactor>,
    regenerate: ServerAction<RegenerateRecoveryCodes>,
    disable: ServerAction<DisableTwoFactor>,
) -> impl IntoView {
    let required = status.required;
    let result = move || {
        match outcome.get()? {
        FormOutcome::RecoveryCodes(codes) => Some(
            view! {
                <div class="one-time" role="status">
                    <p>
                        {tr("Códigos de recuperación")} {tr(" (se muestran una sola vez):")}
                    </p>
                    <p class="muted">
                        {tr("Guárdelos en un lugar seguro. Cada código sirve una sola vez para ingresar si no tiene el teléfono a mano.")}
                    </p>
                    <ol class="recovery-codes">
                        {codes.into_iter().map(|c| view! { <li><code class="secret">{c}</code></li> }).collect_view()}
                    </ol>
                    {required.then(|| view! { <p><a href="/tareas">{tr("Continuar al panel")}</a></p> })}
                </div>
            }
            .into_any(),
        ),
        FormOutcome::TwoFactorDisabled => Some(
            view! { <p class="success" role="status">{tr("La verificación en dos pasos quedó desactivada.")}</p> }
                .into_any(),
        ),
        FormOutcome::Failed(e) => Some(
            view! {
                <p class="error" role="alert">{tr_msg(&e.message)}</p>
                <ul class="field-errors">
                    {e.fields.into_iter().map(|f| view! { <li>{tr_msg(&f.message)}</li> }).collect_view()}
                </ul>
            }
            .into_any(),
        ),
        _ => None,
    }
    };
    let state = if status.active {
        let since = status.active_since.unwrap_or_default();
        view! {
            <p class="success">{trf("Activa desde el {}.", &[&since])}</p>
            <p>{trf("Códigos de recuperación sin usar: {}.", &[&status.recovery_codes_left.to_string()])}</p>
            <section class="panel" aria-labelledby="tf-regenerate">
                <h2 id="tf-regenerate">{tr("Códigos de recuperación")}</h2>
                <p class="muted">{tr("Generar códigos nuevos invalida los anteriores.")}</p>
                <ActionForm action=regenerate attr:class="stack">
                    <ProofFields prefix="tf-rg" />
                    <button type="submit">{tr("Generar códigos nuevos")}</button>
                </ActionForm>
            </section>
            <section class="panel" aria-labelledby="tf-disable">
                <h2 id="tf-disable">{tr("Desactivar")}</h2>
                {required.then(|| view! {
                    <p class="muted">{tr("Su rol requiere la verificación en dos pasos: al desactivarla deberá configurarla de nuevo antes de continuar.")}</p>
                })}
                <ActionForm action=disable attr:class="stack">
                    <ProofFields prefix="tf-ds" />
                    <button type="submit" class="danger">{tr("Desactivar la verificación en dos pasos")}</button>
                </ActionForm>
            </section>
        }
        .into_any()
    } else if let Some(enrolment) = status.enrolment {
        view! {
            <ol class="steps">
                <li>{tr("Escanee este código QR con su aplicación de autenticación (por ejemplo FreeOTP, Aegis o Google Authenticator).")}</li>
            </ol>
            <div class="qr" inner_html=enrolment.qr_svg></div>
            <p>{tr("¿No puede escanearlo? Ingrese esta clave a mano:")}</p>
            <p>
                <code class="secret">{enrolment.secret}</code>
            </p>
            <ActionForm action=confirm attr:class="stack">
                <label for="tf-code">{tr("Código de 6 dígitos que muestra la aplicación")}</label>
                <input
                    id="tf-code"
                    name="code"
                    type="text"
                    inputmode="numeric"
                    autocomplete="one-time-code"
                    maxlength="64"
                    required
                />
                <label for="tf-password">{tr("Contraseña actual")}</label>
                // Not `required`: an account that signs in only through single sign-on has no
                // password (the server asks for it where there is one).
                <input id="tf-password" name="password" type="password" autocomplete="current-password" />
                <button type="submit" disabled=move || confirm.pending().get()>{tr("Activar")}</button>
            </ActionForm>
            <ActionForm action=begin attr:class="inline-form">
                <button type="submit" class="secondary">{tr("Generar otra clave")}</button>
            </ActionForm>
        }
        .into_any()
    } else {
        view! {
            <p>{tr("Con la verificación en dos pasos, al ingresar se pide, además de la contraseña, un código de 6 dígitos que genera una aplicación de su teléfono.")}</p>
            <ActionForm action=begin attr:class="inline-form">
                <button type="submit">{tr("Configurar la verificación en dos pasos")}</button>
            </ActionForm>
        }
        .into_any()
    };
    view! {
        <h1 id="tf-title">{tr("Verificación en dos pasos")}</h1>
        {(status.required && !status.active).then(|| view! {
            <p class="notice" role="status">{tr("Su rol requiere la verificación en dos pasos. Configúrela para continuar.")}</p>
        })}
        <div class="form-outcome">{result}</div>
        {state}
    }
}

/// The users page's button that removes another user's second factor (lost phone).
#[component]
pub fn ResetTwoFactorForm(user_id: i64) -> impl IntoView {
    let reset = ServerAction::<ResetTwoFactor>::new();
    let answer = move || match reset.value().get()? {
        Ok(()) => Some(
            view! { <p class="success" role="status">{tr("Verificación en dos pasos restablecida.")}</p> }.into_any(),
        ),
        Err(e) => Some(view! { <p class="error" role="alert">{tr_msg(&e.message)}</p> }.into_any()),
    };
    view! {
        <ActionForm action=reset attr:class="inline-form">
            <input type="hidden" name="user_id" value=user_id.to_string() />
            <button type="submit" class="secondary">{tr("Restablecer verificación en dos pasos")}</button>
            {answer}
        </ActionForm>
    }
}
