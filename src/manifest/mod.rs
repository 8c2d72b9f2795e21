//! `vendor.yaml`: the model, loading with positions, validation.

pub mod model;
