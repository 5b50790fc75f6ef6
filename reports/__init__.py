"""Pages for people: what the stream's drift and alert topics say, as charts."""
