//! officers (operations core).
