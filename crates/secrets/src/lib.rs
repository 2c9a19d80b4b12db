//! flotilla-secrets
