//! Input checks shared by every service: field errors collected and reported together (one
//! 400 naming every bad field, in Spanish), text lengths, coordinates.

use contract::FieldError;

use crate::error::{AppError, AppResult};

/// Field errors collected before failing once with all of them.
#[derive(Debug, Default)]
pub struct Errors(Vec<FieldError>);

impl Errors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError { field: field.into(), message: message.into() });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok` when nothing was added, else [`AppError::Validation`] with every error.
    pub fn finish(self) -> AppResult<()> {
        if self.0.is_empty() { Ok(()) } else { Err(AppError::Validation(self.0)) }
    }
}

/// Refuses a text longer than `max` characters.
pub fn check_len(errors: &mut Errors, field: &str, text: Option<&str>, max: usize, message: &str) {
    if text.is_some_and(|t| t.chars().count() > max) {
        errors.add(field, message);
    }
}

pub fn check_lat(errors: &mut Errors, field: &str, lat: f64) {
    if !(-90.0..=90.0).contains(&lat) {
        errors.add(field, "La latitud debe estar entre -90 y 90.");
    }
}

pub fn check_lon(errors: &mut Errors, field: &str, lon: f64) {
    if !(-180.0..=180.0).contains(&lon) {
        errors.add(field, "La longitud debe estar entre -180 y 180.");
    }
}

/// A coordinate pair in fields `lat` and `lon`.
pub fn check_point(errors: &mut Errors, lat: f64, lon: f64) {
    check_lat(errors, "lat", lat);
    check_lon(errors, "lon", lon);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_is_reported_at_once() {
        let mut errors = Errors::new();
        check_point(&mut errors, 91.0, -181.0);
        check_len(&mut errors, "notes", Some("abcd"), 3, "Demasiado largo.");
        check_len(&mut errors, "ok", Some("abc"), 3, "Demasiado largo.");
        let Err(AppError::Validation(fields)) = errors.finish() else { panic!("invalid input passes") };
        let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(names, ["lat", "lon", "notes"]);
        assert!(Errors::new().finish().is_ok());
        let mut edge = Errors::new();
        check_point(&mut edge, -90.0, 180.0);
        assert!(edge.is_empty());
    }
}
