//! flotilla-health
