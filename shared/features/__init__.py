"""Feature definitions compiled for both engines, and the fixed order of the feature vector."""
