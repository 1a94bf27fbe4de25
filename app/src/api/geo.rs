//! Server functions and DTOs: geo.
