//! Geo queries: officers and tasks near a point or inside a box.
//!
//! One model of the Earth for both backends: great-circle distance on the WGS84 mean-radius
//! sphere (R = 6 371 008.8 m). On PostgreSQL the queries run on the PostGIS geography columns
//! (`officers.last_geog`, `tasks.geog`) so their GIST indexes serve them: KNN ordering with
//! `<->` (sphere distance), `ST_DWithin(…, false)` and `ST_Distance(…, false)` (sphere, not
//! spheroid, so that the radius filter, the order and the reported metres agree with each
//! other and with SQLite). On SQLite a bounding box computed from the radius prefilters on
//! lat/lon and the exact haversine distance is computed here. Same rows, same order, same
//! metres (to floating-point noise) on both.

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::{
    ColumnTrait, DatabaseBackend, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect, Statement, Value,
};

use crate::actor::Actor;
use crate::entities::{officers, tasks};
use crate::error::AppResult;
use crate::permissions::{Capability, require};
use crate::services::roster;
use crate::state::AppState;
use crate::validate::{Errors, check_lat, check_lon, check_point};
use crate::visibility::TaskVisibility;
use contract::domain::{Duty, OfficerStatus, TaskPriority, TaskStatus, TaskType};
use contract::geo::{NearbyOfficer, OfficerOnMap, TaskOnMap};

/// WGS84 mean radius `(2a + b) / 3`, the sphere PostGIS uses for `use_spheroid = false`.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;
pub const MIN_RADIUS_M: f64 = 1.0;
pub const MAX_RADIUS_M: f64 = 100_000.0;
pub const MAX_LIMIT: u64 = 200;
/// Longest position age a search accepts: one week.
pub const MAX_FRESH_MINUTES: i64 = 7 * 24 * 60;

/// Great-circle distance in metres between two WGS84 points (haversine).
pub fn haversine_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
}

// ------------------------------------------------------------------------------ validation

fn check_radius(errors: &mut Errors, radius_m: f64) {
    if !(MIN_RADIUS_M..=MAX_RADIUS_M).contains(&radius_m) {
        errors.add("radius_m", "El radio debe estar entre 1 y 100000 metros.");
    }
}

pub(crate) fn check_limit(errors: &mut Errors, limit: u64) {
    if !(1..=MAX_LIMIT).contains(&limit) {
        errors.add("limit", "El límite debe estar entre 1 y 200.");
    }
}

fn validate_circle(lat: f64, lon: f64, radius_m: f64, limit: u64) -> Errors {
    let mut errors = Errors::new();
    check_point(&mut errors, lat, lon);
    check_radius(&mut errors, radius_m);
    check_limit(&mut errors, limit);
    errors
}

/// A lat/lon box; `min_lon > max_lon` (crossing the antimeridian) is refused.
#[derive(Clone, Copy, Debug)]
struct BBox {
    min_lat: f64,
    min_lon: f64,
    max_lat: f64,
    max_lon: f64,
}

impl BBox {
    fn validated(min_lat: f64, min_lon: f64, max_lat: f64, max_lon: f64, limit: u64) -> AppResult<Self> {
        let mut errors = Errors::new();
        check_lat(&mut errors, "min_lat", min_lat);
        check_lon(&mut errors, "min_lon", min_lon);
        check_lat(&mut errors, "max_lat", max_lat);
        check_lon(&mut errors, "max_lon", max_lon);
        if errors.is_empty() && min_lat > max_lat {
            errors.add("max_lat", "La latitud máxima debe ser mayor o igual que la mínima.");
        }
        if errors.is_empty() && min_lon > max_lon {
            errors.add("max_lon", "La longitud máxima debe ser mayor o igual que la mínima.");
        }
        check_limit(&mut errors, limit);
        errors.finish()?;
        Ok(Self { min_lat, min_lon, max_lat, max_lon })
    }

    /// The lat/lon box around a circle (a superset of it), for the SQLite prefilter. `None`
    /// for the longitude range when the circle reaches a pole or the antimeridian.
    fn around(lat: f64, lon: f64, radius_m: f64) -> (f64, f64, Option<(f64, f64)>) {
        // A hair of slack so floating-point rounding never drops a point on the edge.
        let d = radius_m / EARTH_RADIUS_M * (1.0 + 1e-9);
        let dlat = d.to_degrees() + 1e-9;
        let (min_lat, max_lat) = (lat - dlat, lat + dlat);
        if min_lat <= -90.0 || max_lat >= 90.0 {
            return (min_lat.max(-90.0), max_lat.min(90.0), None);
        }
        // Widest longitude difference of a spherical cap (exact for |lat| + d < 90°).
        let dlon = (d.sin() / lat.to_radians().cos()).min(1.0).asin().to_degrees() + 1e-9;
        let (min_lon, max_lon) = (lon - dlon, lon + dlon);
        if min_lon < -180.0 || max_lon > 180.0 {
            return (min_lat, max_lat, None);
        }
        (min_lat, max_lat, Some((min_lon, max_lon)))
    }

    /// The index prefilter for PostgreSQL: `&&` against the box as a geography polygon, or
    /// `None` when the box is too large for that to help (or to be well defined).
    ///
    /// A geography polygon's edges are great-circle arcs, not parallels, so the envelope is
    /// padded and densified (vertices every 0.5°) until its 3-D bounding box surely contains
    /// every point of the lat/lon box; the exact `BETWEEN` filter then decides.
    fn pg_envelope(&self) -> Option<[f64; 4]> {
        const PAD: f64 = 0.01;
        let (min_lat, max_lat) = (self.min_lat - PAD, self.max_lat + PAD);
        let (min_lon, max_lon) = (self.min_lon - PAD, self.max_lon + PAD);
        let small = max_lat - min_lat <= 45.0 && max_lon - min_lon <= 90.0;
        let inside = min_lat >= -85.0 && max_lat <= 85.0 && min_lon >= -180.0 && max_lon <= 180.0;
        (small && inside).then_some([min_lon, min_lat, max_lon, max_lat])
    }
}

fn is_postgres(state: &AppState) -> bool {
    sea_orm::ConnectionTrait::get_database_backend(&state.db) == DatabaseBackend::Postgres
}

/// The search point as a PostGIS geography, from parameters `$1` (lon) and `$2` (lat).
const PG_POINT: &str = "ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography";

/// Collects bind values and hands out their `$n` placeholders.
struct Params(Vec<Value>);

impl Params {
    fn push(&mut self, value: impl Into<Value>) -> String {
        self.0.push(value.into());
        format!("${}", self.0.len())
    }
}

/// Rows of a box query, planned for its own box (PostgreSQL). A city-wide box is best read
/// by id, stopping at the limit (a few ms at a million tasks or 100 000 officers); a small
/// one through the GiST index. The generic plan a prepared statement settles on after five
/// runs assumes a tiny box whatever the parameters, and read every row of a city-wide box
/// through the GiST index before sorting it: 130 ms for 100 000 officers, 3.3 s for a
/// million tasks (which held the overview's map, and every connection of the pool, under
/// the mixed-load benchmark).
async fn planned_for_its_box<T: FromQueryResult>(state: &AppState, sql: String, p: Params) -> AppResult<Vec<T>> {
    crate::db::query_planned(&state.db, Statement::from_sql_and_values(DatabaseBackend::Postgres, sql, p.0)).await
}

// -------------------------------------------------------------------------------- officers

/// Which officers a circle search returns.
struct OfficerSearch {
    lat: f64,
    lon: f64,
    radius_m: f64,
    status: Option<OfficerStatus>,
    /// Only positions recorded at or after this instant.
    seen_since: Option<DateTime<Utc>>,
    /// Only officers on duty (shifts, leave: `services::roster`).
    on_duty: bool,
    limit: u64,
}

#[derive(Debug, FromQueryResult)]
struct OfficerRow {
    officer_id: i64,
    code: String,
    first_name: String,
    last_name: String,
    status: OfficerStatus,
    lat: f64,
    lon: f64,
    position_at: DateTime<Utc>,
    distance_m: Option<f64>,
    /// A [`Duty`] string, selected by the PostgreSQL queries ([`roster::pg_duty_sql`]); on
    /// SQLite filled by [`with_duty`].
    duty: Option<String>,
}

impl OfficerRow {
    fn from_model(o: officers::Model, distance_m: Option<f64>) -> Option<Self> {
        Some(Self {
            officer_id: o.id,
            lat: o.last_lat?,
            lon: o.last_lon?,
            position_at: o.last_position_at?,
            code: o.code,
            first_name: o.first_name,
            last_name: o.last_name,
            status: o.status,
            distance_m,
            duty: None,
        })
    }

    fn duty(&self) -> Duty {
        self.duty.as_deref().and_then(|d| d.parse().ok()).unwrap_or(Duty::NoRoster)
    }

    fn nearby(self) -> NearbyOfficer {
        let duty = self.duty();
        NearbyOfficer {
            officer_id: self.officer_id,
            name: format!("{} {}", self.first_name, self.last_name),
            code: self.code,
            status: self.status,
            lat: self.lat,
            lon: self.lon,
            distance_m: self.distance_m.unwrap_or_default(),
            position_at: self.position_at,
            dispatchable: false,
            duty,
        }
    }

    fn on_map(self) -> OfficerOnMap {
        let duty = self.duty();
        OfficerOnMap {
            officer_id: self.officer_id,
            name: format!("{} {}", self.first_name, self.last_name),
            code: self.code,
            status: self.status,
            lat: self.lat,
            lon: self.lon,
            position_at: self.position_at,
            duty,
        }
    }
}

const OFFICER_COLUMNS: &str = "o.id AS officer_id, o.code, o.first_name, o.last_name, o.status, \
     o.last_lat AS lat, o.last_lon AS lon, o.last_position_at AS position_at";

/// The PostgreSQL statement of a circle search. The search point is `$1`/`$2` wherever it
/// appears: the KNN scan's order, the `knn` column and the distance share one expression, so
/// even the generic plan (a prepared statement's, from its sixth run) knows the scan's rows
/// come ordered by `knn` and sorts them incrementally, reading one row past the cut. (Bound
/// as separate parameters, as pgbench binds each use of a variable, the generic plan sorts all
/// of the inner limit's rows: six times the duty probes.)
fn pg_officers_near(search: &OfficerSearch) -> Statement {
    let mut p = Params(vec![search.lon.into(), search.lat.into()]);
    let radius = p.push(search.radius_m);
    let at = roster_now();
    let (now, since) = (p.push(at), p.push(at - chrono::Duration::days(roster::ROSTER_LOOKBACK_DAYS)));
    // No ST_DWithin here: with it, PostgreSQL's custom plans (a connection's first five
    // executions of a prepared statement) chose a bitmap of the status and GIST indexes
    // and a sort of every officer in the circle (≈ 20 ms at 100 000 officers) instead of
    // the KNN scan (≈ 0.5 ms). The KNN scan returns officers nearest first, so the radius
    // is applied to its result (`within`): once one is too far, so are all the rest.
    // The duty once per officer read, as a column the filter and the answer share: a
    // lateral subquery that `OFFSET 0` keeps from being flattened (flattened, its
    // expression would be copied into the filter and the column, and run twice).
    let duty = roster::pg_duty_sql("o.id", &now, &since);
    let mut sql = format!(
        "SELECT {OFFICER_COLUMNS}, ST_Distance(o.last_geog, {PG_POINT}, false) AS distance_m, \
         o.last_geog <-> {PG_POINT} AS knn, dt.duty \
         FROM officers o CROSS JOIN LATERAL (SELECT {duty} AS duty OFFSET 0) dt \
         WHERE o.deleted_at IS NULL AND o.last_geog IS NOT NULL AND o.last_position_at IS NOT NULL"
    );
    if let Some(status) = search.status {
        sql += &format!(" AND o.status = {}", p.push(status.as_str()));
    }
    if let Some(since) = search.seen_since {
        sql += &format!(" AND o.last_position_at >= {}", p.push(since));
    }
    if search.on_duty {
        sql += &format!(" AND {}", roster::pg_on_duty_sql("dt.duty"));
    }
    let sql = knn_ordered(sql, "o.last_geog", "officer_id", search.limit, Some(&radius));
    Statement::from_sql_and_values(DatabaseBackend::Postgres, sql, p.0)
}

/// Officers (not deleted, with a known position) within the circle, nearest first, ties by id.
async fn officers_near(state: &AppState, search: OfficerSearch) -> AppResult<Vec<NearbyOfficer>> {
    let rows = if is_postgres(state) {
        OfficerRow::find_by_statement(pg_officers_near(&search)).all(&state.db).await?
    } else {
        let (min_lat, max_lat, lon_range) = BBox::around(search.lat, search.lon, search.radius_m);
        let mut query = officers::Entity::find()
            .filter(officers::Column::DeletedAt.is_null())
            .filter(officers::Column::LastLon.is_not_null())
            .filter(officers::Column::LastLat.between(min_lat, max_lat));
        if let Some((min_lon, max_lon)) = lon_range {
            query = query.filter(officers::Column::LastLon.between(min_lon, max_lon));
        }
        if let Some(status) = search.status {
            query = query.filter(officers::Column::Status.eq(status));
        }
        let mut rows: Vec<OfficerRow> = query
            .all(&state.db)
            .await?
            .into_iter()
            // Times are compared here, not as SQLite text.
            .filter(|o| search.seen_since.is_none_or(|since| o.last_position_at.is_some_and(|at| at >= since)))
            .filter_map(|o| {
                let d = haversine_m(search.lat, search.lon, o.last_lat?, o.last_lon?);
                (d <= search.radius_m).then(|| OfficerRow::from_model(o, Some(d))).flatten()
            })
            .collect();
        with_duty(state, &mut rows).await?;
        if search.on_duty {
            rows.retain(|r| r.duty().on_duty());
        }
        rows.sort_by(|a, b| {
            a.distance_m
                .unwrap_or_default()
                .total_cmp(&b.distance_m.unwrap_or_default())
                .then(a.officer_id.cmp(&b.officer_id))
        });
        rows.truncate(usize::try_from(search.limit).unwrap_or(usize::MAX));
        rows
    };
    Ok(rows.into_iter().map(OfficerRow::nearby).collect())
}

/// The duty of each row read without it (SQLite: [`roster::duty_at`], two statements).
async fn with_duty(state: &AppState, rows: &mut [OfficerRow]) -> AppResult<()> {
    let ids: Vec<i64> = rows.iter().map(|r| r.officer_id).collect();
    let duty = roster::duty_at(&state.db, &ids, roster_now()).await?;
    for row in rows {
        row.duty = duty.get(&row.officer_id).map(|d| d.as_str().to_owned());
    }
    Ok(())
}

/// The instant availability is judged at, in microseconds as stored.
fn roster_now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// The oldest acceptable position time, in microseconds as stored.
fn cutoff(fresh_within: chrono::Duration) -> DateTime<Utc> {
    (Utc::now() - fresh_within).trunc_subsecs(6)
}

/// Wraps a filtered query (selecting a `knn` column) in the KNN ordering: the inner query is
/// ordered by `<->` alone, so the GIST index returns rows nearest first and stops early; the
/// outer one breaks ties by id, like the SQLite path. The inner limit has slack so that rows
/// at exactly the same distance across the cut (officers reporting the same spot) are all
/// there for the tie-break. `within` (a radius parameter) keeps only the rows that close.
/// The slack costs nothing when there is no tie: the outer sort is incremental over the
/// KNN order, so PostgreSQL reads one row past the cut and stops (`EXPLAIN ANALYZE`).
///
/// Both limits are written into the SQL, not bound: PostgreSQL estimates a bound LIMIT as a
/// tenth of the table, so the generic plan looked costlier than any custom one and every call
/// was planned afresh (`crate::db::with_literal_limit`). They are numbers of ours.
fn knn_ordered(inner: String, geog: &str, id: &str, limit: u64, within: Option<&str>) -> String {
    const TIE_SLACK: u64 = 50;
    let inner_limit = limit.saturating_add(TIE_SLACK);
    let outer_limit = limit;
    let within = within.map(|radius| format!("WHERE distance_m <= {radius} ")).unwrap_or_default();
    format!(
        "SELECT nearest.* FROM ({inner} ORDER BY {geog} <-> {PG_POINT} LIMIT {inner_limit}) nearest \
         {within}ORDER BY knn, {id} LIMIT {outer_limit}"
    )
}

fn limit_i64(limit: u64) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// The nearest `available`, not deleted officers whose last position is at most
/// `fresh_within` old and within `radius_m` of the point, nearest first.
///
/// An internal building block (emergency dispatch, assignment suggestions): no actor, no
/// permission check; callers decide who may see the result.
pub async fn nearest_available(
    state: &AppState,
    lat: f64,
    lon: f64,
    radius_m: f64,
    fresh_within: chrono::Duration,
    limit: u64,
) -> AppResult<Vec<contract::geo::NearbyOfficer>> {
    let mut errors = validate_circle(lat, lon, radius_m, limit);
    if fresh_within <= chrono::Duration::zero() {
        errors.add("fresh_within", "La antigüedad máxima de la posición debe ser positiva.");
    }
    errors.finish()?;
    let mut found = officers_near(state, available_search(lat, lon, radius_m, fresh_within, limit)).await?;
    for officer in &mut found {
        officer.dispatchable = true;
    }
    Ok(found)
}

fn available_search(lat: f64, lon: f64, radius_m: f64, fresh_within: chrono::Duration, limit: u64) -> OfficerSearch {
    OfficerSearch {
        lat,
        lon,
        radius_m,
        status: Some(OfficerStatus::Available),
        seen_since: Some(cutoff(fresh_within)),
        on_duty: true,
        limit,
    }
}

/// The PostgreSQL statement [`nearest_available`] runs, unvalidated: for a test that asks
/// PostgreSQL how it plans the real thing.
pub fn nearest_available_statement(
    lat: f64,
    lon: f64,
    radius_m: f64,
    fresh_within: chrono::Duration,
    limit: u64,
) -> Statement {
    pg_officers_near(&available_search(lat, lon, radius_m, fresh_within, limit))
}

/// Whether dispatch would send `officer` now: available with a fresh position (SPEC §4,
/// `GAD_POSITION_FRESH_MINUTES`). The map's nearest list and emergency dispatch share it.
pub fn dispatchable(state: &AppState, status: OfficerStatus, position_at: DateTime<Utc>) -> bool {
    status == OfficerStatus::Available
        && position_at >= cutoff(chrono::Duration::minutes(state.config.position_fresh_minutes))
}

/// The nearest available officer within `radius_m` whatever the age of their position: why
/// dispatch found nobody ("sin posición reciente") when it did not.
pub async fn nearest_available_any_age(
    state: &AppState,
    lat: f64,
    lon: f64,
    radius_m: f64,
) -> AppResult<Option<NearbyOfficer>> {
    let search = OfficerSearch {
        lat,
        lon,
        radius_m,
        status: Some(OfficerStatus::Available),
        seen_since: None,
        on_duty: true,
        limit: 1,
    };
    Ok(officers_near(state, search).await?.into_iter().next())
}

/// [`nearest_available`] for the dashboard's "nearest officers" search, optionally of any
/// status. Seeing where officers are needs [`Capability::SeeOfficers`].
#[allow(clippy::too_many_arguments)]
pub async fn nearest_officers(
    state: &AppState,
    actor: &Actor,
    lat: f64,
    lon: f64,
    radius_m: f64,
    fresh_minutes: i64,
    limit: u64,
    only_available: bool,
) -> AppResult<Vec<NearbyOfficer>> {
    require(actor, Capability::SeeOfficers)?;
    let mut errors = validate_circle(lat, lon, radius_m, limit);
    if !(1..=MAX_FRESH_MINUTES).contains(&fresh_minutes) {
        errors.add("fresh_minutes", "La antigüedad máxima de la posición debe estar entre 1 y 10080 minutos.");
    }
    errors.finish()?;
    let search = OfficerSearch {
        lat,
        lon,
        radius_m,
        status: only_available.then_some(OfficerStatus::Available),
        seen_since: Some(cutoff(chrono::Duration::minutes(fresh_minutes))),
        on_duty: only_available,
        limit,
    };
    let mut found = officers_near(state, search).await?;
    for officer in &mut found {
        officer.dispatchable = dispatchable(state, officer.status, officer.position_at) && officer.duty.on_duty();
    }
    Ok(found)
}

/// Every officer (any status, any position age) within `radius_m`, nearest first.
pub async fn officers_within_radius(
    state: &AppState,
    actor: &Actor,
    lat: f64,
    lon: f64,
    radius_m: f64,
    limit: u64,
) -> AppResult<Vec<NearbyOfficer>> {
    require(actor, Capability::SeeOfficers)?;
    validate_circle(lat, lon, radius_m, limit).finish()?;
    officers_near(state, OfficerSearch { lat, lon, radius_m, status: None, seen_since: None, on_duty: false, limit })
        .await
}

/// Every officer whose last known position lies in the box (edges included), by id.
pub async fn officers_in_bbox(
    state: &AppState,
    actor: &Actor,
    min_lat: f64,
    min_lon: f64,
    max_lat: f64,
    max_lon: f64,
    limit: u64,
) -> AppResult<Vec<OfficerOnMap>> {
    require(actor, Capability::SeeOfficers)?;
    let bbox = BBox::validated(min_lat, min_lon, max_lat, max_lon, limit)?;
    let rows = if is_postgres(state) {
        let mut p = Params(Vec::new());
        let at = roster_now();
        let (now, since) = (p.push(at), p.push(at - chrono::Duration::days(roster::ROSTER_LOOKBACK_DAYS)));
        let mut sql = format!(
            "SELECT {OFFICER_COLUMNS}, NULL::float8 AS distance_m FROM officers o \
             WHERE o.deleted_at IS NULL AND o.last_geog IS NOT NULL AND o.last_position_at IS NOT NULL"
        );
        if let Some([a, b, c, d]) = bbox.pg_envelope() {
            sql += &format!(
                " AND o.last_geog && ST_Segmentize(ST_MakeEnvelope({}, {}, {}, {}, 4326), 0.5)::geography",
                p.push(a),
                p.push(b),
                p.push(c),
                p.push(d)
            );
        }
        sql += &format!(
            " AND o.last_lat BETWEEN {} AND {} AND o.last_lon BETWEEN {} AND {} ORDER BY o.id LIMIT {}",
            p.push(bbox.min_lat),
            p.push(bbox.max_lat),
            p.push(bbox.min_lon),
            p.push(bbox.max_lon),
            p.push(limit_i64(limit))
        );
        // The duty of the rows kept only (in the select list, PostgreSQL computed it for every
        // officer in the box before the limit).
        let sql = format!(
            "SELECT boxed.*, {} AS duty FROM ({sql}) boxed ORDER BY boxed.officer_id",
            roster::pg_duty_sql("boxed.officer_id", &now, &since)
        );
        planned_for_its_box(state, sql, p).await?
    } else {
        let mut rows: Vec<OfficerRow> = officers::Entity::find()
            .filter(officers::Column::DeletedAt.is_null())
            .filter(officers::Column::LastPositionAt.is_not_null())
            .filter(officers::Column::LastLat.between(bbox.min_lat, bbox.max_lat))
            .filter(officers::Column::LastLon.between(bbox.min_lon, bbox.max_lon))
            .order_by_asc(officers::Column::Id)
            .limit(limit)
            .all(&state.db)
            .await?
            .into_iter()
            .filter_map(|o| OfficerRow::from_model(o, None))
            .collect();
        with_duty(state, &mut rows).await?;
        rows
    };
    Ok(rows.into_iter().map(OfficerRow::on_map).collect())
}

// ----------------------------------------------------------------------------------- tasks

#[derive(Debug, FromQueryResult)]
struct TaskRow {
    task_id: i64,
    code: String,
    title: String,
    task_type: TaskType,
    priority: TaskPriority,
    status: TaskStatus,
    lat: f64,
    lon: f64,
    location_text: Option<String>,
    sla_due_at: Option<DateTime<Utc>>,
    distance_m: Option<f64>,
}

impl TaskRow {
    fn from_model(t: tasks::Model, distance_m: Option<f64>) -> Option<Self> {
        Some(Self {
            task_id: t.id,
            lat: t.lat?,
            lon: t.lon?,
            code: t.code,
            title: t.title,
            task_type: t.task_type,
            priority: t.priority,
            status: t.status,
            location_text: t.location_text,
            sla_due_at: t.sla_due_at,
            distance_m,
        })
    }

    fn dto(self) -> TaskOnMap {
        TaskOnMap {
            task_id: self.task_id,
            code: self.code,
            title: self.title,
            task_type: self.task_type,
            priority: self.priority,
            status: self.status,
            lat: self.lat,
            lon: self.lon,
            location_text: self.location_text,
            distance_m: self.distance_m,
            overdue: self.sla_due_at.is_some_and(|due| due <= Utc::now()),
        }
    }
}

const TASK_COLUMNS: &str = "t.id AS task_id, t.code, t.title, t.task_type, t.priority, t.status, t.lat, t.lon, t.location_text, \
     t.sla_due_at";

/// The `WHERE` conditions shared by both PostgreSQL task queries.
fn pg_task_filters(sql: &mut String, p: &mut Params, visibility: TaskVisibility, only_open: bool) {
    sql.push_str(" AND t.deleted_at IS NULL AND t.geog IS NOT NULL");
    if only_open {
        let open: Vec<String> = TaskStatus::ALL.iter().filter(|s| s.is_open()).map(|s| p.push(s.as_str())).collect();
        sql.push_str(&format!(" AND t.status IN ({})", open.join(", ")));
    }
    if let Some(visible) = visibility.sql(|officer_id| p.push(officer_id)) {
        sql.push_str(&format!(" AND {visible}"));
    }
}

/// The portable task query with the same filters, for SQLite.
fn sqlite_task_query(visibility: TaskVisibility, only_open: bool) -> sea_orm::Select<tasks::Entity> {
    let mut query =
        tasks::Entity::find().filter(tasks::Column::DeletedAt.is_null()).filter(tasks::Column::Lat.is_not_null());
    if only_open {
        let open: Vec<TaskStatus> = TaskStatus::ALL.iter().copied().filter(|s| s.is_open()).collect();
        query = query.filter(tasks::Column::Status.is_in(open));
    }
    if let Some(visible) = visibility.condition() {
        query = query.filter(visible);
    }
    query
}

/// Tasks (not deleted, with a location) the actor may see within `radius_m`, nearest first.
/// Officers see only the tasks assigned to them.
#[allow(clippy::too_many_arguments)]
pub async fn tasks_within_radius(
    state: &AppState,
    actor: &Actor,
    lat: f64,
    lon: f64,
    radius_m: f64,
    limit: u64,
    only_open: bool,
) -> AppResult<Vec<TaskOnMap>> {
    validate_circle(lat, lon, radius_m, limit).finish()?;
    let visibility = TaskVisibility::of(actor);
    if matches!(visibility, TaskVisibility::Nothing) {
        return Ok(Vec::new());
    }
    let rows = if is_postgres(state) {
        let mut p = Params(vec![lon.into(), lat.into()]);
        let radius = p.push(radius_m);
        let mut sql = format!(
            "SELECT {TASK_COLUMNS}, ST_Distance(t.geog, {PG_POINT}, false) AS distance_m, \
             t.geog <-> {PG_POINT} AS knn FROM tasks t \
             WHERE ST_DWithin(t.geog, {PG_POINT}, {radius}, false)"
        );
        pg_task_filters(&mut sql, &mut p, visibility, only_open);
        let sql = knn_ordered(sql, "t.geog", "task_id", limit, None);
        TaskRow::find_by_statement(Statement::from_sql_and_values(DatabaseBackend::Postgres, sql, p.0))
            .all(&state.db)
            .await?
    } else {
        let (min_lat, max_lat, lon_range) = BBox::around(lat, lon, radius_m);
        let mut query = sqlite_task_query(visibility, only_open).filter(tasks::Column::Lat.between(min_lat, max_lat));
        if let Some((min_lon, max_lon)) = lon_range {
            query = query.filter(tasks::Column::Lon.between(min_lon, max_lon));
        }
        let mut rows: Vec<TaskRow> = query
            .all(&state.db)
            .await?
            .into_iter()
            .filter_map(|t| {
                let d = haversine_m(lat, lon, t.lat?, t.lon?);
                (d <= radius_m).then(|| TaskRow::from_model(t, Some(d))).flatten()
            })
            .collect();
        rows.sort_by(|a, b| {
            a.distance_m
                .unwrap_or_default()
                .total_cmp(&b.distance_m.unwrap_or_default())
                .then(a.task_id.cmp(&b.task_id))
        });
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        rows
    };
    Ok(rows.into_iter().map(TaskRow::dto).collect())
}

/// Tasks the actor may see inside the box (edges included), by id.
#[allow(clippy::too_many_arguments)]
pub async fn tasks_in_bbox(
    state: &AppState,
    actor: &Actor,
    min_lat: f64,
    min_lon: f64,
    max_lat: f64,
    max_lon: f64,
    limit: u64,
    only_open: bool,
) -> AppResult<Vec<TaskOnMap>> {
    let bbox = BBox::validated(min_lat, min_lon, max_lat, max_lon, limit)?;
    let visibility = TaskVisibility::of(actor);
    if matches!(visibility, TaskVisibility::Nothing) {
        return Ok(Vec::new());
    }
    let rows = if is_postgres(state) {
        let mut p = Params(Vec::new());
        let mut sql = format!("SELECT {TASK_COLUMNS}, NULL::float8 AS distance_m FROM tasks t WHERE TRUE");
        if let Some([a, b, c, d]) = bbox.pg_envelope() {
            sql += &format!(
                " AND t.geog && ST_Segmentize(ST_MakeEnvelope({}, {}, {}, {}, 4326), 0.5)::geography",
                p.push(a),
                p.push(b),
                p.push(c),
                p.push(d)
            );
        }
        pg_task_filters(&mut sql, &mut p, visibility, only_open);
        sql += &format!(
            " AND t.lat BETWEEN {} AND {} AND t.lon BETWEEN {} AND {} ORDER BY t.id LIMIT {}",
            p.push(bbox.min_lat),
            p.push(bbox.max_lat),
            p.push(bbox.min_lon),
            p.push(bbox.max_lon),
            p.push(limit_i64(limit))
        );
        planned_for_its_box(state, sql, p).await?
    } else {
        sqlite_task_query(visibility, only_open)
            .filter(tasks::Column::Lat.between(bbox.min_lat, bbox.max_lat))
            .filter(tasks::Column::Lon.between(bbox.min_lon, bbox.max_lon))
            .order_by_asc(tasks::Column::Id)
            .limit(limit)
            .all(&state.db)
            .await?
            .into_iter()
            .filter_map(|t| TaskRow::from_model(t, None))
            .collect()
    };
    Ok(rows.into_iter().map(TaskRow::dto).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haversine_matches_known_distances() {
        // One degree of latitude on the mean sphere.
        let one_degree = haversine_m(0.0, 0.0, 1.0, 0.0);
        assert!((one_degree - 111_195.08).abs() < 0.5, "{one_degree}");
        assert_eq!(haversine_m(-34.6, -58.4, -34.6, -58.4), 0.0);
    }

    #[test]
    fn the_prefilter_box_contains_the_circle() {
        for (lat, lon) in [(-34.6037, -58.3816), (0.0, 0.0), (60.0, 10.0), (-80.0, 170.0)] {
            let radius = 50_000.0;
            let (min_lat, max_lat, lon_range) = BBox::around(lat, lon, radius);
            for bearing in (0..360).step_by(5) {
                let (plat, plon) = destination(lat, lon, f64::from(bearing), radius * 0.999_999);
                assert!((min_lat..=max_lat).contains(&plat), "{lat},{lon} bearing {bearing}");
                if let Some((a, b)) = lon_range {
                    assert!((a..=b).contains(&plon), "{lat},{lon} bearing {bearing}: {plon} not in {a}..{b}");
                }
            }
        }
    }

    fn destination(lat: f64, lon: f64, bearing_deg: f64, distance_m: f64) -> (f64, f64) {
        let (p1, l1, b) = (lat.to_radians(), lon.to_radians(), bearing_deg.to_radians());
        let d = distance_m / EARTH_RADIUS_M;
        let p2 = (p1.sin() * d.cos() + p1.cos() * d.sin() * b.cos()).asin();
        let l2 = l1 + (b.sin() * d.sin() * p1.cos()).atan2(d.cos() - p1.sin() * p2.sin());
        (p2.to_degrees(), l2.to_degrees())
    }
}
