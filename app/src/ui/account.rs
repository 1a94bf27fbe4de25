//! The signed-in user's own account (`/cuenta`): who they are and a change-password form.
//! A plain HTML form (`api::account::change_password`): with JavaScript the answer shows at
//! once; without it the server keeps the outcome in the session and redirects back here.
//! A user whose password an admin reset is sent here until they choose a new one.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::account::ChangePassword;
use crate::api::flash::take_flash;
use crate::i18n::{tr, tr_msg};
use crate::ui::Layout;
use crate::ui::page::{PageError, loaded, signed_in};
use contract::ApiError;
use contract::account::ACCOUNT_PAGE;
use contract::flash::FormOutcome;

#[component]
pub fn AccountPage() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    // The answer given with JavaScript; without it the loader's flash takes its place.
    let answered = RwSignal::new(None::<FormOutcome>);
    Effect::new(move |_| {
        if let Some(result) = change.value().get() {
            answered.set(Some(result.map(|()| FormOutcome::PasswordChanged).unwrap_or_else(FormOutcome::Failed)));
        }
    });
    let data = Resource::new(
        move || change.version().get(),
        |_| async move {
            let user = signed_in().await?;
            let flash = take_flash(ACCOUNT_PAGE.to_owned()).await?;
            Ok::<_, ApiError>((user, flash))
        },
    );
    view! {
        <Title text=tr("Mi cuenta") />
        <Suspense fallback=|| view! { <p class="loading">{tr("Cargando…")}</p> }>
            {move || Suspend::new(async move {
                match loaded(data).await {
                    Ok((user, flash)) => {
                        let outcome = Signal::derive(move || answered.get().or_else(|| flash.clone()));
                        let result = move || match outcome.get()? {
                            FormOutcome::PasswordChanged => Some(
                                view! {
                                    <p class="success" role="status">
                                        {tr("Contraseña cambiada. Sus otras sesiones y sus tokens de API quedaron cerrados, y su cuenta de Telegram, desvinculada.")}
                                    </p>
                                    <p><a href="/tareas">{tr("Continuar")}</a></p>
                                }
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
                        };
                        let must_change = user.must_change_password;
                        let email = user.email.clone();
                        view! {
                            <Layout user>
                                <h1>{tr("Mi cuenta")}</h1>
                                <p>{tr("Correo electrónico")} ": " {email}</p>
                                {must_change.then(|| view! {
                                    <p class="error" role="alert">
                                        {tr("Un administrador restableció su contraseña. Elija una nueva para continuar.")}
                                    </p>
                                })}
                                <section aria-labelledby="cambiar-clave" class="panel">
                                    <h2 id="cambiar-clave">{tr("Cambiar contraseña")}</h2>
                                    <ActionForm action=change attr:class="stack">
                                        <label for="cp-current">{tr("Contraseña actual")}</label>
                                        <input id="cp-current" name="current_password" type="password" autocomplete="current-password" required maxlength="256" />
                                        <label for="cp-new">{tr("Contraseña nueva (al menos 10 caracteres)")}</label>
                                        <input id="cp-new" name="password" type="password" autocomplete="new-password" required minlength="10" maxlength="256" />
                                        <label for="cp-confirm">{tr("Repita la contraseña nueva")}</label>
                                        <input id="cp-confirm" name="password_confirm" type="password" autocomplete="new-password" required minlength="10" maxlength="256" />
                                        <div class="form-outcome">{result}</div>
                                        <button type="submit" disabled=move || change.pending().get()>{tr("Cambiar contraseña")}</button>
                                    </ActionForm>
                                    <p class="muted">
                                        {tr("Al cambiarla se cierran sus otras sesiones, se revocan sus tokens de API y se desvincula su cuenta de Telegram (vincúlela de nuevo con un código).")}
                                    </p>
                                </section>
                            </Layout>
                        }
                        .into_any()
                    }
                    Err(error) => view! { <PageError title=tr("Mi cuenta") error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
