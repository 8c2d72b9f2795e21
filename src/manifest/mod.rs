//! `vendor.yaml`: the model, loading with positions, validation.

pub mod load;
pub mod model;
pub mod schema;
pub mod validate;

pub use load::{Doc, Loaded, NodePath, Part, PathSeg, load};
pub use model::Manifest;
pub use validate::{ValidateOptions, load_and_validate, validate};
