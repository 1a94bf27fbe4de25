//! Feedback: anyone signed in may send it (dashboard, bot, API); supervisors and admins review
//! it. Category and sentiment are computed from the text itself with small Spanish lexicons —
//! transparent rules, not a model, so every figure can be explained.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Set,
};

use crate::actor::Actor;
use crate::db::WriteTxn;
use crate::entities::{feedback, users};
use crate::error::{AppError, AppResult};
use crate::meta::AuditMeta;
use crate::permissions::{Capability, require};
use crate::services::audit::{self, AuditEntry};
use crate::state::AppState;
use contract::Page;
use contract::domain::FeedbackStatus;
use contract::events::Event;
use contract::feedback::{CategoryCount, FeedbackDigest, FeedbackItem, FeedbackKpis, WeekSentiment};

pub const CATEGORIES: &[&str] = &["sistema", "operativo", "equipamiento", "capacitacion", "general"];

const POSITIVE: &[&str] = &[
    "bien",
    "buen",
    "buena",
    "bueno",
    "excelente",
    "genial",
    "gracias",
    "util",
    "útil",
    "rapido",
    "rápido",
    "facil",
    "fácil",
    "mejor",
    "perfecto",
    "correcto",
    "claro",
    "funciona",
    "agradezco",
    "felicitaciones",
];
const NEGATIVE: &[&str] = &[
    "mal",
    "mala",
    "malo",
    "lento",
    "lenta",
    "error",
    "falla",
    "fallo",
    "problema",
    "difícil",
    "dificil",
    "peor",
    "no funciona",
    "caído",
    "caido",
    "confuso",
    "tarde",
    "roto",
    "pésimo",
    "pesimo",
    "queja",
];

fn words(text: &str) -> String {
    format!(" {} ", text.to_lowercase().chars().map(|c| if c.is_alphanumeric() { c } else { ' ' }).collect::<String>())
}

/// (score in −1..1, label) from counts of positive and negative words.
pub fn sentiment(text: &str) -> (f64, &'static str) {
    let w = words(text);
    let count = |list: &[&str]| list.iter().filter(|t| w.contains(&format!(" {t} "))).count() as f64;
    let (pos, neg) = (count(POSITIVE), count(NEGATIVE));
    if pos + neg == 0.0 {
        return (0.0, "neutral");
    }
    let score = (pos - neg) / (pos + neg);
    let label = if score > 0.2 {
        "positive"
    } else if score < -0.2 {
        "negative"
    } else {
        "neutral"
    };
    (score, label)
}

/// The category given, or one inferred from keywords.
pub fn categorize(text: &str, given: Option<String>) -> AppResult<String> {
    if let Some(c) = given.map(|c| c.trim().to_lowercase()).filter(|c| !c.is_empty()) {
        return if CATEGORIES.contains(&c.as_str()) {
            Ok(c)
        } else {
            Err(AppError::validation(
                "category",
                "Categoría desconocida (sistema, operativo, equipamiento, capacitacion, general).",
            ))
        };
    }
    let w = words(text);
    let has = |keys: &[&str]| keys.iter().any(|k| w.contains(&format!(" {k}")));
    Ok(if has(&["bot", "sistema", "app", "panel", "mapa", "telegram", "error", "pantalla"]) {
        "sistema"
    } else if has(&["chaleco", "radio", "movil", "móvil", "patrullero", "equipo", "equipamiento", "arma"]) {
        "equipamiento"
    } else if has(&["curso", "capacita", "entrenamiento", "instrucci"]) {
        "capacitacion"
    } else if has(&["tarea", "operativo", "turno", "patrull", "servicio", "guardia"]) {
        "operativo"
    } else {
        "general"
    }
    .to_owned())
}

async fn item(db: &impl ConnectionTrait, row: feedback::Model) -> AppResult<FeedbackItem> {
    let author = match row.user_id {
        Some(id) => users::Entity::find_by_id(id).one(db).await?.map(|u| format!("{} {}", u.first_name, u.last_name)),
        None => None,
    };
    Ok(FeedbackItem {
        id: row.id,
        channel: row.channel,
        user_id: row.user_id,
        author,
        text: row.text,
        category: row.category.unwrap_or_else(|| "general".into()),
        sentiment_score: row.sentiment_score.unwrap_or(0.0),
        sentiment_label: row.sentiment_label.unwrap_or_else(|| "neutral".into()),
        status: row.status,
        created_at: row.created_at,
    })
}

pub async fn create(
    state: &AppState,
    actor: &Actor,
    meta: &AuditMeta,
    text: &str,
    category: Option<String>,
) -> AppResult<FeedbackItem> {
    require(actor, Capability::GiveFeedback)?;
    let text = text.trim();
    if text.chars().count() < 3 || text.chars().count() > 2000 {
        return Err(AppError::validation("text", "Escriba entre 3 y 2000 caracteres."));
    }
    let category = categorize(text, category)?;
    let (score, label) = sentiment(text);
    let now = Utc::now();
    let mut txn = WriteTxn::begin(state).await?;
    let row = feedback::ActiveModel {
        channel: Set(actor.channel),
        user_id: Set(Some(actor.user_id)),
        telegram_user_id: Set(actor.telegram_user_id),
        text: Set(text.to_owned()),
        category: Set(Some(category)),
        sentiment_score: Set(Some(score)),
        sentiment_label: Set(Some(label.to_owned())),
        status: Set(FeedbackStatus::New),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&*txn)
    .await?;
    audit::append(&txn, Some(actor), meta, AuditEntry::new("feedback.create", "feedback", row.id)).await?;
    txn.emit(Event::FeedbackCreated { feedback_id: row.id });
    // The answer is read in the transaction, before the commit: after it, a failed read would
    // answer an error for work that was done (and its retry would do it twice).
    let answer = item(&*txn, row).await?;
    txn.commit().await?;
    Ok(answer)
}

/// One feedback item as the outgoing webhook sends it (a system read: the webhook's receiver
/// is the force's own ticketing system); `None` when it no longer exists.
pub async fn for_webhook(state: &AppState, id: i64) -> AppResult<Option<FeedbackItem>> {
    match feedback::Entity::find_by_id(id).one(&state.db).await? {
        Some(row) => Ok(Some(item(&state.db, row).await?)),
        None => Ok(None),
    }
}

pub async fn list(
    state: &AppState,
    actor: &Actor,
    status: Option<FeedbackStatus>,
    cursor: Option<String>,
    limit: Option<u32>,
) -> AppResult<Page<FeedbackItem>> {
    require(actor, Capability::ReviewFeedback)?;
    let limit = limit.unwrap_or(50).clamp(1, 200);
    let mut query = feedback::Entity::find();
    if let Some(before) = cursor.filter(|c| !c.is_empty()) {
        let before: i64 = before.parse().map_err(|_| AppError::validation("cursor", "Cursor inválido."))?;
        query = query.filter(feedback::Column::Id.lt(before));
    }
    if let Some(status) = status {
        query = query.filter(feedback::Column::Status.eq(status));
    }
    let rows =
        crate::db::first_rows(&state.db, query.order_by_desc(feedback::Column::Id), u64::from(limit) + 1).await?;
    let more = rows.len() > limit as usize;
    let mut items = Vec::new();
    for row in rows.into_iter().take(limit as usize) {
        items.push(item(&state.db, row).await?);
    }
    let next_cursor = if more { items.last().map(|i| i.id.to_string()) } else { None };
    Ok(Page { items, next_cursor })
}

/// new → reviewing → resolved (and back to reviewing if reopened).
pub async fn set_status(
    state: &AppState,
    actor: &Actor,
    meta: &AuditMeta,
    id: i64,
    status: FeedbackStatus,
) -> AppResult<FeedbackItem> {
    require(actor, Capability::ReviewFeedback)?;
    let txn = WriteTxn::begin(state).await?;
    let row = feedback::Entity::find_by_id(id).one(&*txn).await?.ok_or(AppError::NotFound)?;
    let from = row.status;
    let allowed = matches!(
        (from, status),
        (FeedbackStatus::New, FeedbackStatus::Reviewing)
            | (FeedbackStatus::New, FeedbackStatus::Resolved)
            | (FeedbackStatus::Reviewing, FeedbackStatus::Resolved)
            | (FeedbackStatus::Resolved, FeedbackStatus::Reviewing)
    );
    if !allowed {
        return Err(AppError::Conflict(format!(
            "No se puede pasar de «{}» a «{}».",
            from.label_es(),
            status.label_es()
        )));
    }
    let mut active: feedback::ActiveModel = row.into();
    active.status = Set(status);
    active.updated_at = Set(Utc::now());
    let row = active.update(&*txn).await?;
    let entry = AuditEntry::new("feedback.status", "feedback", id).before(from).after(status);
    audit::append(&txn, Some(actor), meta, entry).await?;
    // The answer is read in the transaction, before the commit: after it, a failed read would
    // answer an error for work that was done (and its retry would do it twice).
    let answer = item(&*txn, row).await?;
    txn.commit().await?;
    Ok(answer)
}

pub async fn kpis(state: &AppState, actor: &Actor) -> AppResult<FeedbackKpis> {
    require(actor, Capability::ReviewFeedback)?;
    let rows: Vec<(FeedbackStatus, Option<String>, Option<f64>)> = feedback::Entity::find()
        .select_only()
        .column(feedback::Column::Status)
        .column(feedback::Column::SentimentLabel)
        .column(feedback::Column::SentimentScore)
        .into_tuple()
        .all(&state.db)
        .await?;
    type Row = (FeedbackStatus, Option<String>, Option<f64>);
    let count = |f: &dyn Fn(&Row) -> bool| rows.iter().filter(|r| f(r)).count() as u64;
    let scores: Vec<f64> = rows.iter().filter_map(|r| r.2).collect();
    Ok(FeedbackKpis {
        total: rows.len() as u64,
        new: count(&|r| r.0 == FeedbackStatus::New),
        reviewing: count(&|r| r.0 == FeedbackStatus::Reviewing),
        resolved: count(&|r| r.0 == FeedbackStatus::Resolved),
        positive: count(&|r| r.1.as_deref() == Some("positive")),
        neutral: count(&|r| r.1.as_deref() == Some("neutral")),
        negative: count(&|r| r.1.as_deref() == Some("negative")),
        average_sentiment: (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64),
    })
}

// ---------------------------------------------------------------------------------------------
// The weekly digest.

/// The Monday of the (local) week holding `at`.
pub fn week_of(tz: chrono_tz::Tz, at: DateTime<Utc>) -> NaiveDate {
    let day = at.with_timezone(&tz).date_naive();
    day - chrono::Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

/// Local midnight starting `day`, as an instant (the earliest, across a DST change).
fn midnight(tz: chrono_tz::Tz, day: NaiveDate) -> DateTime<Utc> {
    let naive = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    tz.from_local_datetime(&naive).earliest().map_or_else(|| Utc.from_utc_datetime(&naive), |t| t.with_timezone(&Utc))
}

/// The digest of the week starting `week_start` (a Monday), for supervisors and admins.
pub async fn digest(state: &AppState, actor: &Actor, week_start: NaiveDate) -> AppResult<FeedbackDigest> {
    require(actor, Capability::ReviewFeedback)?;
    if !crate::services::day_in_range(week_start) {
        return Err(AppError::validation("week", crate::services::DAY_OUT_OF_RANGE));
    }
    digest_for(state, week_start).await
}

/// How many weeks the sentiment trend covers (this one included).
const TREND_WEEKS: i64 = 4;
/// How many of the week's most negative items the digest names.
const WORST: usize = 5;

/// [`digest`] without an actor: the bot's weekly job sends it to every reviewer.
pub async fn digest_for(state: &AppState, week_start: NaiveDate) -> AppResult<FeedbackDigest> {
    let tz = state.config.timezone;
    let week_start = week_of(tz, midnight(tz, week_start) + chrono::Duration::hours(12));
    let first = week_start - chrono::Duration::weeks(TREND_WEEKS - 1);
    let rows = feedback::Entity::find()
        .filter(feedback::Column::CreatedAt.gte(midnight(tz, first)))
        .filter(feedback::Column::CreatedAt.lt(midnight(tz, week_start + chrono::Duration::weeks(1))))
        .order_by_asc(feedback::Column::Id)
        .all(&state.db)
        .await?;
    let week = |r: &feedback::Model| week_of(tz, r.created_at);
    let trend: Vec<WeekSentiment> = (0..TREND_WEEKS)
        .map(|i| {
            let start = first + chrono::Duration::weeks(i);
            let of_week: Vec<&feedback::Model> = rows.iter().filter(|r| week(r) == start).collect();
            let label = |l: &str| {
                of_week.iter().filter(|r| r.sentiment_label.as_deref().unwrap_or("neutral") == l).count() as u64
            };
            let scores: Vec<f64> = of_week.iter().filter_map(|r| r.sentiment_score).collect();
            WeekSentiment {
                week_start: start,
                total: of_week.len() as u64,
                positive: label("positive"),
                neutral: label("neutral"),
                negative: label("negative"),
                average: (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64),
            }
        })
        .collect();
    let this_week: Vec<&feedback::Model> = rows.iter().filter(|r| week(r) == week_start).collect();
    let mut by_category: Vec<CategoryCount> = Vec::new();
    for r in &this_week {
        let category = r.category.clone().unwrap_or_else(|| "general".into());
        match by_category.iter_mut().find(|c| c.category == category) {
            Some(c) => c.count += 1,
            None => by_category.push(CategoryCount { category, count: 1 }),
        }
    }
    by_category.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.category.cmp(&b.category)));
    let mut worst: Vec<&feedback::Model> =
        this_week.iter().copied().filter(|r| r.sentiment_label.as_deref() == Some("negative")).collect();
    worst.sort_by(|a, b| {
        a.sentiment_score.unwrap_or(0.0).total_cmp(&b.sentiment_score.unwrap_or(0.0)).then(a.id.cmp(&b.id))
    });
    let mut worst_items = Vec::new();
    for r in worst.into_iter().take(WORST) {
        worst_items.push(item(&state.db, r.clone()).await?);
    }
    let open = feedback::Entity::find()
        .filter(feedback::Column::Status.is_in([FeedbackStatus::New, FeedbackStatus::Reviewing]))
        .count(&state.db)
        .await?;
    let previous_total = trend.iter().rev().nth(1).map_or(0, |w| w.total);
    Ok(FeedbackDigest {
        week_start,
        total: this_week.len() as u64,
        previous_total,
        by_category,
        trend,
        worst: worst_items,
        open,
    })
}

/// Claims the sending of `week_start`'s digest: `true` for exactly one caller, ever (the
/// weekly job sends it once, whichever replica and however often it asks).
pub async fn claim_digest(state: &AppState, week_start: NaiveDate) -> AppResult<bool> {
    use sea_orm::sea_query::{Alias, OnConflict, Query};
    let insert = Query::insert()
        .into_table(Alias::new("feedback_digests"))
        .columns([Alias::new("week_start"), Alias::new("sent_at")])
        .values([week_start.to_string().into(), Utc::now().into()])
        .map_err(|e| AppError::Internal(e.to_string()))?
        .on_conflict(OnConflict::column(Alias::new("week_start")).do_nothing().to_owned())
        .to_owned();
    Ok(state.db.execute(&insert).await?.rows_affected() == 1)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sentiment_follows_the_words() {
        assert_eq!(sentiment("Excelente, el bot funciona muy bien").1, "positive");
        assert_eq!(sentiment("El mapa es lento y tiene un error").1, "negative");
        assert_eq!(sentiment("Consulta sobre el turno de mañana").1, "neutral");
        assert_eq!(sentiment("").0, 0.0);
    }

    #[test]
    fn categories_are_inferred_or_validated() {
        assert_eq!(categorize("el bot no responde", None).unwrap(), "sistema");
        assert_eq!(categorize("falta un chaleco", None).unwrap(), "equipamiento");
        assert_eq!(categorize("hola", Some("Operativo".into())).unwrap(), "operativo");
        assert!(categorize("hola", Some("otra".into())).is_err());
    }
}
