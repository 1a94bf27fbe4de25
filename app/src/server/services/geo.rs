//! geo (operations core).
