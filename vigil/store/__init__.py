"""The evidence store: one interface, a local folder and S3 (minio) backends."""
