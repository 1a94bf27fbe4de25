//! Server functions and DTOs: stats.
