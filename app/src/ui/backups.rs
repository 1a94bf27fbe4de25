//! Backups and restore drills (`/respaldos`, admins): the newest of each, with when, how big
//! and whether the drill found the backup as its manifest says. Read-only: backups and drills
//! run from `gad backup` and `gad backup drill` (the compose `backup` service schedules them).

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::backups::backups_overview;
use crate::i18n::{tr, trf};
use crate::ui::Layout;
use crate::ui::dates::{local_date_time, zone_label};
use crate::ui::page::{PageError, loaded, signed_in};

/// `12,3 MB`, `850 KB`: a size as an operator reads it.
fn size(bytes: i64) -> String {
    let bytes = bytes.max(0) as f64;
    if bytes >= 1e9 {
        format!("{:.1} GB", bytes / 1e9).replace('.', ",")
    } else if bytes >= 1e6 {
        format!("{:.1} MB", bytes / 1e6).replace('.', ",")
    } else {
        format!("{:.0} KB", (bytes / 1e3).ceil())
    }
}

#[component]
pub fn BackupsPage() -> impl IntoView {
    let data = Resource::new(
        || (),
        |_| async move {
            let user = signed_in().await?;
            Ok::<_, contract::ApiError>((user, backups_overview().await?))
        },
    );
    view! {
        <Title text=tr("Respaldos") />
        <Suspense fallback=|| view! { <p class="loading">{tr("Cargando…")}</p> }>
            {move || Suspend::new(async move {
                match loaded(data).await {
                    Ok((user, overview)) => {
                        let last_good = overview.drills.iter().find(|d| d.ok).map(|d| local_date_time(&d.finished_at));
                        let summary = match (overview.backups.first(), last_good) {
                            (None, _) => tr("Todavía no hay copias de seguridad registradas: ejecute gad backup o active el servicio backup.").to_owned(),
                            (Some(b), Some(drill)) => trf("Última copia: {}. Último simulacro correcto: {}.", &[&local_date_time(&b.finished_at), &drill]),
                            (Some(b), None) => trf("Última copia: {}. Ningún simulacro correcto todavía: ejecute gad backup drill.", &[&local_date_time(&b.finished_at)]),
                        };
                        view! {
                            <Layout user>
                                <h1>{tr("Respaldos")}</h1>
                                <p class="muted" id="backups-summary">{summary}</p>
                                <h2>{tr("Copias de seguridad")}</h2>
                                {if overview.backups.is_empty() {
                                    view! { <p class="empty">{tr("Sin copias registradas.")}</p> }.into_any()
                                } else {
                                    view! {
                                        <table class="data-table" id="backups">
                                            <caption>{tr("Copias de seguridad, la más reciente primero")}</caption>
                                            <thead><tr>
                                                <th scope="col">{trf("Fecha ({})", &[&zone_label()])}</th>
                                                <th scope="col">{tr("Base")}</th>
                                                <th scope="col">{tr("Tamaño")}</th>
                                                <th scope="col">{tr("Objeto")}</th>
                                            </tr></thead>
                                            <tbody>
                                                {overview.backups.into_iter().map(|b| view! {
                                                    <tr>
                                                        <td>{local_date_time(&b.finished_at)}</td>
                                                        <td>{if b.backend == "postgres" { "PostgreSQL" } else { "SQLite" }}</td>
                                                        <td>{size(b.size_bytes)}</td>
                                                        <td class="mono">{b.object_key}</td>
                                                    </tr>
                                                }).collect_view()}
                                            </tbody>
                                        </table>
                                    }.into_any()
                                }}
                                <h2>{tr("Simulacros de restauración")}</h2>
                                {if overview.drills.is_empty() {
                                    view! { <p class="empty">{tr("Sin simulacros registrados.")}</p> }.into_any()
                                } else {
                                    view! {
                                        <table class="data-table" id="drills">
                                            <caption>{tr("Simulacros, el más reciente primero")}</caption>
                                            <thead><tr>
                                                <th scope="col">{trf("Fecha ({})", &[&zone_label()])}</th>
                                                <th scope="col">{tr("Resultado")}</th>
                                                <th scope="col">{tr("Tablas comparadas")}</th>
                                                <th scope="col">{tr("Copia")}</th>
                                                <th scope="col">{tr("Detalle")}</th>
                                            </tr></thead>
                                            <tbody>
                                                {overview.drills.into_iter().map(|d| view! {
                                                    <tr>
                                                        <td>{local_date_time(&d.finished_at)}</td>
                                                        <td>{if d.ok { tr("Correcto") } else { tr("Fallido") }}</td>
                                                        <td>{d.tables_checked}</td>
                                                        <td class="mono">{d.object_key}</td>
                                                        <td class="pre-wrap">{d.detail}</td>
                                                    </tr>
                                                }).collect_view()}
                                            </tbody>
                                        </table>
                                    }.into_any()
                                }}
                            </Layout>
                        }
                        .into_any()
                    }
                    Err(error) => view! { <PageError title=tr("Respaldos") error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_read_as_an_operator_reads_them() {
        assert_eq!(super::size(850_000), "850 KB");
        assert_eq!(super::size(12_345_678), "12,3 MB");
        assert_eq!(super::size(2_500_000_000), "2,5 GB");
        assert_eq!(super::size(1), "1 KB");
    }
}
