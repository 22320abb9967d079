"""Detectors, motion gate, tracking, zones, violation rules and annotation over numpy frames."""
