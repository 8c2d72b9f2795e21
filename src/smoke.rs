//! Smoke checks (placeholder; being written).
