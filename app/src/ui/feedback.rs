//! Feedback (`/comentarios`, supervisors and admins): KPIs, this week's digest (what the
//! Monday Telegram message says of it), the list filtered by status, and the review workflow
//! (new → reviewing → resolved, reopen) as plain form buttons.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::feedback::{SetFeedbackStatus, feedback_digest, feedback_overview, list_feedback};
use crate::i18n::{tr, tr_later, tr_msg};
use crate::ui::Layout;
use crate::ui::page::{PageError, loaded, query_string, signed_in};
use contract::ApiError;
use contract::domain::FeedbackStatus;
use contract::feedback::FeedbackDigest;

const REVIEW: &str = tr_later("Revisar");
const RESOLVE: &str = tr_later("Resolver");
const REOPEN: &str = tr_later("Reabrir");

/// The review moves offered from each status.
fn next_statuses(from: FeedbackStatus) -> &'static [(FeedbackStatus, &'static str)] {
    match from {
        FeedbackStatus::New => &[(FeedbackStatus::Reviewing, REVIEW), (FeedbackStatus::Resolved, RESOLVE)],
        FeedbackStatus::Reviewing => &[(FeedbackStatus::Resolved, RESOLVE)],
        FeedbackStatus::Resolved => &[(FeedbackStatus::Reviewing, REOPEN)],
    }
}

#[component]
pub fn FeedbackPage() -> impl IntoView {
    let query = use_query_map();
    let review = ServerAction::<SetFeedbackStatus>::new();
    let data = Resource::new(
        move || (query.read().get("status"), query.read().get("cursor"), review.version().get()),
        |(status, cursor, _)| async move {
            let user = signed_in().await?;
            let status = status
                .filter(|s| !s.is_empty())
                .map(|s| s.parse::<FeedbackStatus>())
                .transpose()
                .map_err(|_| ApiError::new(crate::api::ErrorCode::Validation, tr("Estado desconocido.")))?;
            let kpis = feedback_overview().await?;
            let digest = feedback_digest(None).await?;
            let page = list_feedback(status, cursor, Some(50)).await?;
            Ok::<_, ApiError>((user, status, kpis, digest, page))
        },
    );
    let error = move || review.value().get().and_then(Result::err).map(|e| tr_msg(&e.message));
    view! {
        <Title text=tr("Comentarios") />
        <Suspense fallback=|| view! { <p class="loading">{tr("Cargando…")}</p> }>
            {move || Suspend::new(async move {
                match loaded(data).await {
                    Ok((user, status, kpis, digest, page)) => {
                        let selected = status.map(|s| s.as_str()).unwrap_or_default();
                        let next = page
                            .next_cursor
                            .map(|c| format!("/comentarios{}", query_string(&[("status", selected.to_owned()), ("cursor", c)])));
                        view! {
                            <Layout user>
                                <h1>{tr("Comentarios")}</h1>
                                <ul class="kpis" aria-label=tr("Resumen")>
                                    <li><strong>{kpis.total}</strong>{tr(" en total")}</li>
                                    <li><strong>{kpis.new}</strong>{tr(" nuevos")}</li>
                                    <li><strong>{kpis.reviewing}</strong>{tr(" en revisión")}</li>
                                    <li><strong>{kpis.resolved}</strong>{tr(" resueltos")}</li>
                                    <li><strong>{kpis.positive}</strong>{tr(" positivos · ")}<strong>{kpis.negative}</strong>{tr(" negativos")}</li>
                                </ul>
                                <WeekDigest digest />
                                <nav class="segmented" aria-label=tr("Estado")>
                                    <a href="/comentarios" aria-current=status.is_none().then_some("page")>{tr("Todos")}</a>
                                    {FeedbackStatus::ALL
                                        .iter()
                                        .map(|s| view! {
                                            <a href=format!("/comentarios?status={}", s.as_str()) aria-current=(status == Some(*s)).then_some("page")>
                                                {tr(s.label_es())}
                                            </a>
                                        })
                                        .collect_view()}
                                </nav>
                                {move || error().map(|m| view! { <p class="error" role="alert">{m}</p> })}
                                {if page.items.is_empty() {
                                    view! { <p class="empty">{tr("No hay comentarios para mostrar.")}</p> }.into_any()
                                } else {
                                    view! {
                                        <table class="data-table feedback-table">
                                            <caption>{tr("Comentarios recibidos")}</caption>
                                            <thead>
                                                <tr>
                                                    <th scope="col">{tr("Fecha")}</th>
                                                    <th scope="col">{tr("Autor")}</th>
                                                    <th scope="col">{tr("Canal")}</th>
                                                    <th scope="col">{tr("Texto")}</th>
                                                    <th scope="col">{tr("Categoría")}</th>
                                                    <th scope="col">{tr("Sentimiento")}</th>
                                                    <th scope="col">{tr("Estado")}</th>
                                                    <th scope="col">{tr("Acciones")}</th>
                                                </tr>
                                            </thead>
                                            <tbody>
                                                {page.items.into_iter().map(|f| view! {
                                                    <tr>
                                                        <td class="mono">{crate::ui::dates::local_date_time(&f.created_at)}</td>
                                                        <td>{f.author.unwrap_or_else(|| "—".into())}</td>
                                                        <td>{tr(f.channel.label_es())}</td>
                                                        <td>{f.text}</td>
                                                        <td>{f.category}</td>
                                                        <td>{sentiment_label(&f.sentiment_label)}</td>
                                                        <td><span class="badge">{tr(f.status.label_es())}</span></td>
                                                        <td class="row-actions">
                                                            {next_statuses(f.status).iter().map(|(to, label)| view! {
                                                                <ActionForm action=review attr:class="inline-form">
                                                                    <input type="hidden" name="id" value=f.id.to_string() />
                                                                    <input type="hidden" name="status" value=to.as_str() />
                                                                    <button type="submit" class="small">{tr(label)}</button>
                                                                </ActionForm>
                                                            }).collect_view()}
                                                        </td>
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
                    Err(error) => view! { <PageError title=tr("Comentarios") error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn sentiment_label(label: &str) -> &'static str {
    match label {
        "positive" => tr("Positivo"),
        "negative" => tr("Negativo"),
        _ => tr("Neutral"),
    }
}

/// This week's digest: what the Monday message to supervisors will say about it.
#[component]
fn WeekDigest(digest: FeedbackDigest) -> impl IntoView {
    let day = |d: chrono::NaiveDate| d.format("%d/%m").to_string();
    let categories =
        digest.by_category.iter().map(|c| format!("{} {}", c.category, c.count)).collect::<Vec<_>>().join(" · ");
    view! {
        <section class="digest" aria-labelledby="digest-title">
            <h2 id="digest-title">{tr("Esta semana")}{format!(" ({} – {})", day(digest.week_start), day(digest.week_start + chrono::Duration::days(6)))}</h2>
            <ul class="kpis">
                <li><strong>{digest.total}</strong>{tr(" recibidos")}</li>
                <li><strong>{digest.previous_total}</strong>{tr(" la semana anterior")}</li>
                <li><strong>{digest.open}</strong>{tr(" por revisar")}</li>
            </ul>
            {(!categories.is_empty()).then(|| view! { <p>{tr("Por categoría: ")}{categories}</p> })}
            <table class="data-table">
                <caption>{tr("Sentimiento de las últimas cuatro semanas")}</caption>
                <thead>
                    <tr>
                        <th scope="col">{tr("Semana del")}</th>
                        <th scope="col">{tr("Positivos")}</th>
                        <th scope="col">{tr("Neutros")}</th>
                        <th scope="col">{tr("Negativos")}</th>
                    </tr>
                </thead>
                <tbody>
                    {digest.trend.into_iter().map(|w| view! {
                        <tr>
                            <td class="mono">{day(w.week_start)}</td>
                            <td>{w.positive}</td>
                            <td>{w.neutral}</td>
                            <td>{w.negative}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            {(!digest.worst.is_empty()).then(|| view! {
                <h3>{tr("Los más negativos de la semana")}</h3>
                <ul class="worst">
                    {digest.worst.into_iter().map(|f| view! { <li>{format!("«{}» ", f.text)}<span class="badge">{f.category}</span></li> }).collect_view()}
                </ul>
            })}
        </section>
    }
}
