//! The task list: filters, order and page live in the query string (shareable, the back
//! button works; the filter form is a GET form, so it works without JavaScript too), keyset
//! pagination, and a CSV link carrying the same filters to the REST export.

use std::sync::Arc;

use chrono::NaiveDate;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;
use leptos_router::params::ParamsMap;

use crate::api::officers::officer_labels;
use crate::i18n::{Locale, locale, tr, translate, trf};
use crate::ui::Layout;
use crate::ui::page::{PageError, loaded, query_string, signed_in};
use contract::auth::CurrentUser;
use contract::domain::{Role, TaskPriority, TaskStatus, TaskType};
use contract::format::count as format_count;
use contract::tasks::{SlaFilter, TaskCount, TaskFilter, TaskSort, TaskSummary};
use contract::{ApiError, Page};

/// The page's query parameters, named like the REST API's (`/api/v1/tasks`).
#[derive(Clone, Debug, Default, PartialEq)]
struct Params {
    alcance: String,
    status: String,
    task_type: String,
    priority: String,
    officer_id: String,
    date_from: String,
    date_to: String,
    q: String,
    /// `overdue` / `at_risk`: past a deadline, or close to one.
    sla: String,
    sort: String,
    order: String,
    cursor: String,
    /// The cursors of the pages before this one, oldest first (`-`: the first page), so
    /// "Anterior" can go back: keyset pages cannot be counted backwards.
    atras: String,
}

impl Params {
    fn from_query(q: &ParamsMap) -> Self {
        let get = |k: &str| q.get(k).unwrap_or_default().trim().to_owned();
        Self {
            alcance: get("alcance"),
            status: get("status"),
            task_type: get("type"),
            priority: get("priority"),
            officer_id: get("officer_id"),
            date_from: get("date_from"),
            date_to: get("date_to"),
            q: get("q"),
            sla: get("sla"),
            sort: get("sort"),
            order: get("order"),
            cursor: get("cursor"),
            atras: get("atras"),
        }
    }

    /// The filter pairs (no cursor, no scope), as the REST API names them.
    fn filter_pairs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("status", self.status.clone()),
            ("type", self.task_type.clone()),
            ("priority", self.priority.clone()),
            ("officer_id", self.officer_id.clone()),
            ("date_from", self.date_from.clone()),
            ("date_to", self.date_to.clone()),
            ("q", self.q.clone()),
            ("sla", self.sla.clone()),
            ("sort", self.sort.clone()),
            ("order", self.order.clone()),
        ]
    }

    /// The page's own link with this filter, another cursor and the pages before it.
    fn href(&self, cursor: &str, atras: &[&str]) -> String {
        let mut pairs = self.filter_pairs();
        pairs.push(("alcance", self.alcance.clone()));
        pairs.push(("cursor", cursor.to_owned()));
        pairs.push(("atras", atras.join(",")));
        format!("/tareas{}", query_string(&pairs))
    }

    /// The pages before this one (at most the last 20: the link stays short).
    fn back_stack(&self) -> Vec<&str> {
        self.atras.split(',').filter(|c| !c.is_empty()).collect()
    }

    /// The next page, remembering this one.
    fn next_href(&self, next: &str) -> String {
        let mut back = self.back_stack();
        back.push(if self.cursor.is_empty() { "-" } else { &self.cursor });
        let keep = back.len().saturating_sub(20);
        self.href(next, &back[keep..])
    }

    /// The page before this one, if known.
    fn previous_href(&self) -> Option<String> {
        let mut back = self.back_stack();
        let previous = back.pop()?;
        Some(self.href(if previous == "-" { "" } else { previous }, &back))
    }

    /// Writes this filter into the filter form's fields (browser only).
    #[cfg(feature = "hydrate")]
    fn show_in_form(&self) {
        let sort = if self.sort.is_empty() { "scheduled_start" } else { self.sort.as_str() };
        let order = if self.order == "desc" { "desc" } else { "asc" };
        let fields = [
            ("f-q", self.q.as_str()),
            ("f-status", self.status.as_str()),
            ("f-priority", self.priority.as_str()),
            ("f-type", self.task_type.as_str()),
            ("f-officer", self.officer_id.as_str()),
            ("f-from", self.date_from.as_str()),
            ("f-to", self.date_to.as_str()),
            ("f-sla", self.sla.as_str()),
            ("f-sort", sort),
            ("f-order", order),
        ];
        let document = leptos::prelude::document();
        for (id, value) in fields {
            if let Some(field) = document.get_element_by_id(id) {
                let _ = js_sys::Reflect::set(&field, &"value".into(), &value.into());
            }
        }
    }

    /// The first page of this filter.
    fn first_href(&self) -> String {
        self.href("", &[])
    }

    /// The filter for the service; a malformed value is a Spanish error, not silently ignored.
    fn to_filter(&self, user: &CurrentUser) -> Result<TaskFilter, ApiError> {
        let bad = |m: &str| ApiError::new(crate::api::ErrorCode::Validation, m);
        let opt = |s: &String| (!s.is_empty()).then(|| s.clone());
        let statuses = if self.status.is_empty() {
            Vec::new()
        } else {
            self.status
                .split(',')
                .map(|s| s.trim().parse::<TaskStatus>())
                .collect::<Result<_, _>>()
                .map_err(|_| bad(tr("Estado desconocido en el filtro.")))?
        };
        let day = |s: &String| -> Result<Option<NaiveDate>, ApiError> {
            opt(s).map(|d| d.parse::<NaiveDate>().map_err(|_| bad(tr("Fecha inválida en el filtro.")))).transpose()
        };
        let mut filter = TaskFilter {
            statuses,
            task_type: opt(&self.task_type)
                .map(|t| t.parse::<TaskType>().map_err(|_| bad(tr("Tipo de tarea desconocido."))))
                .transpose()?,
            priority: opt(&self.priority)
                .map(|p| p.parse::<TaskPriority>().map_err(|_| bad(tr("Prioridad desconocida."))))
                .transpose()?,
            officer_id: opt(&self.officer_id)
                .map(|o| o.parse::<i64>().map_err(|_| bad(tr("Efectivo inválido en el filtro."))))
                .transpose()?,
            date_from: day(&self.date_from)?,
            date_to: day(&self.date_to)?,
            text: opt(&self.q),
            sla: match self.sla.as_str() {
                "" => None,
                "overdue" => Some(SlaFilter::Overdue),
                "at_risk" => Some(SlaFilter::AtRisk),
                _ => return Err(bad(tr("Filtro de plazos desconocido."))),
            },
            sort: match self.sort.as_str() {
                "" | "scheduled_start" => TaskSort::ScheduledStart,
                "due" => TaskSort::Due,
                "priority" => TaskSort::Priority,
                "created_at" => TaskSort::CreatedAt,
                "code" => TaskSort::Code,
                _ => return Err(bad(tr("Orden desconocido."))),
            },
            descending: self.order == "desc",
            cursor: opt(&self.cursor),
            limit: Some(PAGE_SIZE),
            ..TaskFilter::default()
        };
        if self.alcance == "mias" && user.role != Role::Officer {
            filter.supervisor_id = Some(user.id);
        }
        Ok(filter)
    }
}

const PAGE_SIZE: u32 = 50;

/// What the page shows, and no more: it is serialized into the page for hydration, so every
/// field costs on each render and in the browser.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Data {
    user: CurrentUser,
    /// How many rows the page shows.
    count: usize,
    /// Not in the hydration data: the rows reach the browser once, as the table's HTML, which
    /// it keeps when it hydrates (see `rows_html`). A page loaded in the browser (another
    /// filter, the next page) is fetched there with its rows. On the server, the page of the
    /// view cache itself (shared, not copied).
    #[serde(skip)]
    tasks: Arc<Page<TaskSummary>>,
    next_cursor: Option<String>,
    /// How many tasks the filter matches (up to a cap).
    total: TaskCount,
    /// The officer filter's choices: id and label.
    officers: Vec<(i64, String)>,
}

async fn load(params: Params) -> Result<Data, ApiError> {
    let user = signed_in().await?;
    let filter = params.to_filter(&user)?;
    let total = crate::api::tasks::count_tasks(filter.clone()).await?;
    #[cfg(feature = "ssr")]
    let page = crate::api::tasks::query_tasks_shared(filter).await?;
    #[cfg(not(feature = "ssr"))]
    let page = Arc::new(crate::api::tasks::query_tasks(filter).await?);
    // The officer filter is for those who see every task.
    let officers = if user.role == Role::Officer { Vec::new() } else { officer_labels(200).await? };
    Ok(Data { user, count: page.items.len(), next_cursor: page.next_cursor.clone(), total, tasks: page, officers })
}

#[component]
pub fn TasksPage() -> impl IntoView {
    let query = use_query_map();
    let params = Memo::new(move |_| Params::from_query(&query.read()));
    let data = Resource::new(move || params.get(), load);
    // When the address changes in place ("Limpiar", Back, a link), the form shows the new
    // filter: the browser keeps what was chosen in a field, whatever its `selected`/`value`
    // attributes say. Not on the first run (hydration): what the user chose before the page
    // came alive stays.
    #[cfg(feature = "hydrate")]
    Effect::new(move |first: Option<()>| {
        let p = params.get();
        if first.is_some() {
            p.show_in_form();
        }
    });
    view! {
        <Title text=tr("Tareas") />
        <Suspense fallback=|| view! { <p class="loading">{tr("Cargando…")}</p> }>
            {move || Suspend::new(async move {
                let params = params.get_untracked();
                match loaded(data).await {
                    Ok(data) => view! { <TasksView data params /> }.into_any(),
                    Err(error) => view! { <PageError title=tr("Tareas") error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn options<T: Copy + Send + 'static>(
    all: &'static [T],
    selected: String,
    value: fn(T) -> &'static str,
    label: fn(T) -> &'static str,
) -> impl IntoView {
    all.iter()
        .map(|&v| {
            let val = value(v);
            view! { <option value=val selected=selected == val>{tr(label(v))}</option> }
        })
        .collect_view()
}

#[component]
fn TasksView(data: Data, params: Params) -> impl IntoView {
    let Data { user, count, tasks, next_cursor, total, officers } = data;
    let can_see_all = user.role != Role::Officer;
    let can_manage = can_see_all;
    let mine = !can_see_all || params.alcance == "mias";
    let caption = if mine { tr("Mis tareas") } else { tr("Todas las tareas") };
    let csv_href = format!("/api/v1/tasks.csv{}", query_string(&params.filter_pairs()));
    let next_href = next_cursor.as_deref().map(|c| params.next_href(c));
    let previous_href = if params.cursor.is_empty() { None } else { params.previous_href() };
    let first_href = (!params.cursor.is_empty()).then(|| params.first_href());
    let caption_count = match (count as u64, total) {
        (n, TaskCount { total, capped: false }) if n == total => format_count(n),
        (n, TaskCount { total, capped: false }) => trf("{} de {}", &[&format_count(n), &format_count(total)]),
        (n, TaskCount { total, capped: true }) => trf("{} de más de {}", &[&format_count(n), &format_count(total)]),
    };
    let p = params.clone();
    view! {
        <Layout user>
            <div class="page-head">
                <h1>{tr("Tareas")}</h1>
                <div class="head-actions">
                    {can_see_all
                        .then(|| {
                            view! {
                                <nav class="segmented" aria-label=tr("Alcance")>
                                    <a href="/tareas?alcance=todas" aria-current=(!mine).then_some("page")>
                                        {tr("Todas")}
                                    </a>
                                    <a href="/tareas?alcance=mias" aria-current=mine.then_some("page")>
                                        {tr("Mías")}
                                    </a>
                                </nav>
                            }
                        })}
                    {can_manage.then(|| view! { <a class="button" href="/tareas/nueva">{tr("Nueva tarea")}</a> })}
                </div>
            </div>
            // On a phone the filters fold behind a "Filtros" button (a checkbox and its label:
            // no JavaScript needed); open when a filter is in use.
            <input
                type="checkbox"
                id="filters-toggle"
                class="filters-toggle"
                aria-label=tr("Filtros")
                checked=p.filter_pairs().iter().any(|(_, v)| !v.is_empty())
            />
            <label for="filters-toggle" class="filters-button">{tr("Filtros")}</label>
            <Form method="GET" action="/tareas" attr:class="filters" attr:aria-label=tr("Filtros")>
                <input type="hidden" name="alcance" value=p.alcance.clone() />
                <div class="field">
                    <label for="f-q">{tr("Buscar")}</label>
                    <input id="f-q" name="q" type="search" value=p.q.clone() placeholder=tr("Código, título o descripción") />
                </div>
                <div class="field">
                    <label for="f-status">{tr("Estado")}</label>
                    <select id="f-status" name="status">
                        <option value="">{tr("Todos")}</option>
                        {options(TaskStatus::ALL, p.status.clone(), TaskStatus::as_str, TaskStatus::label_es)}
                    </select>
                </div>
                <div class="field">
                    <label for="f-priority">{tr("Prioridad")}</label>
                    <select id="f-priority" name="priority">
                        <option value="">{tr("Todas")}</option>
                        {options(TaskPriority::ALL, p.priority.clone(), TaskPriority::as_str, TaskPriority::label_es)}
                    </select>
                </div>
                <div class="field">
                    <label for="f-sla">{tr("Plazos")}</label>
                    <select id="f-sla" name="sla">
                        <option value="">{tr("Todos")}</option>
                        <option value="overdue" selected=p.sla == "overdue">{tr("Vencidas")}</option>
                        <option value="at_risk" selected=p.sla == "at_risk">{tr("En riesgo (15 min)")}</option>
                    </select>
                </div>
                <div class="field">
                    <label for="f-type">{tr("Tipo")}</label>
                    <select id="f-type" name="type">
                        <option value="">{tr("Todos")}</option>
                        {options(TaskType::ALL, p.task_type.clone(), TaskType::as_str, TaskType::label_es)}
                    </select>
                </div>
                {can_see_all
                    .then(|| {
                        let selected = p.officer_id.clone();
                        view! {
                            <div class="field">
                                <label for="f-officer">{tr("Efectivo asignado")}</label>
                                <select id="f-officer" name="officer_id">
                                    <option value="">{tr("Cualquiera")}</option>
                                    {officers
                                        .into_iter()
                                        .map(|(id, label)| {
                                            let id = id.to_string();
                                            let sel = id == selected;
                                            view! { <option value=id selected=sel>{label}</option> }
                                        })
                                        .collect_view()}
                                </select>
                            </div>
                        }
                    })}
                <div class="field">
                    <label for="f-from">{tr("Desde")}</label>
                    <input id="f-from" name="date_from" type="date" value=p.date_from.clone() />
                </div>
                <div class="field">
                    <label for="f-to">{tr("Hasta")}</label>
                    <input id="f-to" name="date_to" type="date" value=p.date_to.clone() />
                </div>
                <div class="field">
                    <label for="f-sort">{tr("Ordenar por")}</label>
                    <select id="f-sort" name="sort">
                        {[
                            ("scheduled_start", tr("Inicio programado")),
                            ("priority", tr("Prioridad")),
                            ("created_at", tr("Fecha de creación")),
                            ("code", tr("Código")),
                            ("due", tr("Vencimiento")),
                        ]
                            .into_iter()
                            .map(|(v, l)| view! { <option value=v selected=p.sort == v>{l}</option> })
                            .collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="f-order">{tr("Sentido")}</label>
                    <select id="f-order" name="order">
                        <option value="asc" selected=p.order != "desc">{tr("Ascendente")}</option>
                        <option value="desc" selected=p.order == "desc">{tr("Descendente")}</option>
                    </select>
                </div>
                <div class="field buttons">
                    <button type="submit">{tr("Filtrar")}</button>
                    <a href=format!("/tareas{}", query_string(&[("alcance", p.alcance.clone())]))>{tr("Limpiar")}</a>
                </div>
            </Form>
            <p class="list-tools">
                <a href=csv_href download="tareas.csv">{tr("Exportar CSV")}</a>
            </p>
            {if count == 0 {
                view! {
                    <section aria-label=caption>
                        <h2>{caption}</h2>
                        <p class="empty">{tr("No hay tareas para mostrar.")}</p>
                    </section>
                }
                    .into_any()
            } else {
                view! { <TaskTable caption count=caption_count tasks /> }.into_any()
            }}
            <nav class="pager" aria-label=tr("Páginas")>
                {first_href.map(|h| view! { <a href=h>{tr("« Primera página")}</a> })}
                {previous_href.map(|h| view! { <a href=h rel="prev">{tr("‹ Anterior")}</a> })}
                {next_href.map(|h| view! { <a href=h rel="next">{tr("Siguiente »")}</a> })}
            </nav>
        </Layout>
    }
}

/// The table's rows as HTML, written straight into one string.
///
/// Fifty rows of eight cells are most of the page's elements. Built as views they cost more
/// than everything else on the page together: each cell is a view built, type-erased and
/// rendered, on the server for every request and again in the browser. The rows hold only
/// text and links, nothing reactive, so they are written here with every text escaped, and the
/// browser keeps the server's rows when it hydrates (`inner_html` is not reapplied then, which
/// is why `Data` does not carry the rows into the hydration data).
fn rows_html(rows: &[TaskSummary], loc: Locale) -> String {
    let mut html = String::with_capacity(rows.len() * 400);
    let now = chrono::Utc::now();
    for t in rows {
        html.push_str("<tr><td class=\"mono\"><a href=\"/tareas/");
        html.push_str(&t.id.to_string());
        html.push_str("\">");
        push_text(&mut html, &t.code);
        html.push_str("</a></td><td>");
        push_text(&mut html, &t.title);
        html.push_str("</td><td>");
        push_text(&mut html, translate(loc, t.task_type.label_es()));
        html.push_str("</td><td><span class=\"badge priority-");
        html.push_str(t.priority.as_str());
        html.push_str("\">");
        push_text(&mut html, translate(loc, t.priority.label_es()));
        html.push_str("</span></td><td><span class=\"badge status-");
        html.push_str(t.status.as_str());
        html.push_str("\">");
        push_text(&mut html, translate(loc, t.status.label_es()));
        html.push_str("</span>");
        match t.sla_due_at {
            Some(due) if due <= now => {
                html.push_str(" <span class=\"badge sla-overdue\">");
                push_text(&mut html, translate(loc, crate::i18n::tr_later("Vencida")));
                html.push_str("</span>");
            }
            Some(due) if due - now <= chrono::Duration::minutes(15) => {
                html.push_str(" <span class=\"badge sla-at-risk\">");
                push_text(&mut html, translate(loc, crate::i18n::tr_later("En riesgo")));
                html.push_str("</span>");
            }
            _ => {}
        }
        html.push_str("</td><td>");
        push_text(&mut html, t.scheduled_start.as_deref().unwrap_or("—"));
        html.push_str("</td><td>");
        push_text(&mut html, t.supervisor.as_deref().unwrap_or("—"));
        html.push_str("</td><td>");
        for (i, officer) in t.officers.iter().enumerate() {
            if i > 0 {
                html.push_str(", ");
            }
            push_text(&mut html, officer);
        }
        html.push_str("</td></tr>");
    }
    html
}

/// `text` as HTML text: most texts have nothing to escape and are copied whole.
pub(crate) fn push_text(html: &mut String, text: &str) {
    if text.bytes().any(|b| matches!(b, b'&' | b'<' | b'>')) {
        html_escape::encode_text_to_string(text, html);
    } else {
        html.push_str(text);
    }
}

#[component]
fn TaskTable(caption: &'static str, count: String, tasks: Arc<Page<TaskSummary>>) -> impl IntoView {
    // One lookup for the whole table: `tr` asks the reactive owner tree each time.
    let loc = locale();
    view! {
        <table class="data-table">
            <caption>{caption} " (" {count} ")"</caption>
            <thead>
                <tr>
                    <th scope="col">{tr("Código")}</th>
                    <th scope="col">{tr("Título")}</th>
                    <th scope="col">{tr("Tipo")}</th>
                    <th scope="col">{tr("Prioridad")}</th>
                    <th scope="col">{tr("Estado")}</th>
                    <th scope="col">{tr("Inicio programado")}</th>
                    <th scope="col">{tr("Delegado")}</th>
                    <th scope="col">{tr("Efectivos")}</th>
                </tr>
            </thead>
            <tbody inner_html=rows_html(&tasks.items, loc)></tbody>
        </table>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(title: &str) -> TaskSummary {
        TaskSummary {
            id: 7,
            code: "PATROL-2026-0007".into(),
            title: title.into(),
            task_type: TaskType::Patrol,
            priority: TaskPriority::High,
            status: TaskStatus::Scheduled,
            scheduled_start: None,
            supervisor: Some("Laura Gómez".into()),
            officers: vec!["Martín Sosa".into(), "Lucía Romero".into()],
            scheduled_start_at: None,
            scheduled_end_at: None,
            created_at: chrono::DateTime::UNIX_EPOCH,
            supervisor_id: None,
            officer_ids: vec![3, 4],
            lat: None,
            lon: None,
            location_text: None,
            sla_due_at: None,
        }
    }

    #[test]
    fn rows_are_written_with_their_text_escaped() {
        let html = rows_html(&[row("<script>alert(\"x\")</script> & <b>")], Locale::Es);
        assert!(!html.contains("<script>") && !html.contains("<b>"), "{html}");
        assert!(html.contains("<td>&lt;script&gt;alert(\"x\")&lt;/script&gt; &amp; &lt;b&gt;</td>"), "{html}");
        assert_eq!(
            html,
            "<tr><td class=\"mono\"><a href=\"/tareas/7\">PATROL-2026-0007</a></td>\
             <td>&lt;script&gt;alert(\"x\")&lt;/script&gt; &amp; &lt;b&gt;</td><td>Patrullaje</td>\
             <td><span class=\"badge priority-high\">Alta</span></td>\
             <td><span class=\"badge status-scheduled\">Programada</span></td>\
             <td>—</td><td>Laura Gómez</td><td>Martín Sosa, Lucía Romero</td></tr>"
        );
    }

    #[test]
    fn every_text_of_a_row_is_escaped() {
        let mut t = row("Ronda");
        t.code = "A&B".into();
        t.supervisor = Some("<sup>".into());
        t.officers = vec!["Sosa & Hijos".into(), "<img src=x>".into()];
        let html = rows_html(&[t], Locale::Es);
        assert!(html.contains(">A&amp;B</a>") && html.contains("<td>&lt;sup&gt;</td>"), "{html}");
        assert!(html.contains("<td>Sosa &amp; Hijos, &lt;img src=x&gt;</td>"), "{html}");
    }

    #[test]
    fn rows_speak_the_page_language() {
        let html = rows_html(&[row("Ronda"), row("Ronda")], Locale::En);
        assert_eq!(html.matches("<tr>").count(), 2);
        assert!(html.contains(">Patrol<") && html.contains(">High<") && html.contains(">Scheduled<"), "{html}");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod pagination_tests {
    use super::Params;

    fn at(cursor: &str, atras: &str) -> Params {
        Params { cursor: cursor.into(), atras: atras.into(), status: "paused".into(), ..Params::default() }
    }

    fn get(href: &str, key: &str) -> Option<String> {
        let query = href.split_once('?').map_or("", |(_, q)| q);
        serde_urlencoded::from_str::<Vec<(String, String)>>(query)
            .ok()?
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Keyset pages cannot be counted backwards: each link carries the pages before it, so
    /// "Anterior" walks back page by page to the first, keeping the filter.
    #[test]
    fn previous_walks_back_to_the_first_page() {
        let first = at("", "");
        assert_eq!(first.previous_href(), None);
        let second = first.next_href("c2");
        assert_eq!((get(&second, "cursor").as_deref(), get(&second, "atras").as_deref()), (Some("c2"), Some("-")));
        let page2 = at("c2", "-");
        let third = page2.next_href("c3");
        assert_eq!(get(&third, "atras").as_deref(), Some("-,c2"));
        let page3 = at("c3", "-,c2");
        let back = page3.previous_href().unwrap();
        assert_eq!((get(&back, "cursor").as_deref(), get(&back, "atras").as_deref()), (Some("c2"), Some("-")));
        assert_eq!(get(&back, "status").as_deref(), Some("paused"));
        let back = page2.previous_href().unwrap();
        assert_eq!((get(&back, "cursor"), get(&back, "atras")), (None, None), "back on the first page");
        assert_eq!(get(&page3.first_href(), "cursor"), None);
    }

    /// The pages kept are the last twenty: the link stays short on a long walk.
    #[test]
    fn the_back_stack_is_bounded() {
        let atras: Vec<String> = (0..25).map(|i| format!("c{i}")).collect();
        let deep = at("c25", &atras.join(","));
        let next = deep.next_href("c26");
        assert_eq!(get(&next, "atras").unwrap().split(',').count(), 20);
    }
}
