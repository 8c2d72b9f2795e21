//! Signature verification (placeholder; being written).
