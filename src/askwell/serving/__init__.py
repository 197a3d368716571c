"""The service: the HTTP API, the web editor and batch scoring, over one Predictor."""
