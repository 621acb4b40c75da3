//! N-BEATS forecast use cases (issue 17 item 5): in progress.
