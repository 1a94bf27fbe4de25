//! emergency (operations core).
