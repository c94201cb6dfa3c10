//! S3 REST facade (in progress).
