//! Economic-cycle use cases (issue 17): in progress.
