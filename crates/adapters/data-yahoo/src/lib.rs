//! data-yahoo (being built).
