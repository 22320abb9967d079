"""Past one machine, on Ray: camera groups and detectors as Ray actors, driven by the one API process."""
