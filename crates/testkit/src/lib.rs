//! flotilla-testkit
