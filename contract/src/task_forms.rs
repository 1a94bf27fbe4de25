//! The task create/edit form as one server function over the default URL encoding, so the
//! form works as a plain HTML post without JavaScript. Every field arrives as text; parsing
//! errors and the service's own validation errors come back per field (Spanish). A plain
//! form post is redirected to the task on success, or back to the form with the values
//! typed and the errors in the query string (`v_<field>` / `e_<field>`).

/// The form's fields, in order. The UI names its inputs after them.
pub const FIELDS: &[&str] = &[
    "code",
    "title",
    "description",
    "task_type",
    "priority",
    "scheduled_start",
    "scheduled_end",
    "lat",
    "lon",
    "location_text",
    "notes",
];
