//! Pages and components of the dashboard (Spanish UI, English selectable: see `crate::i18n`).

mod account;
mod audit;
mod backups;
mod broadcasts;
mod dates;
mod emergency;
mod feedback;
mod lang;
mod layout;
pub mod live;
mod login;
mod map;
mod notes;
mod notifications;
mod officers;
mod overview;
mod page;
mod replay;
mod roster;
mod sla;
mod task_detail;
mod task_form;
mod tasks;
mod two_factor;
mod users;

use leptos::prelude::*;

use crate::i18n::tr;
use leptos_meta::{HashedStylesheet, MetaTags, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{Lazy, LazyRoute, SsrMode, lazy_route, path};

pub use account::AccountPage;
pub use audit::AuditPage;
pub use backups::BackupsPage;
pub use broadcasts::BroadcastsPage;
pub use emergency::EmergencyPage;
pub use feedback::FeedbackPage;
pub use layout::Layout;
pub use login::LoginPage;
pub use map::MapPage;
pub use notes::NotesPage;
pub use officers::{OfficerDetailPage, OfficersPage};
pub use overview::OverviewPage;
pub use replay::ReplayPage;
pub use roster::RosterPage;
pub use sla::SlaTargetsPage;
pub use task_detail::TaskDetailPage;
pub use task_form::{EditTaskPage, NewTaskPage};
pub use tasks::TasksPage;
pub use two_factor::{LoginCodePage, ResetTwoFactorForm, TwoFactorPage};
pub use users::UsersPage;

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    // The request's language (`gad_lang` cookie); the browser reads it back from `lang`.
    let lang = crate::i18n::locale().code();
    // The zone every time is shown in, for the browser's own formatting (`ui::dates`).
    let tz = crate::ui::dates::zone_name();
    view! {
        <!DOCTYPE html>
        <html lang=lang data-tz=tz>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                <AutoReload options=options.clone() />
                <HashedStylesheet options=options.clone() id="leptos" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    crate::i18n::provide_locale();
    view! {
        // The base of the title stack: while a page's own `<Title>` is unmounted (its data
        // reloading after a live event), the document is still titled "GAD", never untitled.
        <Title
            text=""
            formatter=|page: String| if page.is_empty() { "GAD".to_owned() } else { format!("{page} · GAD") }
        />
        <Router>
            <Routes fallback=NotFound>
                // The pages a shift lives on load with the bundle; the others are chunks of
                // their own, fetched the first time they are shown (see `lazy_pages!`).
                <Route path=path!("/") view=OverviewPage ssr=SsrMode::Async />
                <Route path=path!("/mapa") view=MapPage ssr=SsrMode::Async />
                <Route path=path!("/mapa/recorrido") view={Lazy::<ReplayRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/emergencia") view={Lazy::<EmergencyRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async />
                <Route path=path!("/login/2fa") view={Lazy::<LoginCodeRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/cuenta/2fa") view={Lazy::<TwoFactorRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/tareas") view=TasksPage ssr=SsrMode::Async />
                <Route path=path!("/tareas/nueva") view={Lazy::<NewTaskRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/tareas/:id") view=TaskDetailPage ssr=SsrMode::Async />
                <Route path=path!("/tareas/:id/editar") view={Lazy::<EditTaskRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/efectivos") view={Lazy::<OfficersRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/efectivos/:id") view={Lazy::<OfficerDetailRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/usuarios") view={Lazy::<UsersRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/auditoria") view={Lazy::<AuditRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/respaldos") view={Lazy::<BackupsRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/comentarios") view={Lazy::<FeedbackRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/turnos") view={Lazy::<RosterRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/plazos") view={Lazy::<SlaTargetsRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/notas") view={Lazy::<NotesRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/cuenta") view={Lazy::<AccountRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/difusion") view={Lazy::<BroadcastsRoute>::new()} ssr=SsrMode::Async />
            </Routes>
        </Router>
    }
}

/// Pages whose code is a WASM chunk of its own (`cargo leptos build --split`): the browser
/// fetches it the first time the page is shown (or, on a first load, before hydrating it), so
/// the bundle every page waits for holds only the pages a shift lives on. On the server they
/// render like any page.
macro_rules! lazy_pages {
    ($($route:ident => $page:ident),* $(,)?) => {$(
        #[derive(Debug)]
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                view! { <$page /> }.into_any()
            }
        }
    )*};
}

lazy_pages! {
    EmergencyRoute => EmergencyPage,
    LoginCodeRoute => LoginCodePage,
    TwoFactorRoute => TwoFactorPage,
    NewTaskRoute => NewTaskPage,
    EditTaskRoute => EditTaskPage,
    OfficersRoute => OfficersPage,
    OfficerDetailRoute => OfficerDetailPage,
    UsersRoute => UsersPage,
    AuditRoute => AuditPage,
    BackupsRoute => BackupsPage,
    FeedbackRoute => FeedbackPage,
    NotesRoute => NotesPage,
    AccountRoute => AccountPage,
    BroadcastsRoute => BroadcastsPage,
    ReplayRoute => ReplayPage,
    RosterRoute => RosterPage,
    SlaTargetsRoute => SlaTargetsPage,
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <main class="centered">
            <Title text=tr("Página no encontrada") />
            <h1>{tr("Página no encontrada")}</h1>
            <p>
                <a href="/tareas">{tr("Volver a las tareas")}</a>
            </p>
        </main>
    }
}
