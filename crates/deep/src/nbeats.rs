//! N-BEATS (issue 17 item 5): in progress.
