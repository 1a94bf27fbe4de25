//! stats (operations core).
