//! The audit log (`/auditoria`, admins): the chain's verification status, filters in the
//! query string (a GET form), keyset pages and a CSV link with the same filters.

use chrono::{NaiveDate, TimeZone, Utc};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use crate::api::audit::{audit_chain_status, list_audit};
use crate::i18n::{tr, trf};
use crate::ui::Layout;
use crate::ui::page::{PageError, loaded, query_string, signed_in};
use contract::audit::AuditFilter;
use contract::{ApiError, ErrorCode};

fn filter_from(get: &dyn Fn(&str) -> String) -> Result<AuditFilter, ApiError> {
    let bad = |m: &str| ApiError::new(ErrorCode::Validation, m);
    let opt = |k: &str| Some(get(k)).filter(|v| !v.is_empty());
    let day = |k: &str, end: bool| -> Result<_, ApiError> {
        opt(k)
            .map(|d| {
                let d = d.parse::<NaiveDate>().map_err(|_| bad(tr("Fecha inválida.")))?;
                let d = if end { d.succ_opt().unwrap_or(d) } else { d };
                Ok(Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default()))
            })
            .transpose()
    };
    Ok(AuditFilter {
        action: opt("action"),
        user_id: opt("user_id").map(|u| u.parse().map_err(|_| bad(tr("Usuario inválido.")))).transpose()?,
        resource_type: opt("resource_type"),
        resource_id: None,
        success: match get("success").as_str() {
            "" => None,
            "true" => Some(true),
            "false" => Some(false),
            _ => return Err(bad(tr("Resultado inválido."))),
        },
        from: day("from", false)?,
        to: day("to", true)?,
        cursor: opt("cursor"),
        limit: Some(50),
    })
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    let data = Resource::new(
        move || query.get(),
        |q| async move {
            let user = signed_in().await?;
            let get = |k: &str| q.get(k).unwrap_or_default().trim().to_owned();
            let filter = filter_from(&get)?;
            let chain = audit_chain_status().await?;
            let page = list_audit(filter).await?;
            Ok::<_, ApiError>((user, chain, page))
        },
    );
    view! {
        <Title text=tr("Auditoría") />
        <Suspense fallback=|| view! { <p class="loading">{tr("Cargando…")}</p> }>
            {move || Suspend::new(async move {
                let q = query.get_untracked();
                let get = |k: &str| q.get(k).unwrap_or_default().trim().to_owned();
                let (v_action, v_type, v_user, v_success, v_from, v_to) =
                    (get("action"), get("resource_type"), get("user_id"), get("success"), get("from"), get("to"));
                let pairs: Vec<(&str, String)> =
                    ["action", "resource_type", "user_id", "success", "from", "to"].into_iter().map(|k| (k, get(k))).collect();
                match loaded(data).await {
                    Ok((user, chain, page)) => {
                        // The REST export takes instants: the days become the same UTC bounds.
                        let bounds = filter_from(&get).ok();
                        let instant = |t: Option<chrono::DateTime<Utc>>| t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)).unwrap_or_default();
                        let csv_pairs: Vec<(&str, String)> = pairs
                            .iter()
                            .map(|(k, v)| match *k {
                                "from" => (*k, instant(bounds.as_ref().and_then(|f| f.from))),
                                "to" => (*k, instant(bounds.as_ref().and_then(|f| f.to))),
                                _ => (*k, v.clone()),
                            })
                            .collect();
                        let csv = format!("/api/v1/audit.csv{}", query_string(&csv_pairs));
                        let next = page.next_cursor.map(|c| {
                            let mut p = pairs.clone();
                            p.push(("cursor", c));
                            format!("/auditoria{}", query_string(&p))
                        });
                        view! {
                            <Layout user>
                                <h1>{tr("Auditoría")}</h1>
                                {if chain.intact {
                                    view! { <p class="chain ok" role="status">{trf("Cadena íntegra: {} registros verificados.", &[&chain.rows.to_string()])}</p> }.into_any()
                                } else {
                                    view! { <p class="chain broken" role="alert">{trf("¡Cadena alterada! Primer registro que no coincide: #{}.", &[&chain.first_broken.unwrap_or_default().to_string()])}</p> }.into_any()
                                }}
                                {(chain.unsealed > 0).then(|| view! { <p class="chain pending" role="status">{trf("{} registros recientes esperan su sello.", &[&chain.unsealed.to_string()])}</p> })}
                                <Form method="GET" action="/auditoria" attr:class="filters" attr:aria-label=tr("Filtros")>
                                    <div class="field"><label for="a-action">{tr("Acción")}</label><input id="a-action" name="action" value=v_action placeholder=tr("task. o auth.login") /></div>
                                    <div class="field"><label for="a-type">{tr("Recurso")}</label><input id="a-type" name="resource_type" value=v_type placeholder=tr("task, user…") /></div>
                                    <div class="field"><label for="a-user">{tr("Usuario (id)")}</label><input id="a-user" name="user_id" inputmode="numeric" value=v_user /></div>
                                    <div class="field">
                                        <label for="a-success">{tr("Resultado")}</label>
                                        <select id="a-success" name="success">
                                            <option value="">{tr("Todos")}</option>
                                            <option value="true" selected=v_success == "true">{tr("Exitosos")}</option>
                                            <option value="false" selected=v_success == "false">{tr("Fallidos")}</option>
                                        </select>
                                    </div>
                                    <div class="field"><label for="a-from">{tr("Desde")}</label><input id="a-from" name="from" type="date" value=v_from /></div>
                                    <div class="field"><label for="a-to">{tr("Hasta")}</label><input id="a-to" name="to" type="date" value=v_to /></div>
                                    <div class="field buttons"><button type="submit">{tr("Filtrar")}</button><a href="/auditoria">{tr("Limpiar")}</a></div>
                                </Form>
                                <p class="list-tools"><a href=csv download="auditoria.csv">{tr("Exportar CSV")}</a></p>
                                {if page.items.is_empty() {
                                    view! { <p class="empty">{tr("No hay registros para mostrar.")}</p> }.into_any()
                                } else {
                                    view! {
                                        <table class="data-table">
                                            <caption>{tr("Registros de auditoría, los más recientes primero")}</caption>
                                            <thead><tr>
                                                <th scope="col">"#"</th>
                                                <th scope="col">{trf("Fecha ({})", &[&crate::ui::dates::zone_label()])}</th>
                                                <th scope="col">{tr("Usuario")}</th>
                                                <th scope="col">{tr("Canal")}</th>
                                                <th scope="col">{tr("Acción")}</th>
                                                <th scope="col">{tr("Recurso")}</th>
                                                <th scope="col">{tr("Resultado")}</th>
                                                <th scope="col">{tr("IP")}</th>
                                            </tr></thead>
                                            <tbody>
                                                {page.items.into_iter().map(|r| view! {
                                                    <tr>
                                                        <td class="mono">{r.id}</td>
                                                        <td class="mono">{crate::ui::dates::local_date_time_seconds(&r.at)}</td>
                                                        <td>{r.user.unwrap_or_else(|| "—".into())}</td>
                                                        <td>{tr(r.channel.label_es())}</td>
                                                        <td class="mono">{r.action}</td>
                                                        <td>{r.resource_type}{r.resource_id.map(|id| format!(" #{id}"))}</td>
                                                        <td>{if r.success { tr("Exitoso") } else { tr("Fallido") }}</td>
                                                        <td class="mono">{r.ip.unwrap_or_else(|| "—".into())}</td>
                                                    </tr>
                                                }).collect_view()}
                                            </tbody>
                                        </table>
                                    }
                                    .into_any()
                                }}
                                {next.map(|h| view! { <nav class="pager" aria-label=tr("Páginas")><a href=h rel="next">{tr("Siguiente »")}</a></nav> })}
                            </Layout>
                        }
                        .into_any()
                    }
                    Err(error) => view! { <PageError title=tr("Auditoría") error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
