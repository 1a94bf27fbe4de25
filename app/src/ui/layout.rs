//! The frame around every signed-in page: brand, navigation, user, logout.

use leptos::prelude::*;

use crate::api::auth::{CurrentUser, Logout};

#[component]
pub fn Layout(user: CurrentUser, children: Children) -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    view! {
        <header class="topbar">
            <a class="brand" href="/tareas">
                "GAD"
            </a>
            <nav aria-label="Principal">
                <a href="/tareas">"Tareas"</a>
            </nav>
            <div class="whoami">
                <span class="user-name">{user.full_name}</span>
                <span class="role-badge">{user.role.label_es()}</span>
                <ActionForm action=logout>
                    <button type="submit" class="secondary">
                        "Cerrar sesión"
                    </button>
                </ActionForm>
            </div>
        </header>
        <main class="content">{children()}</main>
    }
}
