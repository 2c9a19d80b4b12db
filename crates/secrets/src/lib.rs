//! flotilla-secrets: SOPS and Sealed Secrets, natively.
//!
//! - [`sops`]: decrypt/encrypt/edit SOPS files (YAML, JSON, dotenv, binary)
//!   with age keys, byte-compatible with sops 3.x, keeping comments and key order.
//! - [`sealed`]: seal and unseal Bitnami Sealed Secrets, generate and rotate
//!   sealing keys, back them up into SOPS files and restore them into clusters.
//!
//! Invariants: secret values never appear in errors, logs or `Debug` output
//! (they live in [`sensitive`] types); SOPS plaintext is only returned after
//! the MAC verified; temporary plaintext files are private and removed.

pub mod engine;
pub mod files;
pub mod sealed;
pub mod sensitive;
pub mod sops;
pub mod tree;
pub mod yaml;
