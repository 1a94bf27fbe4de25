//! Server functions and DTOs: officers.
