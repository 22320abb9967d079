"""The camera service: runs the stream supervisor and sinks violations into evidence, alerts and notifications."""
