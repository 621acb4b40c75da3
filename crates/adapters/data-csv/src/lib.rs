//! data-csv (being built).
