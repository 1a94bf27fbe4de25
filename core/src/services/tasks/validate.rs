//! Checks of a task's fields, collected and reported together.

use super::*;

/// Trimmed, and `None` when blank.
pub(crate) fn clean(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

pub(crate) fn check_title(errors: &mut Errors, title: &str) {
    let n = title.chars().count();
    if !(TITLE_MIN..=TITLE_MAX).contains(&n) {
        errors.add("title", "El título debe tener entre 3 y 200 caracteres.");
    }
}

pub(crate) fn check_code(errors: &mut Errors, code: &str) {
    let valid = !code.is_empty()
        && code.len() <= CODE_MAX
        && code.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        errors.add("code", "El código admite solo mayúsculas, dígitos y guiones (hasta 40 caracteres).");
    }
}

pub(crate) fn check_schedule(errors: &mut Errors, start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>) {
    // Instants both backends store and order alike (see `services::YEARS`).
    for (field, at) in [("scheduled_start", start), ("scheduled_end", end)] {
        if at.is_some_and(|at| !crate::services::YEARS.contains(&chrono::Datelike::year(&at))) {
            errors.add(field, crate::services::DAY_OUT_OF_RANGE);
            return;
        }
    }
    match (start, end) {
        (None, Some(_)) => errors.add("scheduled_start", "Indique el inicio programado si indica el fin."),
        (Some(s), Some(e)) if e <= s => {
            errors.add("scheduled_end", "El fin programado debe ser posterior al inicio.");
        }
        _ => {}
    }
}

pub(crate) fn check_location(errors: &mut Errors, lat: Option<f64>, lon: Option<f64>) {
    match (lat, lon) {
        (Some(lat), Some(lon)) => {
            check_point(errors, lat, lon);
        }
        (None, None) => {}
        (None, Some(_)) => errors.add("lat", "Indique la latitud y la longitud, o ninguna de las dos."),
        (Some(_), None) => errors.add("lon", "Indique la latitud y la longitud, o ninguna de las dos."),
    }
}

/// Length limits of the free-text fields.
pub(crate) fn check_texts(
    errors: &mut Errors,
    description: Option<&str>,
    location_text: Option<&str>,
    notes: Option<&str>,
) {
    check_len(errors, "description", description, LONG_TEXT_MAX, "La descripción es demasiado larga.");
    check_len(errors, "location_text", location_text, LOCATION_TEXT_MAX, "La ubicación es demasiado larga.");
    check_len(errors, "notes", notes, LONG_TEXT_MAX, "Las notas son demasiado largas.");
}

/// A supervisor (delegado) must be an active supervisor or admin.
pub(super) async fn check_supervisor(
    db: &impl ConnectionTrait,
    errors: &mut Errors,
    supervisor_id: Option<i64>,
) -> AppResult<()> {
    let Some(id) = supervisor_id else { return Ok(()) };
    let ok = users::Entity::find_by_id(id)
        .filter(users::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .is_some_and(|u| u.is_active && matches!(u.role, Role::Supervisor | Role::Admin));
    if !ok {
        errors.add("supervisor_id", "El delegado debe ser un supervisor o administrador activo.");
    }
    Ok(())
}

/// Officers that exist and are not deleted, in the order given (duplicates removed).
pub(super) async fn check_officers(
    db: &impl ConnectionTrait,
    errors: &mut Errors,
    ids: &[i64],
) -> AppResult<Vec<officers::Model>> {
    let mut seen = HashSet::new();
    let ids: Vec<i64> = ids.iter().copied().filter(|id| seen.insert(*id)).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // Bounded before the database: every id is a bound parameter and may be an error line.
    if ids.len() > MAX_OFFICERS_PER_TASK {
        errors.add("officer_ids", format!("Una tarea puede tener hasta {MAX_OFFICERS_PER_TASK} efectivos."));
        return Ok(Vec::new());
    }
    let found: HashMap<i64, officers::Model> = officers::Entity::find()
        .filter(officers::Column::Id.is_in(ids.clone()))
        .filter(officers::Column::DeletedAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    let mut out = Vec::new();
    for id in ids {
        match found.get(&id) {
            Some(o) => out.push(o.clone()),
            None => errors.add("officer_ids", format!("No existe el efectivo con id {id}.")),
        }
    }
    Ok(out)
}
