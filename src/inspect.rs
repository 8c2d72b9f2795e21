//! Binary inspection (placeholder; being written).
