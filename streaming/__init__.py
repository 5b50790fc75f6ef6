"""PyFlink side: decode, validate, enrich, score and watch drift on live events."""
