"""Camera ingest: sources, packet ring buffer, decoding, clip remuxing, pipelines and the supervisor."""
