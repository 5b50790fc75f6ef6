"""Running streamscore: the command line, the local stack and the JVM artifacts it needs."""
