//! store-sqlite (being built).
