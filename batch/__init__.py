"""Spark side: training sets, checks, training, export and registration, run with spark-submit."""
