//! The frame around every signed-in page: brand, the navigation the role may use, live
//! status, notifications, the user and logout, and the emergency banner.

use leptos::prelude::*;
use leptos_meta::Stylesheet;
use leptos_router::hooks::use_location;

use crate::api::auth::Logout;
use crate::i18n::{tr, tr_later};
use crate::ui::lang::LanguageSwitch;
use crate::ui::live::{EmergencyBanner, LiveIndicator};
use crate::ui::notifications::{NotificationBell, SlaBanner};
use contract::auth::CurrentUser;
use contract::domain::Role;

/// One entry of the navigation: path, label, who sees it, and whether it needs a full page
/// load (the map loads Leaflet on a fresh page).
struct NavItem {
    path: &'static str,
    label: &'static str,
    roles: &'static [Role],
    external: bool,
}

/// A group of the navigation, as an operations room thinks of its work.
struct NavGroup {
    label: &'static str,
    items: &'static [NavItem],
}

const ALL: &[Role] = &[Role::Officer, Role::Supervisor, Role::Admin];
const STAFF: &[Role] = &[Role::Supervisor, Role::Admin];
const ADMIN: &[Role] = &[Role::Admin];

/// SPEC §6.1 pages, grouped. Officers see their own tasks, the emergency form and notes.
const NAV: &[NavGroup] = &[
    NavGroup {
        label: tr_later("Operación"),
        items: &[
            NavItem { path: "/", label: tr_later("Resumen"), roles: ALL, external: false },
            NavItem { path: "/mapa", label: tr_later("Mapa"), roles: STAFF, external: true },
            NavItem { path: "/tareas", label: tr_later("Tareas"), roles: ALL, external: false },
            NavItem { path: "/tareas/nueva", label: tr_later("Nueva tarea"), roles: STAFF, external: false },
            NavItem { path: "/emergencia", label: tr_later("Emergencia"), roles: ALL, external: false },
            NavItem { path: "/plazos", label: tr_later("Plazos"), roles: STAFF, external: false },
        ],
    },
    NavGroup {
        label: tr_later("Personal"),
        items: &[
            NavItem { path: "/efectivos", label: tr_later("Efectivos"), roles: STAFF, external: false },
            NavItem { path: "/turnos", label: tr_later("Turnos"), roles: ALL, external: false },
        ],
    },
    NavGroup {
        label: tr_later("Comunicación"),
        items: &[
            NavItem { path: "/difusion", label: tr_later("Difusión"), roles: STAFF, external: false },
            NavItem { path: "/notas", label: tr_later("Notas"), roles: ALL, external: false },
            NavItem { path: "/comentarios", label: tr_later("Comentarios"), roles: STAFF, external: false },
        ],
    },
    NavGroup {
        label: tr_later("Administración"),
        items: &[
            NavItem { path: "/usuarios", label: tr_later("Usuarios"), roles: ADMIN, external: false },
            NavItem { path: "/auditoria", label: tr_later("Auditoría"), roles: ADMIN, external: false },
            NavItem { path: "/respaldos", label: tr_later("Respaldos"), roles: ADMIN, external: false },
        ],
    },
];

/// Whether `current` is the page of `item` (a task's page belongs to "Tareas").
fn is_current(item: &NavItem, current: &str) -> bool {
    match item.path {
        "/" => current == "/",
        "/tareas" => current == "/tareas" || (current.starts_with("/tareas/") && current != "/tareas/nueva"),
        path => current == path,
    }
}

#[component]
pub fn Layout(user: CurrentUser, children: Children) -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    let location = use_location();
    let role = user.role;
    let groups = NAV
        .iter()
        .enumerate()
        .filter_map(|(n, group)| {
            let items: Vec<&'static NavItem> = group.items.iter().filter(|item| item.roles.contains(&role)).collect();
            if items.is_empty() {
                return None;
            }
            let id = format!("nav-group-{n}");
            let links = items
                .into_iter()
                .map(|item| {
                    let pathname = location.pathname;
                    view! {
                        <li>
                            <a
                                href=item.path
                                rel=item.external.then_some("external")
                                aria-current=move || pathname.with(|p| is_current(item, p)).then_some("page")
                            >
                                {tr(item.label)}
                            </a>
                        </li>
                    }
                })
                .collect_view();
            Some(view! {
                <div class="nav-group">
                    <p class="nav-group-label" id=id.clone()>{tr(group.label)}</p>
                    <ul aria-labelledby=id>{links}</ul>
                </div>
            })
        })
        .collect_view();
    view! {
        <Stylesheet id="dashboard" href="/css/dashboard.css" />
        <a class="skip-link" href="#contenido">
            {tr("Saltar al contenido")}
        </a>
        // The phone's menu button: a checkbox and its label, so it opens without JavaScript.
        <input type="checkbox" id="menu-toggle" class="menu-toggle" aria-controls="navegacion" aria-label=tr("Menú") />
        <header class="topbar">
            <label for="menu-toggle" class="menu-button">
                <span aria-hidden="true">"☰ "</span>
                {tr("Menú")}
            </label>
            <a class="brand" href="/">
                "GAD"
            </a>
            <div class="whoami">
                <LiveIndicator />
                <NotificationBell />
                <a class="user-name" href="/cuenta" title=tr("Mi cuenta")>
                    {user.full_name}
                </a>
                <a href="/cuenta/2fa" class="account-link">{tr("Seguridad")}</a>
                <span class="role-badge">{tr(user.role.label_es())}</span>
                <LanguageSwitch />
                <ActionForm action=logout>
                    // The stream closes first: it would reconnect, refused, once the session ends.
                    <button type="submit" class="secondary" on:click=|_| crate::ui::live::stop()>
                        {tr("Cerrar sesión")}
                    </button>
                </ActionForm>
            </div>
        </header>
        <EmergencyBanner />
        <SlaBanner />
        <div class="frame">
            <nav aria-label=tr("Principal") class="main-nav" id="navegacion">
                {groups}
            </nav>
            <main class="content" id="contenido" tabindex="-1">
                {children()}
            </main>
        </div>
    }
}
