"""From a score to advice: highlights (and, next, suggestions and bands)."""
