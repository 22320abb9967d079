"""Domain operations behind the HTTP routes: review, leads, grading, evidence packages, audited evidence access."""
