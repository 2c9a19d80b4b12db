//! flotilla-patch
